import { describe, expect, it } from "vitest";
import {
  backoffDelay,
  createInitialState,
  DEFAULT_CONFIG,
  reduce,
  type Effect,
  type MachineConfig,
  type MachineEvent,
  type MachineState,
} from "./connectionMachine";
import { receive, run, sends } from "../test/machine";
import type { HistoryEntry, ReconnectedEvent, ServerMessage } from "../types/interview";

// ---------------------------------------------------------------- helpers

const BASE = { interviewId: 7, wsBase: "ws://test" } as const;
const CONFIG: MachineConfig = { ...DEFAULT_CONFIG, ...BASE };

function init(over: Partial<MachineConfig> = {}): MachineState {
  return createInitialState({ ...BASE, ...over });
}

function timersStarted(effects: Effect[], id?: string): { id: string; ms: number }[] {
  return effects.flatMap((e) => (e.kind === "startTimer" && (!id || e.id === id) ? [{ id: e.id, ms: e.ms }] : []));
}
function cancelled(effects: Effect[]): string[] {
  return effects.flatMap((e) => (e.kind === "cancelTimer" ? [e.id] : []));
}

const closed = (s: MachineState, code: number, random = 0.5): MachineEvent => ({
  type: "socketClosed",
  gen: s.gen,
  code,
  random,
});

/** start → ticket → open: the socket is open and `start` sent. */
function opened(over: Partial<MachineConfig> = {}): MachineState {
  let s = run(init(over), { type: "start" }).state;
  s = run(s, { type: "ticketReady", gen: s.gen, ticket: "t1" }).state;
  return run(s, { type: "socketOpen", gen: s.gen }).state;
}

/** An open, synced candidate socket after the greeting (seq 1..3). */
function inConversation(): MachineState {
  return receive(
    opened(),
    { type: "stream_start", seq: 1, stream_id: "g", kind: "greeting" },
    { type: "stream_chunk", seq: 2, stream_id: "g", chunk_index: 0, content: "Hello" },
    {
      type: "stream_end",
      seq: 3,
      stream_id: "g",
      content: "Hello",
      question_number: 1,
      total_questions: 3,
      time_remaining_min: 30,
      is_complete: false,
    },
  ).state;
}

/** Lose the socket with `code` and run the backoff timer and a new ticket until the new socket is open. */
function reopen(s: MachineState, code = 1006): { state: MachineState; effects: Effect[] } {
  let t = run(s, closed(s, code));
  const effects = [...t.effects];
  t = run(t.state, { type: "timer", id: "reconnect", random: 0.5 });
  effects.push(...t.effects);
  t = run(t.state, { type: "ticketReady", gen: t.state.gen, ticket: "t2" });
  effects.push(...t.effects);
  t = run(t.state, { type: "socketOpen", gen: t.state.gen });
  effects.push(...t.effects);
  return { state: t.state, effects };
}

function reconnected(over: Partial<ReconnectedEvent> = {}): ReconnectedEvent {
  return {
    type: "reconnected",
    status: "in_progress",
    conversation_history: [],
    current_question: 0,
    question_number: 1,
    total_questions: 3,
    time_remaining_min: 25,
    pending_stream: null,
    last_seq: 3,
    epoch: "e1",
    ...over,
  };
}

function hist(id: number, seq: number, role: "ai" | "candidate", content: string, extra: Partial<HistoryEntry> = {}): HistoryEntry {
  return { id, seq, role, content, created_at: "2024-01-01T00:00:00Z", ...extra };
}

const GREETING_HISTORY = [hist(1, 3, "ai", "Hello", { stream_id: "g" })];

// ---------------------------------------------------------------- first connection

describe("first connection", () => {
  it("starts idle and does nothing until start", () => {
    const s = init();
    expect(s.status).toBe("idle");
    const t = reduce(s, { type: "send", content: "hi", clientMsgId: "c1" });
    expect(t.effects).toEqual([]);
    expect(t.state.messages).toEqual([]);
  });

  it("start fetches a ticket first", () => {
    const { state, effects } = run(init(), { type: "start" });
    expect(state.status).toBe("connecting");
    expect(effects).toContainEqual({ kind: "fetchTicket", gen: state.gen });
    expect(effects.some((e) => e.kind === "open")).toBe(false);
  });

  it("a second start is ignored", () => {
    const s = run(init(), { type: "start" }).state;
    expect(reduce(s, { type: "start" }).effects).toEqual([]);
  });

  it("opens the candidate URL with the ticket as token", () => {
    let s = run(init(), { type: "start" }).state;
    const t = reduce(s, { type: "ticketReady", gen: s.gen, ticket: "a b/c" });
    s = t.state;
    expect(t.effects).toContainEqual({ kind: "open", gen: s.gen, url: "ws://test/api/v1/ws/interview/7?token=a%20b%2Fc" });
    expect(timersStarted(t.effects, "silence")).toEqual([{ id: "silence", ms: 60_000 }]);
  });

  it("observers open /observe", () => {
    let s = run(init({ mode: "observer" }), { type: "start" }).state;
    const t = reduce(s, { type: "ticketReady", gen: s.gen, ticket: "t" });
    s = t.state;
    expect(t.effects).toContainEqual({ kind: "open", gen: s.gen, url: "ws://test/api/v1/ws/interview/7/observe?token=t" });
  });

  it("ignores a ticket for an older attempt", () => {
    const s = run(init(), { type: "start" }).state;
    expect(reduce(s, { type: "ticketReady", gen: s.gen - 1, ticket: "x" }).effects).toEqual([]);
  });

  it("on open sends start, starts the heartbeat and counts as connected", () => {
    let s = run(init(), { type: "start" }).state;
    s = run(s, { type: "ticketReady", gen: s.gen, ticket: "t" }).state;
    const t = reduce(s, { type: "socketOpen", gen: s.gen });
    expect(sends(t.effects)).toEqual([{ type: "start" }]);
    expect(timersStarted(t.effects)).toEqual([
      { id: "ping", ms: 25_000 },
      { id: "silence", ms: 60_000 },
    ]);
    expect(t.state.status).toBe("connected");
  });

  it("observers send nothing on open and wait for reconnected", () => {
    const s = opened({ mode: "observer" });
    expect(s.status).toBe("connecting");
    const t = receive(s, reconnected({ conversation_history: GREETING_HISTORY }));
    expect(t.state.status).toBe("connected");
    expect(t.state.messages.map((m) => m.content)).toEqual(["Hello"]);
    expect(sends(t.effects)).toEqual([]);
  });

  it("an open for an older attempt is ignored", () => {
    let s = run(init(), { type: "start" }).state;
    s = run(s, { type: "ticketReady", gen: s.gen, ticket: "t" }).state;
    expect(reduce(s, { type: "socketOpen", gen: s.gen + 1 }).effects).toEqual([]);
  });

  it("start on a running interview is answered by reconnected and rebuilds the screen", () => {
    const t = receive(opened(), reconnected({ conversation_history: GREETING_HISTORY, last_seq: 3 }));
    expect(t.state.status).toBe("connected");
    expect(t.state.everSynced).toBe(true);
    expect(t.state.messages).toHaveLength(1);
    expect(t.state.questionNumber).toBe(1);
    expect(t.state.totalQuestions).toBe(3);
    expect(t.state.timeRemainingMin).toBe(25);
  });
});

// ---------------------------------------------------------------- ticket failures

describe("ticket failures", () => {
  it.each([
    [401, "unauthorized"],
    [403, "forbidden"],
    [404, "not_found"],
    [409, "invalid_state"],
  ] as const)("HTTP %i is final: %s", (status, expected) => {
    let s = run(init(), { type: "start" }).state;
    const t = reduce(s, { type: "ticketFailed", gen: s.gen, status, random: 0.5 });
    s = t.state;
    expect(s.status).toBe(expected);
    expect(timersStarted(t.effects, "reconnect")).toEqual([]);
  });

  it.each([undefined, 500, 502, 429])("status %s is retried with backoff", (status) => {
    const s = run(init(), { type: "start" }).state;
    const t = reduce(s, { type: "ticketFailed", gen: s.gen, random: 0.5, ...(status ? { status } : {}) });
    expect(t.state.status).toBe("reconnecting");
    expect(t.state.attempt).toBe(1);
    expect(timersStarted(t.effects, "reconnect")).toEqual([{ id: "reconnect", ms: 1000 }]);
  });

  it("a failure for an older attempt is ignored", () => {
    const s = run(init(), { type: "start" }).state;
    expect(reduce(s, { type: "ticketFailed", gen: s.gen - 1, random: 0 }).state).toEqual(s);
  });
});

// ---------------------------------------------------------------- close codes

describe("close codes", () => {
  it.each([1001, 1006, 1011, 1012, 1013, 4008])("%i is retried", (code) => {
    const s = inConversation();
    const t = reduce(s, closed(s, code, 0.5));
    expect(t.state.status).toBe("reconnecting");
    expect(t.state.attempt).toBe(1);
    expect(t.state.closeCode).toBe(code);
    expect(timersStarted(t.effects, "reconnect")).toEqual([{ id: "reconnect", ms: 1000 }]);
    expect(cancelled(t.effects)).toEqual(expect.arrayContaining(["ping", "pongTimeout", "silence"]));
  });

  it.each([
    [1000, "closed"],
    [1009, "closed"],
    [1008, "closed"],
    [4001, "unauthorized"],
    [4002, "not_found"],
    [4003, "invalid_state"],
    [4004, "forbidden"],
    [4009, "replaced"],
  ] as const)("%i is not retried: %s", (code, expected) => {
    const s = inConversation();
    const t = reduce(s, closed(s, code));
    expect(t.state.status).toBe(expected);
    expect(t.state.attempt).toBe(0);
    expect(timersStarted(t.effects)).toEqual([]);
    expect(cancelled(t.effects)).toEqual(expect.arrayContaining(["ping", "pongTimeout", "silence", "reconnect"]));
  });

  it("a close during the handshake of a retry counts as a failed attempt", () => {
    let s = inConversation();
    s = run(s, closed(s, 1006), { type: "timer", id: "reconnect", random: 0.5 }).state;
    s = run(s, { type: "ticketReady", gen: s.gen, ticket: "t" }).state;
    const t = reduce(s, closed(s, 1006, 0.5));
    expect(t.state.attempt).toBe(2);
    expect(timersStarted(t.effects, "reconnect")).toEqual([{ id: "reconnect", ms: 2000 }]);
  });

  it("auth failure seen at the handshake stops without retry (4001 before any message)", () => {
    let s = run(init(), { type: "start" }).state;
    s = run(s, { type: "ticketReady", gen: s.gen, ticket: "t" }, { type: "socketOpen", gen: s.gen }).state;
    const t = reduce(s, closed(s, 4001));
    expect(t.state.status).toBe("unauthorized");
  });

  it("a close event from a socket already given up is ignored", () => {
    let s = inConversation();
    const old = s.gen;
    s = run(s, { type: "timer", id: "silence", random: 0.5 }).state;
    const t = reduce(s, { type: "socketClosed", gen: old, code: 4000, random: 0.5 });
    expect(t.state).toEqual(s);
    expect(t.effects).toEqual([]);
  });

  it("messages are ignored once the state is terminal", () => {
    let s = inConversation();
    s = run(s, closed(s, 4009)).state;
    expect(s.status).toBe("replaced");
    const t = reduce(s, { type: "socketMessage", gen: s.gen, msg: { type: "thinking", seq: 9 } });
    expect(t.state.isThinking).toBe(false);
    expect(reduce(s, { type: "send", content: "x", clientMsgId: "c" }).effects).toEqual([]);
    expect(reduce(s, { type: "online", random: 0 }).effects).toEqual([]);
  });
});

// ---------------------------------------------------------------- backoff

describe("backoff", () => {
  it("doubles 1, 2, 4, 8, 16 s", () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, 0.5, CONFIG))).toEqual([1000, 2000, 4000, 8000, 16000]);
  });

  it("jitter stays within ±20 %", () => {
    for (const n of [1, 2, 3, 4, 5]) {
      const base = 1000 * 2 ** (n - 1);
      expect(backoffDelay(n, 0, CONFIG)).toBe(base * 0.8);
      expect(backoffDelay(n, 0.999999, CONFIG)).toBeLessThanOrEqual(base * 1.2);
      expect(backoffDelay(n, 0.999999, CONFIG)).toBeGreaterThan(base * 1.19);
      for (let r = 0; r < 1; r += 0.05) {
        const d = backoffDelay(n, r, CONFIG);
        expect(d).toBeGreaterThanOrEqual(base * 0.8);
        expect(d).toBeLessThanOrEqual(base * 1.2);
      }
    }
  });

  it("clamps a random number outside [0, 1]", () => {
    expect(backoffDelay(1, -3, CONFIG)).toBe(800);
    expect(backoffDelay(1, 7, CONFIG)).toBe(1200);
  });

  it("the machine walks the whole sequence with the jitter passed in, then gives up after 5 attempts", () => {
    let s = inConversation();
    const delays: number[] = [];
    const randoms = [0, 0.25, 0.5, 0.75, 0.99];
    let t = reduce(s, closed(s, 1006, randoms[0]));
    s = t.state;
    delays.push(...timersStarted(t.effects, "reconnect").map((x) => x.ms));
    for (let i = 1; i <= 5; i++) {
      expect(s.status).toBe("reconnecting");
      expect(s.attempt).toBe(i);
      s = run(s, { type: "timer", id: "reconnect", random: 0.5 }).state;
      // a fresh ticket before every try
      t = reduce(s, { type: "ticketReady", gen: s.gen, ticket: `t${i}` });
      s = t.state;
      t = reduce(s, closed(s, 1006, randoms[i] ?? 0.5));
      s = t.state;
      delays.push(...timersStarted(t.effects, "reconnect").map((x) => x.ms));
    }
    expect(delays).toEqual([800, 1800, 4000, 8800, 19136]);
    expect(s.status).toBe("disconnected");
    expect(s.attempt).toBe(5);
    expect(s.phase).toBe("none");
    expect(timersStarted(t.effects, "reconnect")).toEqual([]);
  });

  it("every retry asks for a new ticket before opening", () => {
    let s = inConversation();
    s = run(s, closed(s, 1006)).state;
    const t = run(s, { type: "timer", id: "reconnect", random: 0.5 });
    expect(t.effects).toContainEqual({ kind: "fetchTicket", gen: t.state.gen });
    expect(t.effects.some((e) => e.kind === "open")).toBe(false);
    const o = reduce(t.state, { type: "ticketReady", gen: t.state.gen, ticket: "fresh" });
    expect(o.effects).toContainEqual({ kind: "open", gen: o.state.gen, url: "ws://test/api/v1/ws/interview/7?token=fresh" });
  });

  it("a reconnect timer that fires late, after the state moved on, does nothing", () => {
    const s = inConversation();
    expect(reduce(s, { type: "timer", id: "reconnect", random: 0.5 }).effects).toEqual([]);
  });

  it("the attempt counter resets once the server has answered with reconnected", () => {
    let s = inConversation();
    s = reopen(s).state;
    expect(s.attempt).toBe(1);
    expect(s.status).toBe("reconnecting");
    s = receive(s, reconnected({ conversation_history: GREETING_HISTORY })).state;
    expect(s.attempt).toBe(0);
    expect(s.status).toBe("connected");
    const t = reduce(s, closed(s, 1006, 0.5));
    expect(t.state.attempt).toBe(1);
    expect(timersStarted(t.effects, "reconnect")).toEqual([{ id: "reconnect", ms: 1000 }]);
  });

  it("a server that accepts and closes at once does not reset the counter", () => {
    let s = inConversation();
    s = reopen(s).state;
    s = run(s, closed(s, 1011)).state;
    expect(s.attempt).toBe(2);
  });
});

// ---------------------------------------------------------------- recovery from disconnected

function disconnected(): MachineState {
  let s = inConversation();
  s = run(s, closed(s, 1006)).state;
  for (let i = 0; i < 5; i++) {
    s = run(s, { type: "timer", id: "reconnect", random: 0.5 }).state;
    s = run(s, { type: "ticketFailed", gen: s.gen, random: 0.5 }).state;
  }
  return s;
}

describe("disconnected and recovery", () => {
  it("gives up after 5 failed ticket fetches too", () => {
    expect(disconnected().status).toBe("disconnected");
  });

  it.each(["online", "visible", "reconnect"] as const)("%s starts a new round of attempts", (type) => {
    const s = disconnected();
    const t = reduce(s, type === "reconnect" ? { type } : { type, random: 0.5 });
    expect(t.state.status).toBe("reconnecting");
    expect(t.state.attempt).toBe(1);
    expect(t.effects).toContainEqual({ kind: "fetchTicket", gen: t.state.gen });
  });

  it("online while waiting out a backoff skips the wait", () => {
    let s = inConversation();
    s = run(s, closed(s, 1006)).state;
    const t = reduce(s, { type: "online", random: 0.5 });
    expect(t.state.phase).toBe("ticket");
    expect(t.state.attempt).toBe(1);
    expect(cancelled(t.effects)).toContain("reconnect");
  });

  it("visible while waiting out a backoff skips the wait", () => {
    let s = inConversation();
    s = run(s, closed(s, 1006)).state;
    expect(reduce(s, { type: "visible", random: 0.5 }).state.phase).toBe("ticket");
  });

  it.each(["online", "visible"] as const)("%s while connected changes nothing", (type) => {
    const s = inConversation();
    const t = reduce(s, { type, random: 0.5 });
    expect(t.effects).toEqual([]);
    expect(t.state).toEqual(s);
  });

  it("offline kills an open socket and starts reconnecting", () => {
    const s = inConversation();
    const t = reduce(s, { type: "offline", random: 0.5 });
    expect(t.effects).toContainEqual({ kind: "close", code: 4000, reason: "browser offline" });
    expect(t.state.status).toBe("reconnecting");
    expect(t.state.attempt).toBe(1);
  });

  it("manual reconnect works from closed and replaced, not from the other final states", () => {
    for (const code of [1000, 4009]) {
      let s = inConversation();
      s = run(s, closed(s, code)).state;
      const t = reduce(s, { type: "reconnect" });
      expect(t.state.status).toBe("reconnecting");
      expect(t.effects).toContainEqual({ kind: "fetchTicket", gen: t.state.gen });
    }
    for (const code of [4001, 4002, 4003, 4004]) {
      let s = inConversation();
      s = run(s, closed(s, code)).state;
      expect(reduce(s, { type: "reconnect" }).effects).toEqual([]);
    }
  });

  it("taking the interview back after 4009 sends reconnect, not start", () => {
    let s = inConversation();
    s = run(s, closed(s, 4009), { type: "reconnect" }).state;
    s = run(s, { type: "ticketReady", gen: s.gen, ticket: "t" }).state;
    const t = reduce(s, { type: "socketOpen", gen: s.gen });
    expect(sends(t.effects)).toEqual([{ type: "reconnect", last_seq: 3 }]);
  });
});

// ---------------------------------------------------------------- heartbeat

describe("heartbeat", () => {
  it("answers a server ping with pong at once", () => {
    const t = receive(inConversation(), { type: "ping" });
    expect(sends(t.effects)).toEqual([{ type: "pong" }]);
  });

  it("sends its own ping every 25 s and waits 10 s for the pong", () => {
    const s = inConversation();
    const t = reduce(s, { type: "timer", id: "ping", random: 0.5 });
    expect(sends(t.effects)).toEqual([{ type: "ping" }]);
    expect(timersStarted(t.effects)).toEqual([
      { id: "pongTimeout", ms: 10_000 },
      { id: "ping", ms: 25_000 },
    ]);
  });

  it("a pong cancels the pong timeout", () => {
    const s = run(inConversation(), { type: "timer", id: "ping", random: 0.5 }).state;
    expect(cancelled(receive(s, { type: "pong" }).effects)).toContain("pongTimeout");
  });

  it("no pong within 10 s: the socket is dead, closed and reconnected", () => {
    let s = run(inConversation(), { type: "timer", id: "ping", random: 0.5 }).state;
    const gen = s.gen;
    const t = reduce(s, { type: "timer", id: "pongTimeout", random: 0.5 });
    s = t.state;
    expect(t.effects).toContainEqual({ kind: "close", code: 4000, reason: "no pong" });
    expect(s.status).toBe("reconnecting");
    expect(s.gen).toBeGreaterThan(gen);
    expect(timersStarted(t.effects, "reconnect")).toEqual([{ id: "reconnect", ms: 1000 }]);
  });

  it("every server frame restarts the 60 s silence timer", () => {
    for (const msg of [{ type: "ping" }, { type: "pong" }, { type: "thinking", seq: 4 }] as ServerMessage[]) {
      expect(timersStarted(receive(inConversation(), msg).effects, "silence")).toEqual([{ id: "silence", ms: 60_000 }]);
    }
  });

  it("silence is twice the server heartbeat interval", () => {
    const s = opened({ serverHeartbeatIntervalMs: 5000 });
    expect(timersStarted(receive(s, { type: "ping" }).effects, "silence")).toEqual([{ id: "silence", ms: 10_000 }]);
  });

  it("60 s of total silence: the socket is dead, closed and reconnected", () => {
    const t = reduce(inConversation(), { type: "timer", id: "silence", random: 0.5 });
    expect(t.effects).toContainEqual({ kind: "close", code: 4000, reason: "server silent" });
    expect(t.state.status).toBe("reconnecting");
  });

  it("a handshake that hangs is given up by the silence timer", () => {
    let s = run(init(), { type: "start" }).state;
    s = run(s, { type: "ticketReady", gen: s.gen, ticket: "t" }).state;
    const t = reduce(s, { type: "timer", id: "silence", random: 0.5 });
    expect(t.state.status).toBe("reconnecting");
  });

  it("heartbeat timers that fire while not connected do nothing", () => {
    let s = inConversation();
    s = run(s, closed(s, 1006)).state;
    for (const id of ["ping", "pongTimeout", "silence"] as const) {
      expect(reduce(s, { type: "timer", id, random: 0.5 }).effects).toEqual([]);
    }
  });
});

// ---------------------------------------------------------------- streaming

describe("streaming", () => {
  it("thinking sets isThinking, stream_start clears it", () => {
    let s = receive(inConversation(), { type: "thinking", seq: 4 }).state;
    expect(s.isThinking).toBe(true);
    s = receive(s, { type: "stream_start", seq: 5, stream_id: "r1", kind: "response" }).state;
    expect(s.isThinking).toBe(false);
    expect(s.streamingId).toBe("r1");
  });

  it("chunks grow one message in place and stream_end finishes it", () => {
    let s = receive(
      inConversation(),
      { type: "stream_start", seq: 5, stream_id: "r1", kind: "response" },
      { type: "stream_chunk", seq: 6, stream_id: "r1", chunk_index: 0, content: "Tell " },
    ).state;
    const ai = () => s.messages.filter((m) => m.id === "r1");
    expect(ai()).toEqual([expect.objectContaining({ content: "Tell ", streaming: true, role: "ai", kind: "response" })]);
    s = receive(s, { type: "stream_chunk", seq: 7, stream_id: "r1", chunk_index: 1, content: "me" }).state;
    expect(ai()).toEqual([expect.objectContaining({ content: "Tell me", streaming: true })]);
    s = receive(s, {
      type: "stream_end",
      seq: 8,
      stream_id: "r1",
      content: "Tell me more.",
      question_number: 2,
      total_questions: 3,
      time_remaining_min: 20,
      is_complete: false,
    }).state;
    expect(ai()).toEqual([expect.objectContaining({ content: "Tell me more.", streaming: false, seq: 8 })]);
    expect(s.streamingId).toBeNull();
    expect(s.questionNumber).toBe(2);
    expect(s.timeRemainingMin).toBe(20);
    expect(s.messages).toHaveLength(2);
  });

  it("a merged frame carrying a later chunk_index is applied; older indexes are dropped", () => {
    const s = receive(
      inConversation(),
      { type: "stream_start", seq: 5, stream_id: "r1", kind: "response" },
      { type: "stream_chunk", seq: 6, stream_id: "r1", chunk_index: 3, content: "abcd" },
      { type: "stream_chunk", seq: 7, stream_id: "r1", chunk_index: 2, content: "X" },
      { type: "stream_chunk", seq: 8, stream_id: "r1", chunk_index: 4, content: "e" },
    ).state;
    expect(s.messages.find((m) => m.id === "r1")?.content).toBe("abcde");
  });

  it("a chunk without a stream_start still makes a streaming message", () => {
    const s = receive(inConversation(), { type: "stream_chunk", seq: 5, stream_id: "r9", chunk_index: 0, content: "x" }).state;
    expect(s.streamingId).toBe("r9");
    expect(s.messages.at(-1)).toEqual(expect.objectContaining({ id: "r9", content: "x", streaming: true }));
  });

  it("events with seq <= last seen seq are ignored", () => {
    const s = inConversation();
    expect(s.lastSeq).toBe(3);
    const t = receive(
      s,
      { type: "stream_chunk", seq: 2, stream_id: "g", chunk_index: 5, content: "again" },
      { type: "thinking", seq: 3 },
    );
    expect(t.state.messages).toEqual(s.messages);
    expect(t.state.isThinking).toBe(false);
  });

  it("greeting and response (stream=false) add whole AI messages", () => {
    const s = receive(
      opened(),
      { type: "greeting", seq: 1, content: "Hi", question_number: 1, total_questions: 2, time_remaining_min: 30 },
      { type: "thinking", seq: 2 },
      { type: "response", seq: 3, content: "Next", question_number: 2, total_questions: 2, time_remaining_min: 29 },
    ).state;
    expect(s.messages.map((m) => [m.role, m.content, m.streaming])).toEqual([
      ["ai", "Hi", false],
      ["ai", "Next", false],
    ]);
    expect(s.isThinking).toBe(false);
    expect(s.questionNumber).toBe(2);
  });

  it("transcription (voice) adds the candidate's words", () => {
    const s = receive(inConversation(), { type: "transcription", seq: 4, content: "spoken" }).state;
    expect(s.messages.at(-1)).toEqual(expect.objectContaining({ role: "candidate", content: "spoken", status: "sent" }));
  });

  it("AI_UNAVAILABLE with a stream_id drops that partial message and offers a retry", () => {
    let s = inConversation();
    s = run(s, { type: "send", content: "My answer", clientMsgId: "c1" }).state;
    s = receive(
      s,
      { type: "thinking", seq: 4 },
      { type: "stream_start", seq: 5, stream_id: "r1", kind: "response" },
      { type: "stream_chunk", seq: 6, stream_id: "r1", chunk_index: 0, content: "Part" },
    ).state;
    s = receive(s, { type: "error", code: "AI_UNAVAILABLE", content: "The AI is unavailable", stream_id: "r1" }).state;
    expect(s.messages.some((m) => m.id === "r1")).toBe(false);
    expect(s.streamingId).toBeNull();
    expect(s.isThinking).toBe(false);
    expect(s.retryableClientMsgId).toBe("c1");
    expect(s.lastError?.code).toBe("AI_UNAVAILABLE");
    const t = reduce(s, { type: "retry", clientMsgId: "c1" });
    expect(sends(t.effects)).toEqual([{ type: "message", content: "My answer", client_msg_id: "c1" }]);
    expect(t.state.messages.filter((m) => m.clientMsgId === "c1")).toHaveLength(1);
  });

  it("AI_UNAVAILABLE before any piece clears the thinking indicator", () => {
    let s = receive(inConversation(), { type: "thinking", seq: 4 }).state;
    s = receive(s, { type: "error", code: "AI_UNAVAILABLE", content: "down" }).state;
    expect(s.isThinking).toBe(false);
    expect(s.messages).toHaveLength(1);
  });

  it("a refused answer (TURN_IN_PROGRESS, RATE_LIMITED, INVALID_MESSAGE) is marked failed and can be retried", () => {
    for (const code of ["TURN_IN_PROGRESS", "RATE_LIMITED", "INVALID_MESSAGE"] as const) {
      let s = run(inConversation(), { type: "send", content: "a", clientMsgId: "c1" }).state;
      s = receive(s, { type: "error", code, content: "no" }).state;
      expect(s.messages.at(-1)?.status).toBe("failed");
      expect(s.outbox).toEqual([]);
      const t = reduce(s, { type: "retry", clientMsgId: "c1" });
      expect(sends(t.effects)).toEqual([{ type: "message", content: "a", client_msg_id: "c1" }]);
      expect(t.state.messages.at(-1)?.status).toBe("pending");
    }
  });

  it("retry of a message that did not fail does nothing", () => {
    const s = run(inConversation(), { type: "send", content: "a", clientMsgId: "c1" }).state;
    expect(reduce(s, { type: "retry", clientMsgId: "c1" }).effects).toEqual([]);
  });
});

// ---------------------------------------------------------------- reconnect and rebuild

describe("rebuild from reconnected", () => {
  it("after a reconnect sends reconnect with last_seq, not start", () => {
    const { state, effects } = reopen(inConversation());
    expect(sends(effects)).toEqual([{ type: "reconnect", last_seq: 3 }]);
    expect(state.status).toBe("reconnecting");
  });

  it("replaces the message list, never appends", () => {
    let s = receive(inConversation(), { type: "stream_start", seq: 4, stream_id: "x", kind: "response" }).state;
    s = reopen(s).state;
    const history = [
      hist(1, 3, "ai", "Hello", { stream_id: "g" }),
      hist(2, 9, "candidate", "I have 5 years", { client_msg_id: "c1" }),
      hist(3, 15, "ai", "Great, next?", { stream_id: "x" }),
    ];
    s = receive(s, reconnected({ conversation_history: history, last_seq: 15, question_number: 2 })).state;
    expect(s.messages.map((m) => [m.id, m.role, m.content, m.streaming])).toEqual([
      ["g", "ai", "Hello", false],
      ["c1", "candidate", "I have 5 years", false],
      ["x", "ai", "Great, next?", false],
    ]);
    expect(s.streamingId).toBeNull();
    expect(s.lastSeq).toBe(15);
    expect(s.status).toBe("connected");
    expect(s.questionNumber).toBe(2);
    // a second identical reconnected gives the same screen
    const again = receive(reopen(s).state, reconnected({ conversation_history: history, last_seq: 15 })).state;
    expect(again.messages).toEqual(s.messages);
  });

  it("history without stream ids still gives one message per turn", () => {
    const s = receive(reopen(inConversation()).state, reconnected({ conversation_history: [hist(1, 3, "ai", "Hello")] })).state;
    expect(s.messages).toEqual([expect.objectContaining({ id: "h1", content: "Hello" })]);
  });

  it("shows pending_stream as a streaming AI message and continues it with later chunks", () => {
    let s = reopen(inConversation()).state;
    s = receive(
      s,
      reconnected({
        conversation_history: GREETING_HISTORY,
        pending_stream: { stream_id: "r1", kind: "response", content: "Thanks, that", chunk_index: 4 },
        last_seq: 17,
      }),
    ).state;
    expect(s.streamingId).toBe("r1");
    expect(s.messages.at(-1)).toEqual(expect.objectContaining({ id: "r1", content: "Thanks, that", streaming: true }));
    s = receive(
      s,
      { type: "stream_chunk", seq: 18, stream_id: "r1", chunk_index: 4, content: " DUP" },
      { type: "stream_chunk", seq: 19, stream_id: "r1", chunk_index: 5, content: " helps" },
    ).state;
    expect(s.messages.at(-1)?.content).toBe("Thanks, that helps");
    s = receive(s, {
      type: "stream_end",
      seq: 20,
      stream_id: "r1",
      content: "Thanks, that helps.",
      question_number: 2,
      total_questions: 3,
      time_remaining_min: 20,
      is_complete: false,
    }).state;
    expect(s.messages.filter((m) => m.id === "r1")).toEqual([
      expect.objectContaining({ content: "Thanks, that helps.", streaming: false }),
    ]);
    expect(s.messages).toHaveLength(2);
  });

  it("pending_stream before the first piece (chunk_index -1) takes chunk 0", () => {
    let s = reopen(inConversation()).state;
    s = receive(
      s,
      reconnected({ pending_stream: { stream_id: "r1", kind: "response", content: "", chunk_index: -1 }, last_seq: 5 }),
      { type: "stream_chunk", seq: 6, stream_id: "r1", chunk_index: 0, content: "A" },
    ).state;
    expect(s.messages.at(-1)?.content).toBe("A");
  });

  it("the interrupted AI message is replaced by stream_id, never duplicated", () => {
    let s = receive(
      inConversation(),
      { type: "stream_start", seq: 4, stream_id: "r1", kind: "response" },
      { type: "stream_chunk", seq: 5, stream_id: "r1", chunk_index: 0, content: "Half" },
    ).state;
    s = reopen(s).state;
    s = receive(
      s,
      reconnected({
        conversation_history: [...GREETING_HISTORY, hist(2, 12, "ai", "Half and whole.", { stream_id: "r1" })],
        last_seq: 12,
      }),
    ).state;
    expect(s.messages.filter((m) => m.id === "r1")).toEqual([expect.objectContaining({ content: "Half and whole.", streaming: false })]);
    expect(s.streamingId).toBeNull();
  });

  it("epoch change: forgets the old seq and accepts the new log's lower numbers", () => {
    let s = receive(inConversation(), reconnected({ conversation_history: GREETING_HISTORY, last_seq: 50, epoch: "e1" })).state;
    s = reopen(s).state;
    s = receive(s, reconnected({ conversation_history: GREETING_HISTORY, last_seq: 10, epoch: "e2" })).state;
    expect(s.epoch).toBe("e2");
    expect(s.lastSeq).toBe(10);
    s = receive(s, { type: "thinking", seq: 11 }).state;
    expect(s.isThinking).toBe(true);
  });

  it("epoch change drops per-stream chunk positions of the old log", () => {
    let s = receive(inConversation(), reconnected({ conversation_history: GREETING_HISTORY, last_seq: 3, epoch: "e1" })).state;
    s = receive(s, { type: "stream_start", seq: 4, stream_id: "r1", kind: "response" }, { type: "stream_chunk", seq: 5, stream_id: "r1", chunk_index: 7, content: "x" }).state;
    s = reopen(s).state;
    s = receive(s, reconnected({ conversation_history: GREETING_HISTORY, last_seq: 3, epoch: "e2" })).state;
    expect(s.chunkIndex).toEqual({});
    s = receive(s, { type: "stream_chunk", seq: 4, stream_id: "r1", chunk_index: 0, content: "fresh" }).state;
    expect(s.messages.at(-1)?.content).toBe("fresh");
  });

  it("same epoch: the server's last_seq filters the events that follow", () => {
    let s = reopen(inConversation()).state;
    s = receive(s, reconnected({ conversation_history: GREETING_HISTORY, last_seq: 8, epoch: "e1" })).state;
    s = receive(s, { type: "thinking", seq: 8 }).state;
    expect(s.isThinking).toBe(false);
  });

  it("live events that arrive before reconnected are replayed on top of it, without duplicates", () => {
    let s = reopen(inConversation()).state;
    s = receive(
      s,
      { type: "stream_start", seq: 10, stream_id: "r1", kind: "response" },
      { type: "stream_chunk", seq: 11, stream_id: "r1", chunk_index: 0, content: "one " },
      { type: "stream_chunk", seq: 12, stream_id: "r1", chunk_index: 1, content: "two" },
    ).state;
    expect(s.status).toBe("reconnecting");
    s = receive(
      s,
      reconnected({
        conversation_history: GREETING_HISTORY,
        pending_stream: { stream_id: "r1", kind: "response", content: "one ", chunk_index: 0 },
        last_seq: 11,
      }),
    ).state;
    expect(s.messages.filter((m) => m.id === "r1")).toEqual([expect.objectContaining({ content: "one two", streaming: true })]);
    expect(s.lastSeq).toBe(12);
  });

  it("turns saved after the snapshot point are in history and their live events follow: nothing shows twice", () => {
    let s = run(reopen(inConversation()).state, { type: "send", content: "queued", clientMsgId: "c2" }).state;
    const history = [
      ...GREETING_HISTORY,
      hist(2, 10, "candidate", "first", { client_msg_id: "c1" }),
      hist(3, 14, "ai", "Reply to first.", { stream_id: "r1" }),
    ];
    let t = receive(s, reconnected({ conversation_history: history, last_seq: 9 }));
    // c1's reply is already saved, so the queued answer can go at once
    expect(sends(t.effects)).toEqual([{ type: "message", content: "queued", client_msg_id: "c2" }]);
    s = t.state;
    t = receive(
      s,
      { type: "thinking", seq: 10 },
      { type: "stream_start", seq: 11, stream_id: "r1", kind: "response" },
      { type: "stream_chunk", seq: 12, stream_id: "r1", chunk_index: 0, content: "Reply " },
      { type: "stream_chunk", seq: 13, stream_id: "r1", chunk_index: 1, content: "to first." },
    );
    expect(t.state.messages.filter((m) => m.id === "r1")).toEqual([
      expect.objectContaining({ content: "Reply to first.", streaming: false }),
    ]);
    expect(t.state.isThinking).toBe(false);
    expect(t.state.streamingId).toBeNull();
    t = receive(t.state, {
      type: "stream_end",
      seq: 14,
      stream_id: "r1",
      content: "Reply to first.",
      question_number: 2,
      total_questions: 3,
      time_remaining_min: 20,
      is_complete: false,
    });
    expect(t.state.messages.map((m) => m.id)).toEqual(["g", "c1", "r1", "c2"]);
    // c1's replayed `thinking` did not confirm c2, and c2 is not sent twice
    expect(t.state.outbox.map((e) => e.clientMsgId)).toEqual(["c2"]);
    expect(sends(t.effects)).toEqual([]);
    expect(receive(t.state, { type: "thinking", seq: 15 }).state.outbox).toEqual([]);
  });

  it("an answer saved after the snapshot point shows the thinking indicator and holds the outbox", () => {
    let s = run(reopen(inConversation()).state, { type: "send", content: "queued", clientMsgId: "c2" }).state;
    const t = receive(
      s,
      reconnected({ conversation_history: [...GREETING_HISTORY, hist(2, 10, "candidate", "first", { client_msg_id: "c1" })], last_seq: 9 }),
    );
    s = t.state;
    expect(s.isThinking).toBe(true);
    expect(sends(t.effects)).toEqual([]);
  });

  it("reconnected with status completed finishes", () => {
    const s = receive(reopen(inConversation()).state, reconnected({ status: "completed", conversation_history: GREETING_HISTORY })).state;
    expect(s.status).toBe("finished");
    expect(s.messages).toHaveLength(1);
  });

  it.each(["cancelled", "expired"] as const)("reconnected with status %s is a final invalid state", (status) => {
    const s = receive(reopen(inConversation()).state, reconnected({ status })).state;
    expect(s.status).toBe("invalid_state");
  });
});

// ---------------------------------------------------------------- outbox and optimistic messages

describe("outbox", () => {
  it("an answer while connected shows at once and is sent once", () => {
    const t = run(inConversation(), { type: "send", content: "  My answer  ", clientMsgId: "c1" });
    expect(sends(t.effects)).toEqual([{ type: "message", content: "My answer", client_msg_id: "c1" }]);
    expect(t.state.messages.at(-1)).toEqual(expect.objectContaining({ id: "c1", role: "candidate", status: "pending" }));
    const s = receive(t.state, { type: "thinking", seq: 4 }).state;
    expect(s.outbox).toEqual([]);
    expect(s.messages.at(-1)).toEqual(expect.objectContaining({ id: "c1", status: "sent", seq: 4 }));
  });

  it("ignores empty answers and duplicate ids", () => {
    let s = inConversation();
    expect(reduce(s, { type: "send", content: "   ", clientMsgId: "c0" }).effects).toEqual([]);
    s = run(s, { type: "send", content: "a", clientMsgId: "c1" }).state;
    expect(reduce(s, { type: "send", content: "a", clientMsgId: "c1" }).effects).toEqual([]);
  });

  it("an answer typed while disconnected is queued and sent exactly once after reconnected", () => {
    let s = inConversation();
    s = run(s, closed(s, 1006)).state;
    let t = run(s, { type: "send", content: "offline answer", clientMsgId: "c1" });
    expect(sends(t.effects)).toEqual([]);
    expect(t.state.messages.at(-1)).toEqual(expect.objectContaining({ id: "c1", status: "pending" }));
    s = t.state;
    // the new socket opens: only `reconnect` goes out
    t = run(s, { type: "timer", id: "reconnect", random: 0.5 });
    t = run(t.state, { type: "ticketReady", gen: t.state.gen, ticket: "t" });
    t = run(t.state, { type: "socketOpen", gen: t.state.gen });
    expect(sends(t.effects)).toEqual([{ type: "reconnect", last_seq: 3 }]);
    s = t.state;
    t = receive(s, reconnected({ conversation_history: GREETING_HISTORY, last_seq: 3 }));
    expect(sends(t.effects)).toEqual([{ type: "message", content: "offline answer", client_msg_id: "c1" }]);
    expect(t.state.messages.filter((m) => m.clientMsgId === "c1")).toHaveLength(1);
    // later frames do not send it again
    const later = receive(t.state, { type: "ping" }, { type: "pong" });
    expect(sends(later.effects)).toEqual([{ type: "pong" }]);
    const confirmed = receive(t.state, { type: "thinking", seq: 4 });
    expect(confirmed.state.outbox).toEqual([]);
  });

  it("is not re-sent when the history already has that client_msg_id, and shows once", () => {
    let s = run(inConversation(), { type: "send", content: "answer", clientMsgId: "c1" }).state;
    // sent, but the socket died before `thinking`
    s = reopen(s).state;
    const t = receive(
      s,
      reconnected({
        conversation_history: [...GREETING_HISTORY, hist(2, 4, "candidate", "answer", { client_msg_id: "c1" })],
        pending_stream: { stream_id: "r1", kind: "response", content: "", chunk_index: -1 },
        last_seq: 5,
      }),
    );
    expect(sends(t.effects)).toEqual([]);
    expect(t.state.outbox).toEqual([]);
    expect(t.state.messages.filter((m) => m.clientMsgId === "c1")).toEqual([expect.objectContaining({ status: "sent" })]);
  });

  it("an answer sent but never received by the server is sent again on the next socket", () => {
    let s = run(inConversation(), { type: "send", content: "lost", clientMsgId: "c1" }).state;
    s = reopen(s).state;
    const t = receive(s, reconnected({ conversation_history: GREETING_HISTORY, last_seq: 3 }));
    expect(sends(t.effects)).toEqual([{ type: "message", content: "lost", client_msg_id: "c1" }]);
    expect(t.state.messages.filter((m) => m.clientMsgId === "c1")).toHaveLength(1);
  });

  it("waits for a pending stream to finish before sending", () => {
    let s = inConversation();
    s = run(s, closed(s, 1006), { type: "send", content: "queued", clientMsgId: "c1" }).state;
    s = reopen(s, 1006).state; // a second drop is harmless
    let t = receive(
      s,
      reconnected({
        conversation_history: GREETING_HISTORY,
        pending_stream: { stream_id: "r1", kind: "response", content: "x", chunk_index: 0 },
        last_seq: 6,
      }),
    );
    expect(sends(t.effects)).toEqual([]);
    // the order on screen: history, the reply being written, then the answer waiting to go
    expect(t.state.messages.map((m) => m.id)).toEqual(["g", "r1", "c1"]);
    t = receive(t.state, {
      type: "stream_end",
      seq: 7,
      stream_id: "r1",
      content: "xy",
      question_number: 2,
      total_questions: 3,
      time_remaining_min: 20,
      is_complete: false,
    });
    expect(sends(t.effects)).toEqual([{ type: "message", content: "queued", client_msg_id: "c1" }]);
  });

  it("an answer typed while the AI streams waits for stream_end", () => {
    let s = receive(inConversation(), { type: "stream_start", seq: 4, stream_id: "r1", kind: "response" }).state;
    let t = run(s, { type: "send", content: "early", clientMsgId: "c1" });
    expect(sends(t.effects)).toEqual([]);
    s = t.state;
    t = receive(s, {
      type: "stream_end",
      seq: 5,
      stream_id: "r1",
      content: "done",
      question_number: 2,
      total_questions: 3,
      time_remaining_min: 20,
      is_complete: false,
    });
    expect(sends(t.effects)).toEqual([{ type: "message", content: "early", client_msg_id: "c1" }]);
  });

  it("two queued answers go one at a time", () => {
    let s = inConversation();
    s = run(s, closed(s, 1006), { type: "send", content: "one", clientMsgId: "c1" }, { type: "send", content: "two", clientMsgId: "c2" }).state;
    s = reopen(s).state;
    let t = receive(s, reconnected({ conversation_history: GREETING_HISTORY }));
    expect(sends(t.effects)).toEqual([{ type: "message", content: "one", client_msg_id: "c1" }]);
    t = receive(
      t.state,
      { type: "thinking", seq: 4 },
      { type: "stream_start", seq: 5, stream_id: "r1", kind: "response" },
      {
        type: "stream_end",
        seq: 6,
        stream_id: "r1",
        content: "ok",
        question_number: 2,
        total_questions: 3,
        time_remaining_min: 20,
        is_complete: false,
      },
    );
    expect(sends(t.effects)).toEqual([{ type: "message", content: "two", client_msg_id: "c2" }]);
  });
});

// ---------------------------------------------------------------- the end

describe("finishing", () => {
  it.each(["complete", "ended"] as const)("%s finishes, stops every timer, and the following 1000 close keeps it", (type) => {
    let t = receive(inConversation(), { type, seq: 9, content: "Thank you." });
    expect(t.state.status).toBe("finished");
    expect(t.state.finishedMessage).toBe("Thank you.");
    expect(cancelled(t.effects)).toEqual(expect.arrayContaining(["ping", "pongTimeout", "silence", "reconnect"]));
    t = run(t.state, { type: "socketClosed", gen: t.state.gen, code: 1000, random: 0.5 });
    expect(t.state.status).toBe("finished");
  });

  it("end sends end at once when connected", () => {
    const t = reduce(inConversation(), { type: "end" });
    expect(sends(t.effects)).toEqual([{ type: "end" }]);
  });

  it("end while streaming goes out at once (the server cancels the turn)", () => {
    const s = receive(inConversation(), { type: "stream_start", seq: 4, stream_id: "r1", kind: "response" }).state;
    expect(sends(reduce(s, { type: "end" }).effects)).toEqual([{ type: "end" }]);
  });

  it("end while reconnecting is sent once the new socket is open", () => {
    let s = inConversation();
    s = run(s, closed(s, 1006), { type: "end" }).state;
    const { effects } = reopen(s, 1006);
    // reopen() closes once more before reopening; the end still goes out once
    expect(sends(effects).filter((m) => m.type === "end")).toHaveLength(1);
  });

  it("dispose closes the socket normally and stops every timer", () => {
    const t = reduce(inConversation(), { type: "dispose" });
    expect(t.effects).toContainEqual({ kind: "close", code: 1000, reason: "closed" });
    expect(cancelled(t.effects)).toEqual(expect.arrayContaining(["ping", "pongTimeout", "silence", "reconnect"]));
  });
});

// ---------------------------------------------------------------- observer

describe("observer", () => {
  it("never sends answers or end", () => {
    const s = receive(opened({ mode: "observer" }), reconnected({ conversation_history: GREETING_HISTORY })).state;
    expect(reduce(s, { type: "send", content: "x", clientMsgId: "c" }).effects).toEqual([]);
    expect(reduce(s, { type: "end" }).effects).toEqual([]);
  });

  it("asks for the transcript when the candidate answered, and merges it without duplicates", () => {
    let s = receive(opened({ mode: "observer" }), reconnected({ conversation_history: GREETING_HISTORY, last_seq: 3 })).state;
    let t = receive(s, { type: "thinking", seq: 4 });
    expect(t.effects).toContainEqual({ kind: "fetchTranscript" });
    s = receive(
      t.state,
      { type: "stream_start", seq: 5, stream_id: "r1", kind: "response" },
      { type: "stream_chunk", seq: 6, stream_id: "r1", chunk_index: 0, content: "Go on" },
    ).state;
    t = run(s, { type: "transcriptLoaded", entries: [...GREETING_HISTORY, hist(2, 4, "candidate", "My answer")] });
    expect(t.state.messages.map((m) => [m.role, m.content, m.streaming])).toEqual([
      ["ai", "Hello", false],
      ["candidate", "My answer", false],
      ["ai", "Go on", true],
    ]);
  });
});
