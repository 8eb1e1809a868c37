import { act, fireEvent, render, screen } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import WS from "vitest-websocket-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Interview } from "../../api/client";
import type { ServerMessage } from "../../types/interview";
import { roomInterview } from "../../test/roomInterview";
import { InterviewRoomPage } from "./InterviewRoomPage";

const WS_URL = "ws://localhost:1234/api/v1/ws/interview/7";

const interview = roomInterview;

async function tick(ms = 10): Promise<void> {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(ms);
  });
}

function say(server: WS, msg: ServerMessage): void {
  act(() => server.send(msg));
}

function renderRoom(iv: Interview) {
  vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response(JSON.stringify(iv), { status: 200 }));
  const fetchTicket = vi.fn(async () => "t");
  render(
    <MemoryRouter initialEntries={["/interviews/7/room"]}>
      <Routes>
        <Route
          path="/interviews/:id/room"
          element={<InterviewRoomPage socketOptions={{ wsBase: "ws://localhost:1234", fetchTicket, random: () => 0.5 }} />}
        />
      </Routes>
    </MemoryRouter>,
  );
  return { fetchTicket };
}

// user-event waits on timers that the fake clock holds back; fireEvent does not.
function click(el: HTMLElement): void {
  act(() => {
    fireEvent.click(el);
  });
}
function typeInto(el: HTMLElement, value: string): void {
  act(() => {
    fireEvent.change(el, { target: { value } });
  });
}
function press(el: HTMLElement, key: string, shiftKey = false): void {
  act(() => {
    fireEvent.keyDown(el, { key, shiftKey });
  });
}

async function startedRoom(server: WS) {
  renderRoom(interview());
  await tick();
  click(screen.getByRole("button", { name: "Start interview" }));
  await tick();
  await tick();
  await server.connected;
  await tick();
  await expect(server).toReceiveMessage({ type: "start" });
  say(server, { type: "stream_start", seq: 1, stream_id: "g", kind: "greeting" });
  say(server, { type: "stream_chunk", seq: 2, stream_id: "g", chunk_index: 0, content: "Hello! Tell me" });
}

const streamEnd = {
  type: "stream_end",
  seq: 3,
  stream_id: "g",
  content: "Hello! Tell me about yourself.",
  question_number: 1,
  total_questions: 3,
  time_remaining_min: 29,
  is_complete: false,
} as const;

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  WS.clean();
  vi.useRealTimers();
});

describe("InterviewRoomPage", () => {
  it("starts on the Start button, streams the greeting and disables answering while the AI writes", async () => {
    const server = new WS(WS_URL, { jsonProtocol: true });
    await startedRoom(server);
    const answer = screen.getByLabelText("Your answer");
    const send = screen.getByRole("button", { name: "Send" });
    expect(screen.getByText("Hello! Tell me")).toBeInTheDocument();
    expect(answer).toBeDisabled();
    expect(send).toBeDisabled();

    say(server, streamEnd);
    expect(screen.getByText("Question 1 of 3")).toBeInTheDocument();
    expect(screen.getByText("About 29 min left")).toBeInTheDocument();
    expect(answer).toBeEnabled();
    expect(send).toBeDisabled(); // nothing typed yet

    typeInto(answer, "I build APIs");
    expect(send).toBeEnabled();
    click(send);
    await tick();
    await expect(server).toReceiveMessage(expect.objectContaining({ type: "message", content: "I build APIs" }));
    expect(screen.getByText("I build APIs")).toBeInTheDocument();
    expect(answer).toHaveValue("");

    say(server, { type: "thinking", seq: 4 });
    expect(screen.getByText("AI is thinking…")).toBeInTheDocument();
    expect(answer).toBeDisabled();
  });

  it("Enter sends, Shift+Enter makes a new line", async () => {
    const server = new WS(WS_URL, { jsonProtocol: true });
    await startedRoom(server);
    say(server, streamEnd);
    const answer = screen.getByLabelText("Your answer");
    typeInto(answer, "line one");
    press(answer, "Enter", true);
    await tick();
    expect(server.messages.some((m) => (m as { type: string }).type === "message")).toBe(false);
    typeInto(answer, "line one\nline two");
    press(answer, "Enter");
    await tick();
    await expect(server).toReceiveMessage(expect.objectContaining({ type: "message", content: "line one\nline two" }));
  });

  it("shows the reconnect banner with the attempt counter, then Disconnected with a Reconnect button", async () => {
    const server = new WS(WS_URL, { jsonProtocol: true });
    let refuse = false;
    let live: { close: (o: { code: number; reason: string; wasClean: boolean }) => void } | null = null;
    server.on("connection", (socket) => {
      live = socket;
      if (refuse) socket.close({ code: 1006, reason: "", wasClean: false });
    });
    await startedRoom(server);
    say(server, streamEnd);
    refuse = true;
    act(() => live?.close({ code: 1006, reason: "", wasClean: false }));
    await tick();
    expect(screen.getByText("Connection lost. Reconnecting… (attempt 1/5)")).toBeInTheDocument();
    await tick(1000);
    await tick(50);
    expect(screen.getByText("Connection lost. Reconnecting… (attempt 2/5)")).toBeInTheDocument();
    for (const wait of [2000, 4000, 8000, 16000]) {
      await tick(wait);
      await tick(50);
    }
    expect(screen.getByText("Disconnected.")).toBeInTheDocument();
    const button = screen.getByRole("button", { name: "Reconnect" });
    refuse = false;
    click(button);
    await tick();
    await tick();
    expect(screen.getByText("Connection lost. Reconnecting… (attempt 1/5)")).toBeInTheDocument();
    say(server, {
      type: "reconnected",
      status: "in_progress",
      conversation_history: [{ id: 1, seq: 3, role: "ai", content: "Hello! Tell me about yourself.", created_at: "x", stream_id: "g" }],
      current_question: 0,
      question_number: 1,
      total_questions: 3,
      time_remaining_min: 25,
      pending_stream: null,
      last_seq: 3,
      epoch: "e",
    });
    expect(screen.queryByText(/Reconnecting/)).not.toBeInTheDocument();
    expect(screen.getAllByText("Hello! Tell me about yourself.")).toHaveLength(1);
  });

  it("says the interview was opened in another window on 4009", async () => {
    const server = new WS(WS_URL, { jsonProtocol: true });
    await startedRoom(server);
    act(() => server.close({ code: 4009, reason: "replaced", wasClean: true }));
    await tick();
    expect(screen.getByRole("alert")).toHaveTextContent("This interview was opened in another window.");
    expect(screen.getByLabelText("Your answer")).toBeDisabled();
  });

  it.each([
    [4001, "Your session has expired. Please sign in again."],
    [4003, "This interview is not open any more"],
    [4004, "You don't have access to this interview."],
  ])("explains close %i in plain words", async (code, text) => {
    const server = new WS(WS_URL, { jsonProtocol: true });
    await startedRoom(server);
    act(() => server.close({ code, reason: "", wasClean: true }));
    await tick();
    expect(screen.getByRole("alert")).toHaveTextContent(text);
  });

  it("ends the interview only after confirmation", async () => {
    const server = new WS(WS_URL, { jsonProtocol: true });
    await startedRoom(server);
    say(server, streamEnd);
    click(screen.getByRole("button", { name: "End interview" }));
    const dialog = screen.getByRole("dialog", { name: "End the interview?" });
    expect(dialog).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Keep going" })).toHaveFocus();
    act(() => {
      fireEvent.keyDown(document.activeElement as HTMLElement, { key: "Escape" });
    });
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    await tick();
    expect(server.messages.some((m) => (m as { type: string }).type === "end")).toBe(false);

    click(screen.getByRole("button", { name: "End interview" }));
    const inDialog = screen.getAllByRole("button", { name: "End interview" }).at(-1);
    click(inDialog as HTMLElement);
    await tick();
    await expect(server).toReceiveMessage({ type: "end" });
    say(server, { type: "ended", seq: 4, content: "The interview was ended. Thank you." });
    expect(screen.getByText("The interview is over. Thank you!")).toBeInTheDocument();
    expect(screen.queryByLabelText("Your answer")).not.toBeInTheDocument();
  });

  it("resumes at once when the interview is already in progress", async () => {
    const server = new WS(WS_URL, { jsonProtocol: true });
    renderRoom(interview({ status: "in_progress" }));
    await tick();
    await tick();
    await server.connected;
    await tick();
    await expect(server).toReceiveMessage({ type: "start" });
    expect(screen.queryByRole("button", { name: "Start interview" })).not.toBeInTheDocument();
  });

  it("does not offer to start an interview that has ended", async () => {
    renderRoom(interview({ status: "completed" }));
    await tick();
    expect(screen.getByText("This interview has ended. Thank you!")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Start interview" })).not.toBeInTheDocument();
  });
});
