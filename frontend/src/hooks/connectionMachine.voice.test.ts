import { describe, expect, it } from "vitest";
import {
  createInitialState,
  VOICE_ANSWER_TIMEOUT_MS,
  type Effect,
  type MachineConfig,
  type MachineState,
} from "./connectionMachine";
import { receive, run, sends } from "../test/machine";
import type { HistoryEntry, ServerMessage } from "../types/interview";

const BASE = { interviewId: 7, wsBase: "ws://test" } as const;

const opens = (fx: Effect[]): string[] => fx.flatMap((e) => (e.kind === "open" ? [e.url] : []));
const binaries = (fx: Effect[]) => fx.flatMap((e) => (e.kind === "sendBinary" ? [e.data] : []));

/** Open (ticket → socket) the connection the machine is trying now. */
function connect(s: MachineState, ticket = "t"): { state: MachineState; effects: Effect[] } {
  return run(s, { type: "ticketReady", gen: s.gen, ticket }, { type: "socketOpen", gen: s.gen });
}

function inConversation(over: Partial<MachineConfig> = {}): MachineState {
  let s = run(createInitialState({ ...BASE, ...over }), { type: "start" }).state;
  s = connect(s).state;
  return receive(
    s,
    { type: "stream_start", seq: 1, stream_id: "g", kind: "greeting" },
    { type: "stream_chunk", seq: 2, stream_id: "g", chunk_index: 0, content: "Hello" },
    { type: "stream_end", seq: 3, stream_id: "g", content: "Hello", is_complete: false, question_number: 1, total_questions: 3, time_remaining_min: 30 },
  ).state;
}

const hist = (seq: number, role: "ai" | "candidate", content: string, extra: Partial<HistoryEntry> = {}): HistoryEntry => ({
  id: seq,
  seq,
  role,
  content,
  created_at: "2025-01-01T00:00:00Z",
  ...extra,
});

const audio = (seq: number, streamId: string, index: number, last = false): ServerMessage => ({
  type: "audio",
  seq,
  stream_id: streamId,
  index,
  last,
  format: "mp3",
  text: `sentence ${index}`,
  data: "AAAA",
});

describe("endpoint", () => {
  it("a candidate starting in voice mode opens /ws/voice; chat opens /ws/interview", () => {
    const voice = run(createInitialState({ ...BASE, endpoint: "voice" }), { type: "start" }).state;
    expect(opens(connect(voice, "tk").effects)).toEqual(["ws://test/api/v1/ws/voice/7?token=tk"]);
    const chat = run(createInitialState(BASE), { type: "start" }).state;
    expect(opens(connect(chat, "tk").effects)).toEqual(["ws://test/api/v1/ws/interview/7?token=tk"]);
  });

  it("observers never use the voice endpoint", () => {
    const s = run(createInitialState({ ...BASE, mode: "observer" }), { type: "setEndpoint", endpoint: "voice" });
    expect(s.state.endpoint).toBe("chat");
  });

  it("switching closes the socket and reconnects with last_seq on the other endpoint", () => {
    const s0 = inConversation();
    const sw = run(s0, { type: "setEndpoint", endpoint: "voice" });
    expect(sw.state.endpoint).toBe("voice");
    expect(sw.effects).toContainEqual({ kind: "close", code: 1000, reason: "switching endpoint" });
    expect(sw.effects).toContainEqual({ kind: "fetchTicket", gen: sw.state.gen });
    expect(sw.state.gen).toBeGreaterThan(s0.gen);
    expect(sw.state.status).toBe("connected"); // no "connection lost" banner for a switch

    // The old socket's late events (and its 4009) are ignored.
    const late = run(sw.state, { type: "socketClosed", gen: s0.gen, code: 4009, random: 0.5 });
    expect(late.state.status).toBe("connected");

    const c = connect(sw.state, "t2");
    expect(opens(c.effects)).toEqual(["ws://test/api/v1/ws/voice/7?token=t2"]);
    expect(sends(c.effects)).toEqual([{ type: "reconnect", last_seq: 3 }]);

    // Snapshot then replayed events: nothing lost, nothing twice.
    const r = receive(
      c.state,
      {
        type: "reconnected",
        status: "in_progress",
        conversation_history: [hist(3, "ai", "Hello", { stream_id: "g" })],
        current_question: 0,
        question_number: 1,
        total_questions: 3,
        time_remaining_min: 29,
        pending_stream: null,
        last_seq: 3,
        epoch: "e",
      },
      { type: "stream_end", seq: 3, stream_id: "g", content: "Hello", is_complete: false, question_number: 1, total_questions: 3, time_remaining_min: 30 },
    ).state;
    expect(r.messages.map((m) => m.content)).toEqual(["Hello"]);
    expect(r.status).toBe("connected");

    // And back to chat.
    const back = run(r, { type: "setEndpoint", endpoint: "chat" });
    const c2 = connect(back.state, "t3");
    expect(opens(c2.effects)).toEqual(["ws://test/api/v1/ws/interview/7?token=t3"]);
    expect(sends(c2.effects)).toEqual([{ type: "reconnect", last_seq: 3 }]);
  });

  it("an answer in flight when switching is sent again on the new socket with the same client_msg_id", () => {
    let s = inConversation();
    s = run(s, { type: "send", content: "typed", clientMsgId: "c1" }).state;
    s = run(s, { type: "setEndpoint", endpoint: "voice" }).state;
    const c = connect(s);
    const r = receive(c.state, {
      type: "reconnected",
      status: "in_progress",
      conversation_history: [hist(3, "ai", "Hello", { stream_id: "g" })],
      current_question: 0,
      question_number: 1,
      total_questions: 3,
      time_remaining_min: 29,
      pending_stream: null,
      last_seq: 3,
      epoch: "e",
    });
    expect(sends(r.effects)).toEqual([{ type: "message", content: "typed", client_msg_id: "c1" }]);
    expect(r.state.messages.filter((m) => m.content === "typed")).toHaveLength(1);
  });

  it("same endpoint, idle or finished: nothing to reconnect", () => {
    const s = inConversation();
    expect(run(s, { type: "setEndpoint", endpoint: "chat" }).effects).toEqual([]);
    const idle = run(createInitialState(BASE), { type: "setEndpoint", endpoint: "voice" });
    expect(idle.effects).toEqual([]);
    expect(idle.state.endpoint).toBe("voice");
  });

  it("while waiting out a backoff, switching connects at once", () => {
    let s = inConversation();
    s = run(s, { type: "socketClosed", gen: s.gen, code: 1006, random: 0.5 }).state;
    expect(s.phase).toBe("backoff");
    const sw = run(s, { type: "setEndpoint", endpoint: "voice" });
    expect(sw.effects).toContainEqual({ kind: "fetchTicket", gen: sw.state.gen });
  });
});

describe("spoken answers and transcription", () => {
  const voiceRoom = () => inConversation({ endpoint: "voice" });

  it("sendAudio sends one binary frame and shows a '…' placeholder", () => {
    const blob = new Blob(["x"]);
    const t = run(voiceRoom(), { type: "sendAudio", id: "v1", data: blob });
    expect(binaries(t.effects)).toEqual([blob]);
    expect(t.state.messages.at(-1)).toEqual(expect.objectContaining({ id: "v1", role: "candidate", content: "…", status: "pending" }));
    expect(t.state.pendingVoiceId).toBe("v1");
    // a second utterance before the first is transcribed is not sent
    expect(binaries(run(t.state, { type: "sendAudio", id: "v2", data: blob }).effects)).toEqual([]);
  });

  it("sendAudio is refused on the chat socket, while the AI speaks, and while disconnected", () => {
    expect(binaries(run(inConversation(), { type: "sendAudio", id: "v1", data: new Blob(["x"]) }).effects)).toEqual([]);
    const thinking = receive(voiceRoom(), { type: "thinking", seq: 4 }).state;
    expect(binaries(run(thinking, { type: "sendAudio", id: "v1", data: new Blob(["x"]) }).effects)).toEqual([]);
    let s = voiceRoom();
    s = run(s, { type: "socketClosed", gen: s.gen, code: 1006, random: 0.5 }).state;
    expect(binaries(run(s, { type: "sendAudio", id: "v1", data: new Blob(["x"]) }).effects)).toEqual([]);
  });

  it("transcription replaces the placeholder in place, keyed by its client_msg_id", () => {
    let s = run(voiceRoom(), { type: "sendAudio", id: "v1", data: new Blob(["x"]) }).state;
    s = receive(s, { type: "transcription", seq: 4, content: "I know Python", client_msg_id: "audio-abc" }).state;
    expect(s.messages.map((m) => [m.id, m.role, m.content, m.status])).toEqual([
      ["g", "ai", "Hello", "sent"],
      ["audio-abc", "candidate", "I know Python", "sent"],
    ]);
    expect(s.pendingVoiceId).toBeNull();
    // the replayed transcription after a reconnect does not add it twice
    const again = receive({ ...s, lastSeq: 3 }, { type: "transcription", seq: 4, content: "I know Python", client_msg_id: "audio-abc" });
    expect(again.state.messages.filter((m) => m.role === "candidate")).toHaveLength(1);
  });

  it("a snapshot's history entry of the spoken answer replaces it (no duplicate)", () => {
    let s = run(voiceRoom(), { type: "sendAudio", id: "v1", data: new Blob(["x"]) }).state;
    s = receive(s, { type: "transcription", seq: 4, content: "I know Python", client_msg_id: "audio-abc" }).state;
    s = run(s, { type: "socketClosed", gen: s.gen, code: 1006, random: 0.5 }).state;
    s = run(s, { type: "timer", id: "reconnect", random: 0.5 }).state;
    s = connect(s).state;
    s = receive(s, {
      type: "reconnected",
      status: "in_progress",
      conversation_history: [hist(3, "ai", "Hello", { stream_id: "g" }), hist(4, "candidate", "I know Python", { client_msg_id: "audio-abc" })],
      current_question: 0,
      question_number: 1,
      total_questions: 3,
      time_remaining_min: 29,
      pending_stream: null,
      last_seq: 4,
      epoch: "e",
    }).state;
    expect(s.messages.map((m) => m.content)).toEqual(["Hello", "I know Python"]);
  });

  it("INVALID_MESSAGE (silent audio) removes the placeholder; the answer box is free again", () => {
    let s = run(voiceRoom(), { type: "sendAudio", id: "v1", data: new Blob(["x"]) }).state;
    s = receive(s, { type: "error", code: "INVALID_MESSAGE", content: "No speech was recognised" }).state;
    expect(s.messages.map((m) => m.id)).toEqual(["g"]);
    expect(s.pendingVoiceId).toBeNull();
    expect(s.lastError?.content).toBe("No speech was recognised");
  });

  it("AI_UNAVAILABLE from speech-to-text removes the placeholder and offers no retry of an older answer", () => {
    let s = run(voiceRoom(), { type: "send", content: "typed", clientMsgId: "c1" }).state;
    s = receive(
      s,
      { type: "thinking", seq: 4 },
      { type: "stream_start", seq: 5, stream_id: "r1", kind: "response" },
      { type: "stream_end", seq: 6, stream_id: "r1", content: "Next?", is_complete: false, question_number: 2, total_questions: 3, time_remaining_min: 28 },
    ).state;
    s = run(s, { type: "sendAudio", id: "v1", data: new Blob(["x"]) }).state;
    s = receive(s, { type: "error", code: "AI_UNAVAILABLE", content: "Speech service down" }).state;
    expect(s.messages.map((m) => m.id)).toEqual(["g", "c1", "r1"]);
    expect(s.pendingVoiceId).toBeNull();
    expect(s.retryableClientMsgId).toBeNull();
    expect(s.lastError?.content).toBe("Speech service down");
  });

  it("AI_UNAVAILABLE without stream_id while a reply streams on the voice socket (TTS failed): the text turn stands", () => {
    let s = receive(
      voiceRoom(),
      { type: "transcription", seq: 4, content: "spoken", client_msg_id: "audio-a" },
      { type: "thinking", seq: 5 },
      { type: "stream_start", seq: 6, stream_id: "r1", kind: "response" },
      { type: "stream_chunk", seq: 7, stream_id: "r1", chunk_index: 0, content: "Good. " },
      { type: "error", code: "AI_UNAVAILABLE", content: "Voice unavailable" },
      { type: "stream_chunk", seq: 8, stream_id: "r1", chunk_index: 1, content: "Next?" },
    ).state;
    expect(s.messages.at(-1)).toEqual(expect.objectContaining({ id: "r1", content: "Good. Next?", streaming: true }));
    s = receive(s, { type: "stream_end", seq: 9, stream_id: "r1", content: "Good. Next?", is_complete: false, question_number: 2, total_questions: 3, time_remaining_min: 28 }).state;
    expect(s.messages.at(-1)).toEqual(expect.objectContaining({ id: "r1", streaming: false }));
    expect(s.retryableClientMsgId).toBeNull();
  });

  it("AI_UNAVAILABLE with the turn's stream_id (the model failed) drops the partial reply and offers a retry", () => {
    const s = receive(
      voiceRoom(),
      { type: "transcription", seq: 4, content: "spoken", client_msg_id: "audio-a" },
      { type: "thinking", seq: 5 },
      { type: "stream_start", seq: 6, stream_id: "r1", kind: "response" },
      { type: "error", code: "AI_UNAVAILABLE", content: "Model down", stream_id: "r1" },
    ).state;
    expect(s.messages.map((m) => m.id)).toEqual(["g", "audio-a"]);
    expect(s.retryableClientMsgId).toBe("audio-a");
  });

  it("an utterance the server already answered (transcription of words on screen, or nothing at all) never leaves '…' behind", () => {
    let s = run(voiceRoom(), { type: "sendAudio", id: "v1", data: new Blob(["x"]) }).state;
    s = receive(s, { type: "transcription", seq: 4, content: "spoken", client_msg_id: "audio-a" }).state;
    const again = run(s, { type: "sendAudio", id: "v2", data: new Blob(["x"]) });
    expect(again.effects).toContainEqual({ kind: "startTimer", id: "voice", ms: VOICE_ANSWER_TIMEOUT_MS });
    // the same words again (a retried utterance): the placeholder goes, no duplicate
    const dup = receive({ ...again.state, lastSeq: 3 }, { type: "transcription", seq: 4, content: "spoken", client_msg_id: "audio-a" });
    expect(dup.state.messages.map((m) => m.id)).toEqual(["g", "audio-a"]);
    expect(dup.effects).toContainEqual({ kind: "cancelTimer", id: "voice" });
    // no answer at all: given up after the timeout, with a message
    const timedOut = run(again.state, { type: "timer", id: "voice", random: 0.5 }).state;
    expect(timedOut.messages.map((m) => m.id)).toEqual(["g", "audio-a"]);
    expect(timedOut.pendingVoiceId).toBeNull();
    expect(timedOut.lastError?.code).toBe("VOICE_TIMEOUT");
  });

  it("a lost socket drops the placeholder (the snapshot brings the words if they arrived)", () => {
    let s = run(voiceRoom(), { type: "sendAudio", id: "v1", data: new Blob(["x"]) }).state;
    s = run(s, { type: "socketClosed", gen: s.gen, code: 1006, random: 0.5 }).state;
    expect(s.messages.map((m) => m.id)).toEqual(["g"]);
    expect(s.pendingVoiceId).toBeNull();
  });
});

describe("audio queue", () => {
  it("queues clips per turn in index order, drops duplicates, and audioDone removes one", () => {
    let s = inConversation({ endpoint: "voice" });
    s = receive(s, audio(4, "r1", 0), audio(5, "r1", 1), audio(6, "r1", 2, true)).state;
    expect(s.audioQueue.map((c) => [c.streamId, c.index, c.last])).toEqual([
      ["r1", 0, false],
      ["r1", 1, false],
      ["r1", 2, true],
    ]);
    // out of order within a turn: sorted by index
    const o = receive(inConversation({ endpoint: "voice" }), audio(4, "r2", 1), audio(5, "r2", 0)).state;
    expect(o.audioQueue.map((c) => c.index)).toEqual([0, 1]);
    // a replay with the same (stream, index) is not queued twice
    const d = receive({ ...s, lastSeq: 3 }, audio(4, "r1", 0)).state;
    expect(d.audioQueue).toHaveLength(3);
    s = run(s, { type: "audioDone", streamId: "r1", index: 0 }).state;
    expect(s.audioQueue.map((c) => c.index)).toEqual([1, 2]);
  });

  it("stopAudio empties the queue and drops the rest of that turn", () => {
    let s = inConversation({ endpoint: "voice" });
    s = receive(s, audio(4, "r1", 0), audio(5, "r1", 1)).state;
    s = run(s, { type: "stopAudio" }).state;
    expect(s.audioQueue).toEqual([]);
    s = receive(s, audio(6, "r1", 2, true), audio(7, "r2", 0)).state;
    expect(s.audioQueue.map((c) => c.streamId)).toEqual(["r2"]);
  });
});
