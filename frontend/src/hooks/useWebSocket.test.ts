import { act, renderHook } from "@testing-library/react";
import { createElement, StrictMode, type ReactNode } from "react";
import WS from "vitest-websocket-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "../api/client";
import { useWebSocket, type InterviewSocketOptions } from "./useWebSocket";
import type { ServerMessage } from "../types/interview";

const URL = "ws://localhost:1234/api/v1/ws/interview/7";

/** Let mock-socket's 4 ms delays and resolved promises run. */
async function tick(ms = 10): Promise<void> {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(ms);
  });
}

function sendFromServer(server: WS, msg: ServerMessage): void {
  act(() => server.send(msg));
}

/** Let the client's frame reach the server, then expect it as the next message. */
async function received(server: WS, msg: object): Promise<void> {
  await tick();
  await expect(server).toReceiveMessage(msg);
}

function setup(extra: Partial<InterviewSocketOptions> = {}) {
  let n = 0;
  const fetchTicket = vi.fn(async () => `ticket-${++n}`);
  const hook = renderHook(() =>
    useWebSocket({
      interviewId: 7,
      wsBase: "ws://localhost:1234",
      fetchTicket,
      random: () => 0.5,
      ...extra,
    }),
  );
  return { hook, fetchTicket };
}

async function startAndGreet(server: WS, hook: ReturnType<typeof setup>["hook"]) {
  act(() => hook.result.current.start());
  await tick();
  await server.connected;
  await expect(server).toReceiveMessage({ type: "start" });
  sendFromServer(server, { type: "stream_start", seq: 1, stream_id: "g", kind: "greeting" });
  sendFromServer(server, { type: "stream_chunk", seq: 2, stream_id: "g", chunk_index: 0, content: "Hello" });
  sendFromServer(server, {
    type: "stream_end",
    seq: 3,
    stream_id: "g",
    content: "Hello, tell me about you.",
    question_number: 1,
    total_questions: 3,
    time_remaining_min: 30,
    is_complete: false,
  });
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  WS.clean();
  vi.useRealTimers();
});

describe("useWebSocket against a mock server", () => {
  it("starts with a fresh ticket, sends start and grows the streamed reply in place", async () => {
    const server = new WS(URL, { jsonProtocol: true });
    const { hook, fetchTicket } = setup();
    expect(hook.result.current.connectionState).toBe("idle");
    act(() => hook.result.current.start());
    expect(hook.result.current.connectionState).toBe("connecting");
    await tick();
    const client = await server.connected;
    expect(fetchTicket).toHaveBeenCalledTimes(1);
    expect(client.url).toBe(`${URL}?token=ticket-1`);
    await expect(server).toReceiveMessage({ type: "start" });
    expect(hook.result.current.connectionState).toBe("connected");

    sendFromServer(server, { type: "stream_start", seq: 1, stream_id: "g", kind: "greeting" });
    sendFromServer(server, { type: "stream_chunk", seq: 2, stream_id: "g", chunk_index: 0, content: "Hel" });
    expect(hook.result.current.isStreaming).toBe(true);
    expect(hook.result.current.messages).toEqual([expect.objectContaining({ id: "g", content: "Hel", streaming: true })]);
    sendFromServer(server, { type: "stream_chunk", seq: 3, stream_id: "g", chunk_index: 1, content: "lo" });
    expect(hook.result.current.messages).toEqual([expect.objectContaining({ id: "g", content: "Hello", streaming: true })]);
    sendFromServer(server, {
      type: "stream_end",
      seq: 4,
      stream_id: "g",
      content: "Hello!",
      question_number: 1,
      total_questions: 4,
      time_remaining_min: 30,
      is_complete: false,
    });
    expect(hook.result.current.isStreaming).toBe(false);
    expect(hook.result.current.messages).toEqual([expect.objectContaining({ content: "Hello!", streaming: false })]);
    expect(hook.result.current.questionNumber).toBe(1);
    expect(hook.result.current.totalQuestions).toBe(4);
    expect(hook.result.current.timeRemainingMin).toBe(30);
  });

  it("answers a server ping with pong at once", async () => {
    const server = new WS(URL, { jsonProtocol: true });
    const { hook } = setup();
    await startAndGreet(server, hook);
    sendFromServer(server, { type: "ping" });
    await received(server, { type: "pong" });
  });

  it("shows the answer at once, sends it with a client_msg_id, and shows thinking", async () => {
    const server = new WS(URL, { jsonProtocol: true });
    const { hook } = setup();
    await startAndGreet(server, hook);
    let id: string | null = null;
    act(() => {
      id = hook.result.current.send("Five years of Python");
    });
    expect(hook.result.current.messages.at(-1)).toEqual(
      expect.objectContaining({ role: "candidate", content: "Five years of Python", status: "pending" }),
    );
    await received(server, { type: "message", content: "Five years of Python", client_msg_id: id });
    sendFromServer(server, { type: "thinking", seq: 4 });
    expect(hook.result.current.isThinking).toBe(true);
    expect(hook.result.current.messages.at(-1)?.status).toBe("sent");
  });

  it("reconnects after a drop with a new ticket, sends reconnect with last_seq and rebuilds from reconnected", async () => {
    let server = new WS(URL, { jsonProtocol: true });
    const { hook, fetchTicket } = setup();
    await startAndGreet(server, hook);

    act(() => server.close({ code: 1006, reason: "gone", wasClean: false }));
    await tick();
    expect(hook.result.current.connectionState).toBe("reconnecting");
    expect(hook.result.current.reconnectAttempt).toBe(1);

    // typed while offline: queued, shown once
    let id: string | null = null;
    act(() => {
      id = hook.result.current.send("queued answer");
    });
    expect(hook.result.current.hasPendingAnswer).toBe(true);

    WS.clean();
    server = new WS(URL, { jsonProtocol: true });
    await tick(1000); // backoff 1 s (jitter 0.5 → exactly 1 s)
    await tick();
    const client = await server.connected;
    expect(fetchTicket).toHaveBeenCalledTimes(2);
    expect(client.url).toBe(`${URL}?token=ticket-2`);
    await expect(server).toReceiveMessage({ type: "reconnect", last_seq: 3 });
    expect(hook.result.current.connectionState).toBe("reconnecting");

    sendFromServer(server, {
      type: "reconnected",
      status: "in_progress",
      conversation_history: [
        { id: 1, seq: 3, role: "ai", content: "Hello, tell me about you.", created_at: "x", stream_id: "g" },
      ],
      current_question: 0,
      question_number: 1,
      total_questions: 3,
      time_remaining_min: 28,
      pending_stream: null,
      last_seq: 3,
      epoch: "e1",
    });
    expect(hook.result.current.connectionState).toBe("connected");
    expect(hook.result.current.reconnectAttempt).toBe(0);
    await received(server, { type: "message", content: "queued answer", client_msg_id: id });
    expect(hook.result.current.messages.map((m) => m.content)).toEqual(["Hello, tell me about you.", "queued answer"]);
    // exactly once
    sendFromServer(server, { type: "ping" });
    await received(server, { type: "pong" });
    expect(server.messages.filter((m) => (m as { type: string }).type === "message")).toHaveLength(1);
  });

  it("resumes a pending stream after reconnect and continues it with later chunks", async () => {
    let server = new WS(URL, { jsonProtocol: true });
    const { hook } = setup();
    await startAndGreet(server, hook);
    sendFromServer(server, { type: "stream_start", seq: 4, stream_id: "r1", kind: "response" });
    sendFromServer(server, { type: "stream_chunk", seq: 5, stream_id: "r1", chunk_index: 0, content: "Good" });
    act(() => server.close({ code: 1012, reason: "restart", wasClean: true }));
    await tick();
    WS.clean();
    server = new WS(URL, { jsonProtocol: true });
    await tick(1000);
    await tick();
    await server.connected;
    await expect(server).toReceiveMessage({ type: "reconnect", last_seq: 5 });
    sendFromServer(server, {
      type: "reconnected",
      status: "in_progress",
      conversation_history: [{ id: 1, seq: 3, role: "ai", content: "Hello", created_at: "x", stream_id: "g" }],
      current_question: 0,
      question_number: 1,
      total_questions: 3,
      time_remaining_min: 28,
      pending_stream: { stream_id: "r1", kind: "response", content: "Good, and", chunk_index: 3 },
      last_seq: 9,
      epoch: "e1",
    });
    expect(hook.result.current.isStreaming).toBe(true);
    sendFromServer(server, { type: "stream_chunk", seq: 10, stream_id: "r1", chunk_index: 4, content: " then?" });
    expect(hook.result.current.messages.map((m) => [m.id, m.content])).toEqual([
      ["g", "Hello"],
      ["r1", "Good, and then?"],
    ]);
  });

  it("4009 shows replaced and does not reconnect", async () => {
    const server = new WS(URL, { jsonProtocol: true });
    const { hook, fetchTicket } = setup();
    await startAndGreet(server, hook);
    act(() => server.close({ code: 4009, reason: "replaced", wasClean: true }));
    await tick();
    expect(hook.result.current.connectionState).toBe("replaced");
    await tick(60_000);
    expect(fetchTicket).toHaveBeenCalledTimes(1);
  });

  it.each([
    [4001, "unauthorized"],
    [4002, "not_found"],
    [4003, "invalid_state"],
    [4004, "forbidden"],
  ] as const)("close %i at the handshake → %s, no retry", async (code, expected) => {
    const server = new WS(URL, { jsonProtocol: true });
    server.on("connection", (socket) => socket.close({ code, reason: "no", wasClean: true }));
    const { hook, fetchTicket } = setup();
    act(() => hook.result.current.start());
    await tick();
    await tick();
    expect(hook.result.current.connectionState).toBe(expected);
    await tick(60_000);
    expect(fetchTicket).toHaveBeenCalledTimes(1);
  });

  it("a 401 on the ticket is final", async () => {
    const fetchTicket = vi.fn(async () => {
      throw new ApiError(401, "Not authenticated");
    });
    const { hook } = setup({ fetchTicket });
    act(() => hook.result.current.start());
    await tick();
    expect(hook.result.current.connectionState).toBe("unauthorized");
  });

  it("gives up after 5 attempts, then retries by itself when the browser is back online", async () => {
    const server = new WS(URL, { jsonProtocol: true });
    // Like a browser behind a dead network: every new socket dies with 1006.
    let refuse = false;
    let connections = 0;
    let live: { close: (o: { code: number; reason: string; wasClean: boolean }) => void } | null = null;
    server.on("connection", (socket) => {
      connections += 1;
      live = socket;
      if (refuse) socket.close({ code: 1006, reason: "", wasClean: false });
    });
    const fetchTicket = vi.fn(async () => "t");
    const { hook } = setup({ fetchTicket });
    await startAndGreet(server, hook);
    refuse = true;
    act(() => live?.close({ code: 1006, reason: "", wasClean: false }));
    await tick();
    expect(hook.result.current.closeCode).toBe(1006);
    const seen: number[] = [];
    for (const wait of [1000, 2000, 4000, 8000, 16000]) {
      seen.push(hook.result.current.reconnectAttempt);
      expect(hook.result.current.connectionState).toBe("reconnecting");
      await tick(wait);
      await tick(50);
    }
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(hook.result.current.connectionState).toBe("disconnected");
    expect(fetchTicket).toHaveBeenCalledTimes(6);
    expect(connections).toBe(6);
    await tick(120_000);
    expect(fetchTicket).toHaveBeenCalledTimes(6);

    refuse = false;
    act(() => {
      window.dispatchEvent(new Event("online"));
    });
    expect(hook.result.current.connectionState).toBe("reconnecting");
    expect(hook.result.current.reconnectAttempt).toBe(1);
    await tick();
    await tick();
    expect(connections).toBe(7);
    expect(server.messages.at(-1)).toEqual({ type: "reconnect", last_seq: 3 });
  });

  it("the manual reconnect button works after giving up, and a visible tab retries too", async () => {
    const fetchTicket = vi.fn(async () => {
      throw new TypeError("network down");
    });
    const { hook } = setup({ fetchTicket });
    act(() => hook.result.current.start());
    for (let i = 0; i < 6; i++) await tick(20_000);
    expect(hook.result.current.connectionState).toBe("disconnected");
    const calls = fetchTicket.mock.calls.length;
    act(() => hook.result.current.reconnect());
    expect(fetchTicket).toHaveBeenCalledTimes(calls + 1);
    for (let i = 0; i < 6; i++) await tick(20_000);
    expect(hook.result.current.connectionState).toBe("disconnected");
    Object.defineProperty(document, "visibilityState", { value: "visible", configurable: true });
    act(() => {
      document.dispatchEvent(new Event("visibilitychange"));
    });
    expect(hook.result.current.connectionState).toBe("reconnecting");
  });

  it("pings every 25 s and treats a missing pong within 10 s as a dead socket", async () => {
    const server = new WS(URL, { jsonProtocol: true });
    let connections = 0;
    server.on("connection", () => {
      connections += 1;
    });
    const { hook, fetchTicket } = setup();
    await startAndGreet(server, hook);
    await tick(25_000);
    await expect(server).toReceiveMessage({ type: "ping" });
    sendFromServer(server, { type: "pong" });
    await tick(25_000);
    await expect(server).toReceiveMessage({ type: "ping" });
    await tick(9_900);
    expect(hook.result.current.connectionState).toBe("connected");
    await tick(100); // 10 s without the pong
    expect(hook.result.current.connectionState).toBe("reconnecting");
    await tick(1000);
    await tick();
    expect(fetchTicket).toHaveBeenCalledTimes(2);
    expect(connections).toBe(2);
    await expect(server).toReceiveMessage({ type: "reconnect", last_seq: 3 });
  });

  it("60 s of total silence from the server is a dead socket", async () => {
    const server = new WS(URL, { jsonProtocol: true });
    // the server stays open but says nothing at all (and our own pings are pushed far out)
    const { hook } = setup({ config: { pingIntervalMs: 1_000_000 } });
    await startAndGreet(server, hook);
    await tick(59_000);
    expect(hook.result.current.connectionState).toBe("connected");
    await tick(1_100);
    expect(hook.result.current.connectionState).toBe("reconnecting");
  });

  it("complete finishes the interview; the 1000 close that follows keeps it finished", async () => {
    const server = new WS(URL, { jsonProtocol: true });
    const { hook, fetchTicket } = setup();
    await startAndGreet(server, hook);
    sendFromServer(server, { type: "complete", seq: 4, content: "Thanks, we are done." });
    act(() => server.close({ code: 1000, reason: "done", wasClean: true }));
    await tick();
    expect(hook.result.current.connectionState).toBe("finished");
    expect(hook.result.current.finishedMessage).toBe("Thanks, we are done.");
    await tick(60_000);
    expect(fetchTicket).toHaveBeenCalledTimes(1);
  });

  it("end sends end", async () => {
    const server = new WS(URL, { jsonProtocol: true });
    const { hook } = setup();
    await startAndGreet(server, hook);
    act(() => hook.result.current.end());
    await received(server, { type: "end" });
  });

  it("observers connect at once to /observe and send nothing", async () => {
    const server = new WS(`${URL}/observe`, { jsonProtocol: true });
    const { hook } = setup({ mode: "observer", autoStart: true });
    await tick();
    const client = await server.connected;
    expect(client.url).toBe(`${URL}/observe?token=ticket-1`);
    sendFromServer(server, {
      type: "reconnected",
      status: "in_progress",
      conversation_history: [{ id: 1, seq: 3, role: "ai", content: "Hello", created_at: "x", stream_id: "g" }],
      current_question: 0,
      question_number: 1,
      total_questions: 3,
      time_remaining_min: 28,
      pending_stream: null,
      last_seq: 3,
      epoch: "e1",
    });
    expect(hook.result.current.connectionState).toBe("connected");
    expect(hook.result.current.messages).toHaveLength(1);
    expect(server.messages).toEqual([]);
  });

  it("under StrictMode's mount-unmount-mount only one socket stays open", async () => {
    const server = new WS(`${URL}/observe`, { jsonProtocol: true });
    let open = 0;
    server.on("connection", (socket) => {
      open += 1;
      socket.on("close", () => {
        open -= 1;
      });
    });
    const fetchTicket = vi.fn(async () => "t");
    const hook = renderHook(
      () => useWebSocket({ interviewId: 7, wsBase: "ws://localhost:1234", mode: "observer", autoStart: true, fetchTicket }),
      { wrapper: ({ children }: { children: ReactNode }) => createElement(StrictMode, null, children) },
    );
    await tick();
    await tick();
    expect(open).toBe(1);
    expect(hook.result.current.connectionState).toBe("connecting");
  });

  it("unmounting closes the socket", async () => {
    const server = new WS(URL, { jsonProtocol: true });
    const { hook } = setup();
    await startAndGreet(server, hook);
    hook.unmount();
    await tick();
    await server.closed;
  });
});
