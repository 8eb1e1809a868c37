/**
 * The interview connection as a pure state machine: `reduce(state, event) -> {state, effects}`.
 *
 * No React, no timers, no WebSocket, no randomness in here. Everything the outside world
 * does (a ticket arrives, the socket opens, a timer fires, the browser goes online) comes in
 * as an event; everything this module wants done (fetch a ticket, open a socket, send a
 * frame, start a timer) goes out as an effect. `useWebSocket` runs the effects.
 *
 * The rules are PROTOCOL.md's "Timing" and "Server → client" sections.
 */
import {
  CLIENT_DEAD_SOCKET_CLOSE,
  CloseCode,
  ErrorCode,
  isRetryableClose,
  seqOf,
  type ClientMessage,
  type ErrorEvent,
  type HistoryEntry,
  type InterviewStatus,
  type ReconnectedEvent,
  type ServerMessage,
  type StreamKind,
} from "../types/interview";

// ---------------------------------------------------------------- public types

export type ConnectionState =
  /** Nothing started yet (the candidate has not pressed Start). */
  | "idle"
  /** First connection on its way. */
  | "connecting"
  | "connected"
  /** Lost the socket; waiting out a backoff or trying again (`reconnectAttempt` says which try). */
  | "reconnecting"
  /** Gave up after `maxReconnectAttempts`; a manual reconnect, `online` or tab-visible tries again. */
  | "disconnected"
  /** 4009: another window took the interview over. */
  | "replaced"
  /** 4001 (or 401 on the ticket): the login is no longer valid. */
  | "unauthorized"
  /** 4002 (or 404 on the ticket). */
  | "not_found"
  /** 4003: cancelled, completed elsewhere or expired. */
  | "invalid_state"
  /** 4004 (or 403 on the ticket). */
  | "forbidden"
  /** Closed for a reason that is not retried by itself (1000 without an end, 1009, unknown codes). */
  | "closed"
  /** `complete` or `ended` arrived: the interview is over. */
  | "finished";

export const TERMINAL_STATES: ReadonlySet<ConnectionState> = new Set<ConnectionState>([
  "replaced",
  "unauthorized",
  "not_found",
  "invalid_state",
  "forbidden",
  "finished",
]);

export type TimerId = "reconnect" | "ping" | "pongTimeout" | "silence" | "voice";

/** A spoken answer that gets neither `transcription` nor an error in this long is given up (the socket stays). */
export const VOICE_ANSWER_TIMEOUT_MS = 90_000;

/** Which candidate socket the room speaks on: the chat socket or the voice socket (docs/voice.md). */
export type Endpoint = "chat" | "voice";

/** One spoken sentence of an AI turn (`audio` event), waiting to be played. */
export interface AudioClip {
  streamId: string;
  index: number;
  /** The turn's final sentence. */
  last: boolean;
  /** `mp3`, `opus` (ogg) or `wav`. */
  format: string;
  text: string;
  /** base64 */
  data: string;
  seq: number;
}

export interface MachineConfig {
  interviewId: number | string;
  /** `ws://host` or `wss://host`, no trailing slash. */
  wsBase: string;
  /** `candidate`: the interview room; `observer`: HR's read-only live view. */
  mode: "candidate" | "observer";
  maxReconnectAttempts: number;
  /** First backoff delay; attempt n waits base × 2^(n−1) (1, 2, 4, 8, 16 s). */
  backoffBaseMs: number;
  /** Jitter as a fraction of the delay: the wait lies in [d × (1 − j), d × (1 + j)). */
  jitterRatio: number;
  pingIntervalMs: number;
  pongTimeoutMs: number;
  /** WS_HEARTBEAT_INTERVAL_SEC; twice this much silence from the server means a dead socket. */
  serverHeartbeatIntervalMs: number;
  /** The endpoint the first connection uses (candidates only); `setEndpoint` switches later. */
  endpoint: Endpoint;
}

export const DEFAULT_CONFIG: Omit<MachineConfig, "interviewId" | "wsBase"> = {
  mode: "candidate",
  maxReconnectAttempts: 5,
  backoffBaseMs: 1000,
  jitterRatio: 0.2,
  pingIntervalMs: 25_000,
  pongTimeoutMs: 10_000,
  serverHeartbeatIntervalMs: 30_000,
  endpoint: "chat",
};

export type CandidateMessageStatus = "pending" | "sent" | "failed";

export interface ChatMessage {
  /** Stable key: the `stream_id` of an AI turn, the `client_msg_id` of a candidate turn, else `h<id>` / `s<seq>`. */
  id: string;
  role: "ai" | "candidate";
  content: string;
  /** AI text still growing. */
  streaming: boolean;
  /** Candidate turns: pending (queued or not yet accepted), sent (the server has it), failed (refused). */
  status: CandidateMessageStatus;
  clientMsgId?: string;
  streamId?: string;
  kind?: StreamKind;
  /** The seq of the event that made this turn durable, when known. */
  seq?: number;
  /** A spoken answer: "…" until its `transcription` arrives. */
  voice?: boolean;
}

export interface OutboxEntry {
  clientMsgId: string;
  content: string;
  /** The socket generation it was sent on, or null while it waits. */
  sentOnGen: number | null;
}

type Phase = "none" | "backoff" | "ticket" | "opening" | "open";

export interface MachineState {
  config: MachineConfig;
  status: ConnectionState;
  phase: Phase;
  /** Increases with every connection attempt and every lost socket; events of older generations are ignored. */
  gen: number;
  /** 0 while connected; n while on the n-th reconnect try. */
  attempt: number;
  /** A `start` or `reconnected` has been acknowledged at least once: later connections send `reconnect`. */
  everSynced: boolean;
  /** This socket has caught up with the interview (got `reconnected`, or an event after `start`). */
  synced: boolean;
  /** This socket has received its `reconnected`. */
  gotReconnected: boolean;
  /** Sequenced events this socket received before its `reconnected`, replayed on top of it. */
  preSync: ServerMessage[];
  lastSeq: number | null;
  epoch: string | null;
  messages: ChatMessage[];
  /** Highest `chunk_index` applied per live stream. */
  chunkIndex: Record<string, number>;
  streamingId: string | null;
  isThinking: boolean;
  outbox: OutboxEntry[];
  pendingEnd: boolean;
  questionNumber: number | null;
  totalQuestions: number | null;
  timeRemainingMin: number | null;
  interviewStatus: InterviewStatus | null;
  lastError: { code: string; content: string } | null;
  /** After AI_UNAVAILABLE: the candidate turn that can be retried with the same client_msg_id. */
  retryableClientMsgId: string | null;
  closeCode: number | null;
  finishedMessage: string | null;
  /** The socket in use (or to use next): chat or voice. */
  endpoint: Endpoint;
  /** The placeholder of a spoken answer sent and not yet transcribed (its message id). */
  pendingVoiceId: string | null;
  /** Spoken sentences not played yet, in order (by turn, then `index`). */
  audioQueue: AudioClip[];
  /** Turns the candidate stopped: their later sentences are dropped. */
  mutedStreams: string[];
}

export type MachineEvent =
  /** Candidate: the user pressed Start / Resume. Observer: begin watching. */
  | { type: "start" }
  | { type: "ticketReady"; gen: number; ticket: string }
  /** `status` is the HTTP status, absent for a network failure. */
  | { type: "ticketFailed"; gen: number; status?: number; random: number }
  | { type: "socketOpen"; gen: number }
  | { type: "socketMessage"; gen: number; msg: ServerMessage }
  | { type: "socketClosed"; gen: number; code: number; reason?: string; random: number }
  | { type: "timer"; id: TimerId; random: number }
  | { type: "online"; random: number }
  | { type: "offline"; random: number }
  | { type: "visible"; random: number }
  | { type: "send"; content: string; clientMsgId: string }
  | { type: "retry"; clientMsgId: string }
  | { type: "end" }
  | { type: "reconnect" }
  /** Observer: the REST transcript, fetched to learn the candidate's words (they are not on the live stream). */
  | { type: "transcriptLoaded"; entries: HistoryEntry[] }
  /** Switch the candidate socket between chat and voice: reconnects on the other endpoint. */
  | { type: "setEndpoint"; endpoint: Endpoint }
  /** One recorded utterance (voice socket): sent as one binary frame. */
  | { type: "sendAudio"; id: string; data: Blob | ArrayBuffer }
  /** The player finished (or skipped) this clip. */
  | { type: "audioDone"; streamId: string; index: number }
  /** "Stop speaking": drop every queued clip and the rest of the turns they belong to. */
  | { type: "stopAudio" }
  | { type: "dispose" };

export type Effect =
  | { kind: "fetchTicket"; gen: number }
  | { kind: "open"; gen: number; url: string }
  | { kind: "send"; msg: ClientMessage }
  | { kind: "sendBinary"; data: Blob | ArrayBuffer }
  | { kind: "close"; code: number; reason: string }
  | { kind: "startTimer"; id: TimerId; ms: number }
  | { kind: "cancelTimer"; id: TimerId }
  | { kind: "fetchTranscript" };

export interface Transition {
  state: MachineState;
  effects: Effect[];
}

// ---------------------------------------------------------------- helpers

export function createInitialState(
  config: Partial<MachineConfig> & Pick<MachineConfig, "interviewId" | "wsBase">,
): MachineState {
  return {
    config: { ...DEFAULT_CONFIG, ...config },
    status: "idle",
    phase: "none",
    gen: 0,
    attempt: 0,
    everSynced: false,
    synced: false,
    gotReconnected: false,
    preSync: [],
    lastSeq: null,
    epoch: null,
    messages: [],
    chunkIndex: {},
    streamingId: null,
    isThinking: false,
    outbox: [],
    pendingEnd: false,
    questionNumber: null,
    totalQuestions: null,
    timeRemainingMin: null,
    interviewStatus: null,
    lastError: null,
    retryableClientMsgId: null,
    closeCode: null,
    finishedMessage: null,
    endpoint: config.endpoint ?? DEFAULT_CONFIG.endpoint,
    pendingVoiceId: null,
    audioQueue: [],
    mutedStreams: [],
  };
}

/** Backoff before reconnect attempt `attempt` (1-based), with jitter from `random` in [0, 1). */
export function backoffDelay(attempt: number, random: number, config: MachineConfig): number {
  const base = config.backoffBaseMs * 2 ** Math.max(0, attempt - 1);
  const r = Math.min(Math.max(random, 0), 1);
  return Math.round(base * (1 - config.jitterRatio + 2 * config.jitterRatio * r));
}

export function interviewSocketUrl(config: MachineConfig, ticket: string, endpoint: Endpoint = "chat"): string {
  const suffix = config.mode === "observer" ? "/observe" : "";
  const path = config.mode === "candidate" && endpoint === "voice" ? "voice" : "interview";
  return `${config.wsBase}/api/v1/ws/${path}/${config.interviewId}${suffix}?token=${encodeURIComponent(ticket)}`;
}

export function isTerminal(state: ConnectionState): boolean {
  return TERMINAL_STATES.has(state);
}

/** Candidate turns still waiting for the server (queued while offline, or sent and not yet accepted). */
export function hasUnconfirmedAnswer(state: MachineState): boolean {
  return state.outbox.length > 0 || state.pendingVoiceId !== null;
}

/** Drop the "…" of a spoken answer that will not be transcribed (refused, or its socket is gone). */
function dropVoicePlaceholder(tx: Tx): void {
  const id = tx.s.pendingVoiceId;
  if (id === null) return;
  tx.s.pendingVoiceId = null;
  tx.fx.push({ kind: "cancelTimer", id: "voice" });
  removeMessage(tx, id);
}

function insertClip(queue: AudioClip[], clip: AudioClip): AudioClip[] {
  if (queue.some((c) => c.streamId === clip.streamId && c.index === clip.index)) return queue;
  const next = [...queue];
  // After the last clip of the same turn with a smaller index; a new turn goes to the end.
  let at = next.length;
  for (let i = next.length - 1; i >= 0; i--) {
    const c = next[i]!;
    if (c.streamId === clip.streamId && c.index > clip.index) at = i;
  }
  next.splice(at, 0, clip);
  return next;
}

const HEARTBEAT_TIMERS: TimerId[] = ["ping", "pongTimeout", "silence"];
const PRE_SYNC_LIMIT = 2000;

/** Mutable working copy for one transition; the input state is never touched. */
interface Tx {
  s: MachineState;
  fx: Effect[];
}

function send(tx: Tx, msg: ClientMessage): void {
  tx.fx.push({ kind: "send", msg });
}

function stopHeartbeat(tx: Tx): void {
  for (const id of HEARTBEAT_TIMERS) tx.fx.push({ kind: "cancelTimer", id });
}

function stopAllTimers(tx: Tx): void {
  stopHeartbeat(tx);
  tx.fx.push({ kind: "cancelTimer", id: "reconnect" });
}

function silenceMs(config: MachineConfig): number {
  return 2 * config.serverHeartbeatIntervalMs;
}

/** Outbox entries sent on a socket that is gone must be sent again on the next one. */
function unsendOutbox(tx: Tx): void {
  if (tx.s.outbox.some((e) => e.sentOnGen !== null)) {
    tx.s.outbox = tx.s.outbox.map((e) => ({ ...e, sentOnGen: null }));
  }
}

function beginConnect(tx: Tx): void {
  const { s } = tx;
  s.gen += 1;
  s.phase = "ticket";
  s.synced = false;
  s.gotReconnected = false;
  s.preSync = [];
  tx.fx.push({ kind: "cancelTimer", id: "reconnect" });
  tx.fx.push({ kind: "fetchTicket", gen: s.gen });
}

/** Start a fresh round of attempts (manual reconnect, `online`, tab visible). */
function beginRetryRound(tx: Tx): void {
  tx.s.attempt = 1;
  tx.s.status = "reconnecting";
  beginConnect(tx);
}

function scheduleRetry(tx: Tx, random: number): void {
  const { s } = tx;
  if (s.attempt >= s.config.maxReconnectAttempts) {
    s.phase = "none";
    s.status = "disconnected";
    return;
  }
  s.attempt += 1;
  s.phase = "backoff";
  s.status = "reconnecting";
  tx.fx.push({ kind: "startTimer", id: "reconnect", ms: backoffDelay(s.attempt, random, s.config) });
}

/** The current socket (or attempt) is lost in a way worth retrying. */
function dropSocket(tx: Tx, random: number): void {
  const { s } = tx;
  stopHeartbeat(tx);
  unsendOutbox(tx);
  // The utterance may or may not have arrived: the snapshot after the reconnect says.
  dropVoicePlaceholder(tx);
  s.gen += 1;
  s.synced = false;
  s.gotReconnected = false;
  s.preSync = [];
  scheduleRetry(tx, random);
}

/** The socket is judged dead by the heartbeat or by the browser going offline: close it and move on at once. */
function killSocket(tx: Tx, random: number, reason: string): void {
  tx.fx.push({ kind: "close", code: CLIENT_DEAD_SOCKET_CLOSE, reason });
  dropSocket(tx, random);
}

function enterTerminal(tx: Tx, status: ConnectionState): void {
  const { s } = tx;
  stopAllTimers(tx);
  unsendOutbox(tx);
  dropVoicePlaceholder(tx);
  s.gen += 1;
  s.phase = "none";
  s.status = status;
  s.synced = false;
  s.pendingEnd = false;
  if (status === "finished") {
    s.streamingId = null;
    s.isThinking = false;
    s.messages = s.messages.map((m) => {
      if (m.streaming) return { ...m, streaming: false };
      if (m.role === "candidate" && m.status === "pending") return { ...m, status: "failed" };
      return m;
    });
    s.outbox = [];
  }
}

function markSynced(tx: Tx): void {
  const { s } = tx;
  s.synced = true;
  s.everSynced = true;
  s.attempt = 0;
  if (s.status === "connecting" || s.status === "reconnecting") s.status = "connected";
}

function upsertMessage(tx: Tx, id: string, update: (prev: ChatMessage | undefined) => ChatMessage): void {
  const { s } = tx;
  const i = s.messages.findIndex((m) => m.id === id);
  if (i === -1) {
    s.messages = [...s.messages, update(undefined)];
  } else {
    const next = s.messages.slice();
    next[i] = update(s.messages[i]);
    s.messages = next;
  }
}

function removeMessage(tx: Tx, id: string): void {
  tx.s.messages = tx.s.messages.filter((m) => m.id !== id);
}

function setCandidateStatus(tx: Tx, clientMsgId: string, status: CandidateMessageStatus, seq?: number): void {
  tx.s.messages = tx.s.messages.map((m) =>
    m.role === "candidate" && m.clientMsgId === clientMsgId
      ? { ...m, status, ...(seq === undefined ? {} : { seq }) }
      : m,
  );
}

function inFlight(s: MachineState): OutboxEntry | undefined {
  return s.outbox.find((e) => e.sentOnGen === s.gen);
}

/** Send what is waiting, one answer at a time and never into a running AI turn. */
function flush(tx: Tx): void {
  const { s } = tx;
  if (s.phase !== "open" || s.config.mode !== "candidate") return;
  if (s.pendingEnd) {
    s.pendingEnd = false;
    send(tx, { type: "end" });
    return;
  }
  if (!s.synced || s.streamingId !== null || s.isThinking || inFlight(s)) return;
  const next = s.outbox.find((e) => e.sentOnGen !== s.gen);
  if (!next) return;
  s.outbox = s.outbox.map((e) => (e === next ? { ...e, sentOnGen: s.gen } : e));
  send(tx, { type: "message", content: next.content, client_msg_id: next.clientMsgId });
}

function setProgress(
  tx: Tx,
  p: { question_number: number; total_questions: number; time_remaining_min: number },
): void {
  tx.s.questionNumber = p.question_number;
  tx.s.totalQuestions = p.total_questions;
  tx.s.timeRemainingMin = p.time_remaining_min;
}

function historyToMessage(h: HistoryEntry): ChatMessage {
  if (h.role === "ai") {
    const id = h.stream_id ?? `h${h.id}`;
    return {
      id,
      role: "ai",
      content: h.content,
      streaming: false,
      status: "sent",
      seq: h.seq,
      ...(h.stream_id ? { streamId: h.stream_id } : {}),
    };
  }
  return {
    id: h.client_msg_id ?? `h${h.id}`,
    role: "candidate",
    content: h.content,
    streaming: false,
    status: "sent",
    seq: h.seq,
    ...(h.client_msg_id ? { clientMsgId: h.client_msg_id } : {}),
  };
}

// ---------------------------------------------------------------- server messages

function applyReconnected(tx: Tx, msg: ReconnectedEvent): void {
  const { s } = tx;
  const epochChanged = s.epoch !== null && s.epoch !== msg.epoch;
  s.epoch = msg.epoch;
  // The server's last_seq rules (ours is only a hint); after an epoch change ours means nothing.
  s.lastSeq = msg.last_seq;
  if (epochChanged) s.chunkIndex = {};

  const history = msg.conversation_history.map(historyToMessage);
  const confirmed = new Set(
    msg.conversation_history.flatMap((h) => (h.role === "candidate" && h.client_msg_id ? [h.client_msg_id] : [])),
  );
  s.outbox = s.outbox.filter((e) => !confirmed.has(e.clientMsgId));

  const messages = [...history];
  s.pendingVoiceId = null; // a spoken answer that arrived is in the history; one that did not is lost
  const pending = msg.pending_stream;
  if (pending) {
    s.chunkIndex = { ...s.chunkIndex, [pending.stream_id]: pending.chunk_index };
    const pendingMsg: ChatMessage = {
      id: pending.stream_id,
      role: "ai",
      content: pending.content,
      streaming: true,
      status: "sent",
      streamId: pending.stream_id,
      kind: pending.kind,
    };
    const i = messages.findIndex((m) => m.id === pending.stream_id);
    if (i === -1) messages.push(pendingMsg);
    else messages[i] = pendingMsg;
    s.streamingId = pending.stream_id;
  } else {
    s.streamingId = null;
  }
  // Answers the server has not got yet stay on screen (and in the outbox); refused ones stay for a retry.
  const waiting = new Set(s.outbox.map((e) => e.clientMsgId));
  for (const m of s.messages) {
    if (m.role !== "candidate" || !m.clientMsgId || confirmed.has(m.clientMsgId)) continue;
    if (waiting.has(m.clientMsgId)) messages.push({ ...m, status: "pending" });
    else if (m.status === "failed") messages.push(m);
  }
  s.messages = messages;
  // An answer saved after the snapshot point: its `thinking` and the reply's events follow.
  const lastEntry = msg.conversation_history[msg.conversation_history.length - 1];
  s.isThinking = !pending && lastEntry?.role === "candidate" && lastEntry.seq > msg.last_seq;
  if (s.retryableClientMsgId) {
    // The retry offer stands only while that answer is still the last word and no reply is coming.
    const last = history[history.length - 1];
    if (pending || !last || last.clientMsgId !== s.retryableClientMsgId) s.retryableClientMsgId = null;
  }
  setProgress(tx, msg);
  s.interviewStatus = msg.status;
  s.gotReconnected = true;

  if (msg.status === "completed") {
    enterTerminal(tx, "finished");
    return;
  }
  if (msg.status === "cancelled" || msg.status === "expired") {
    enterTerminal(tx, "invalid_state");
    return;
  }
  markSynced(tx);
  const replay = s.preSync;
  s.preSync = [];
  for (const ev of replay) handleConversationEvent(tx, ev);
  flush(tx);
}

function applyError(tx: Tx, msg: ErrorEvent): void {
  const { s } = tx;
  s.lastError = { code: msg.code, content: msg.content };
  switch (msg.code) {
    case ErrorCode.AI_UNAVAILABLE: {
      if (s.endpoint === "voice" && !msg.stream_id) {
        if (s.pendingVoiceId !== null) {
          // Speech-to-text failed: nothing was saved; the candidate records again (or types).
          dropVoicePlaceholder(tx);
          flush(tx);
          return;
        }
        if (s.streamingId !== null || !s.isThinking) {
          // The voice failed (docs/voice.md): the text turn stands and finishes; it is just not spoken.
          return;
        }
      }
      const streamId = msg.stream_id ?? s.streamingId;
      if (streamId) {
        removeMessage(tx, streamId);
        const { [streamId]: _dropped, ...rest } = s.chunkIndex;
        s.chunkIndex = rest;
        if (s.streamingId === streamId) s.streamingId = null;
      }
      s.isThinking = false;
      const lastCandidate = [...s.messages].reverse().find((m) => m.role === "candidate");
      s.retryableClientMsgId = lastCandidate?.clientMsgId ?? null;
      flush(tx);
      return;
    }
    case ErrorCode.TURN_IN_PROGRESS:
    case ErrorCode.RATE_LIMITED:
    case ErrorCode.INVALID_MESSAGE: {
      // The answer in flight was refused: show it as not sent, with a retry.
      if (s.pendingVoiceId !== null) {
        dropVoicePlaceholder(tx); // empty, silent or undecodable audio: nothing saved
        return;
      }
      const entry = inFlight(s);
      if (entry) {
        s.outbox = s.outbox.filter((e) => e !== entry);
        setCandidateStatus(tx, entry.clientMsgId, "failed");
      }
      flush(tx);
      return;
    }
    default:
      return;
  }
}

/** An AI turn already complete on screen (from history or its `stream_end`). */
function isFinishedTurn(s: MachineState, streamId: string): boolean {
  return s.messages.some((m) => m.id === streamId && m.role === "ai" && !m.streaming);
}

/** Events that belong to the conversation (they carry `seq`). */
function handleConversationEvent(tx: Tx, msg: ServerMessage): void {
  const { s } = tx;
  const seq = seqOf(msg);
  if (seq !== null) {
    if (s.lastSeq !== null && seq <= s.lastSeq) return;
    s.lastSeq = seq;
  }
  switch (msg.type) {
    case "thinking": {
      s.isThinking = true;
      s.lastError = null;
      s.retryableClientMsgId = null;
      // The live event of an answer already in the snapshot's history: nothing to confirm.
      if (s.messages.some((m) => m.role === "candidate" && m.seq === msg.seq)) return;
      const entry = inFlight(s);
      if (entry) {
        s.outbox = s.outbox.filter((e) => e !== entry);
        setCandidateStatus(tx, entry.clientMsgId, "sent", msg.seq);
      } else if (s.config.mode === "observer") {
        tx.fx.push({ kind: "fetchTranscript" });
      }
      return;
    }
    case "stream_start": {
      s.isThinking = false;
      if (isFinishedTurn(s, msg.stream_id)) return; // replay of a turn the snapshot already holds
      s.streamingId = msg.stream_id;
      if (s.chunkIndex[msg.stream_id] === undefined) s.chunkIndex = { ...s.chunkIndex, [msg.stream_id]: -1 };
      upsertMessage(tx, msg.stream_id, (prev) => ({
        id: msg.stream_id,
        role: "ai",
        content: prev?.content ?? "",
        streaming: true,
        status: "sent",
        streamId: msg.stream_id,
        kind: msg.kind,
      }));
      return;
    }
    case "stream_chunk": {
      const known = s.chunkIndex[msg.stream_id] ?? -1;
      if (msg.chunk_index <= known || isFinishedTurn(s, msg.stream_id)) return;
      s.chunkIndex = { ...s.chunkIndex, [msg.stream_id]: msg.chunk_index };
      s.isThinking = false;
      s.streamingId = msg.stream_id;
      upsertMessage(tx, msg.stream_id, (prev) => ({
        id: msg.stream_id,
        role: "ai",
        content: (prev?.content ?? "") + msg.content,
        streaming: true,
        status: "sent",
        streamId: msg.stream_id,
        ...(prev?.kind ? { kind: prev.kind } : {}),
      }));
      return;
    }
    case "stream_end": {
      const { [msg.stream_id]: _done, ...rest } = s.chunkIndex;
      s.chunkIndex = rest;
      if (s.streamingId === msg.stream_id) s.streamingId = null;
      s.isThinking = false;
      upsertMessage(tx, msg.stream_id, (prev) => ({
        id: msg.stream_id,
        role: "ai",
        content: msg.content,
        streaming: false,
        status: "sent",
        streamId: msg.stream_id,
        seq: msg.seq,
        ...(prev?.kind ? { kind: prev.kind } : {}),
      }));
      setProgress(tx, msg);
      flush(tx);
      return;
    }
    case "greeting":
    case "response": {
      s.isThinking = false;
      upsertMessage(tx, `s${msg.seq}`, () => ({
        id: `s${msg.seq}`,
        role: "ai",
        content: msg.content,
        streaming: false,
        status: "sent",
        seq: msg.seq,
        kind: msg.type,
      }));
      setProgress(tx, msg);
      flush(tx);
      return;
    }
    case "transcription": {
      // The id a history entry of this answer will have (its client_msg_id), so a snapshot replaces it.
      const id = msg.client_msg_id ?? `s${msg.seq}`;
      const words: ChatMessage = {
        id,
        role: "candidate",
        content: msg.content,
        streaming: false,
        status: "sent",
        seq: msg.seq,
        voice: true,
        ...(msg.client_msg_id ? { clientMsgId: msg.client_msg_id } : {}),
      };
      if (s.messages.some((m) => m.id === id || (m.role === "candidate" && m.seq === msg.seq))) {
        dropVoicePlaceholder(tx); // these words are on screen already (the same utterance again)
        return;
      }
      const placeholder = s.pendingVoiceId;
      s.pendingVoiceId = null;
      if (placeholder !== null) tx.fx.push({ kind: "cancelTimer", id: "voice" });
      const i = placeholder === null ? -1 : s.messages.findIndex((m) => m.id === placeholder);
      if (i === -1) {
        s.messages = [...s.messages, words];
      } else {
        const next = s.messages.slice();
        next[i] = words;
        s.messages = next;
      }
      s.lastError = null;
      return;
    }
    case "audio": {
      if (s.mutedStreams.includes(msg.stream_id)) return;
      s.audioQueue = insertClip(s.audioQueue, {
        streamId: msg.stream_id,
        index: msg.index,
        last: msg.last,
        format: msg.format,
        text: msg.text,
        data: msg.data,
        seq: msg.seq,
      });
      return;
    }
    case "complete":
    case "ended": {
      s.finishedMessage = msg.content;
      s.interviewStatus = "completed";
      enterTerminal(tx, "finished");
      return;
    }
    case "error":
      applyError(tx, msg);
      return;
    case "reconnected":
    case "ping":
    case "pong":
      return;
  }
}

function onServerMessage(tx: Tx, msg: ServerMessage): void {
  const { s } = tx;
  // Any frame from the server proves the socket alive.
  tx.fx.push({ kind: "startTimer", id: "silence", ms: silenceMs(s.config) });
  switch (msg.type) {
    case "ping":
      send(tx, { type: "pong" });
      return;
    case "pong":
      tx.fx.push({ kind: "cancelTimer", id: "pongTimeout" });
      return;
    case "reconnected":
      applyReconnected(tx, msg);
      return;
    default:
      break;
  }
  const seq = seqOf(msg);
  if (seq !== null && !s.gotReconnected && !s.synced) {
    // Live events may arrive before this socket's `reconnected`: keep them to replay on top of it.
    if (s.preSync.length < PRE_SYNC_LIMIT) s.preSync = [...s.preSync, msg];
    if (s.everSynced && !s.synced) return; // a `reconnect` is outstanding: wait for the snapshot
    if (!s.synced) markSynced(tx); // first answer to `start`
  }
  handleConversationEvent(tx, msg);
}

// ---------------------------------------------------------------- the reducer

export function reduce(state: MachineState, event: MachineEvent): Transition {
  const tx: Tx = { s: { ...state }, fx: [] };
  const { s } = tx;

  switch (event.type) {
    case "start": {
      if (s.status !== "idle") break;
      s.status = "connecting";
      s.attempt = 0;
      beginConnect(tx);
      break;
    }

    case "ticketReady": {
      if (event.gen !== s.gen || s.phase !== "ticket") break;
      s.phase = "opening";
      tx.fx.push({ kind: "open", gen: s.gen, url: interviewSocketUrl(s.config, event.ticket, s.endpoint) });
      // A handshake that never completes counts as silence too.
      tx.fx.push({ kind: "startTimer", id: "silence", ms: silenceMs(s.config) });
      break;
    }

    case "ticketFailed": {
      if (event.gen !== s.gen || s.phase !== "ticket") break;
      if (event.status === 401) enterTerminal(tx, "unauthorized");
      else if (event.status === 403) enterTerminal(tx, "forbidden");
      else if (event.status === 404) enterTerminal(tx, "not_found");
      else if (event.status === 409) enterTerminal(tx, "invalid_state");
      else {
        s.gen += 1;
        s.phase = "none";
        scheduleRetry(tx, event.random);
      }
      break;
    }

    case "socketOpen": {
      if (event.gen !== s.gen || s.phase !== "opening") break;
      s.phase = "open";
      s.closeCode = null;
      tx.fx.push({ kind: "startTimer", id: "ping", ms: s.config.pingIntervalMs });
      tx.fx.push({ kind: "startTimer", id: "silence", ms: silenceMs(s.config) });
      if (s.config.mode === "observer") break; // the server sends `reconnected` by itself
      if (s.everSynced) {
        send(tx, s.lastSeq === null ? { type: "reconnect" } : { type: "reconnect", last_seq: s.lastSeq });
      } else {
        // `start` is idempotent: on a running interview it is answered like `reconnect`.
        send(tx, { type: "start" });
        s.status = "connected";
      }
      if (s.pendingEnd) flush(tx); // an `end` asked for while offline goes out now
      break;
    }

    case "socketMessage": {
      if (event.gen !== s.gen || s.phase !== "open") break;
      onServerMessage(tx, event.msg);
      break;
    }

    case "socketClosed": {
      if (event.gen !== s.gen || (s.phase !== "open" && s.phase !== "opening")) break;
      s.closeCode = event.code;
      switch (event.code) {
        case CloseCode.REPLACED:
          enterTerminal(tx, "replaced");
          break;
        case CloseCode.UNAUTHORIZED:
          enterTerminal(tx, "unauthorized");
          break;
        case CloseCode.NOT_FOUND:
          enterTerminal(tx, "not_found");
          break;
        case CloseCode.INVALID_STATE:
          enterTerminal(tx, "invalid_state");
          break;
        case CloseCode.ACCESS_DENIED:
          enterTerminal(tx, "forbidden");
          break;
        default:
          if (isRetryableClose(event.code)) {
            dropSocket(tx, event.random);
          } else {
            stopAllTimers(tx);
            unsendOutbox(tx);
            s.gen += 1;
            s.phase = "none";
            s.synced = false;
            s.status = "closed";
          }
      }
      break;
    }

    case "timer": {
      switch (event.id) {
        case "reconnect":
          if (s.phase === "backoff") beginConnect(tx);
          break;
        case "ping":
          if (s.phase !== "open") break;
          send(tx, { type: "ping" });
          tx.fx.push({ kind: "startTimer", id: "pongTimeout", ms: s.config.pongTimeoutMs });
          tx.fx.push({ kind: "startTimer", id: "ping", ms: s.config.pingIntervalMs });
          break;
        case "pongTimeout":
          if (s.phase === "open") killSocket(tx, event.random, "no pong");
          break;
        case "silence":
          if (s.phase === "open" || s.phase === "opening") killSocket(tx, event.random, "server silent");
          break;
        case "voice":
          if (s.pendingVoiceId !== null) {
            dropVoicePlaceholder(tx);
            s.lastError = { code: "VOICE_TIMEOUT", content: "Your spoken answer got no response. Please say it again or type it." };
          }
          break;
      }
      break;
    }

    case "online":
    case "visible":
    case "reconnect": {
      if (s.status === "disconnected" || (event.type === "reconnect" && (s.status === "closed" || s.status === "replaced"))) {
        beginRetryRound(tx);
      } else if (s.phase === "backoff") {
        beginConnect(tx); // skip the rest of the wait
      }
      break;
    }

    case "offline": {
      if (s.phase === "open" || s.phase === "opening") killSocket(tx, event.random, "browser offline");
      break;
    }

    case "send": {
      const content = event.content.trim();
      if (!content || s.config.mode !== "candidate") break;
      if (s.status === "idle" || isTerminal(s.status)) break;
      if (s.messages.some((m) => m.clientMsgId === event.clientMsgId)) break;
      s.messages = [
        ...s.messages,
        {
          id: event.clientMsgId,
          role: "candidate",
          content,
          streaming: false,
          status: "pending",
          clientMsgId: event.clientMsgId,
        },
      ];
      s.outbox = [...s.outbox, { clientMsgId: event.clientMsgId, content, sentOnGen: null }];
      s.lastError = null;
      s.retryableClientMsgId = null;
      flush(tx);
      break;
    }

    case "retry": {
      if (s.config.mode !== "candidate" || s.status === "idle" || isTerminal(s.status)) break;
      const msg = s.messages.find((m) => m.role === "candidate" && m.clientMsgId === event.clientMsgId);
      if (!msg || s.outbox.some((e) => e.clientMsgId === event.clientMsgId)) break;
      if (msg.status !== "failed" && s.retryableClientMsgId !== event.clientMsgId) break;
      setCandidateStatus(tx, event.clientMsgId, "pending");
      s.outbox = [...s.outbox, { clientMsgId: event.clientMsgId, content: msg.content, sentOnGen: null }];
      s.retryableClientMsgId = null;
      s.lastError = null;
      flush(tx);
      break;
    }

    case "end": {
      if (s.config.mode !== "candidate" || s.status === "idle" || isTerminal(s.status)) break;
      s.pendingEnd = true;
      flush(tx);
      break;
    }

    case "transcriptLoaded": {
      const entries = event.entries.map(historyToMessage);
      const seqs = new Set(event.entries.map((e) => e.seq));
      const maxSeq = event.entries.reduce((m, e) => Math.max(m, e.seq), -Infinity);
      // Keep what the transcript does not hold yet: the turn streaming now, and turns newer than it.
      const live = s.messages.filter((m) => m.seq === undefined || (!seqs.has(m.seq) && m.seq > maxSeq));
      s.messages = [...entries, ...live];
      break;
    }

    case "setEndpoint": {
      if (s.config.mode !== "candidate" || s.endpoint === event.endpoint) break;
      s.endpoint = event.endpoint;
      if (isTerminal(s.status) || s.status === "idle") break;
      if (s.phase === "open" || s.phase === "opening" || s.phase === "ticket") {
        // One candidate socket per interview: leave this one and catch up on the other with
        // `reconnect`/last_seq (or `start` when nothing was acknowledged yet).
        if (s.phase !== "ticket") tx.fx.push({ kind: "close", code: CloseCode.NORMAL, reason: "switching endpoint" });
        stopHeartbeat(tx);
        unsendOutbox(tx);
        dropVoicePlaceholder(tx);
        beginConnect(tx);
      } else if (s.phase === "backoff") {
        beginConnect(tx);
      }
      break;
    }

    case "sendAudio": {
      if (s.config.mode !== "candidate" || s.endpoint !== "voice") break;
      if (s.phase !== "open" || !s.synced || isTerminal(s.status)) break;
      if (s.streamingId !== null || s.isThinking || inFlight(s) || s.pendingVoiceId !== null) break;
      s.pendingVoiceId = event.id;
      s.messages = [
        ...s.messages,
        { id: event.id, role: "candidate", content: "…", streaming: false, status: "pending", voice: true },
      ];
      s.lastError = null;
      s.retryableClientMsgId = null;
      tx.fx.push({ kind: "sendBinary", data: event.data });
      tx.fx.push({ kind: "startTimer", id: "voice", ms: VOICE_ANSWER_TIMEOUT_MS });
      break;
    }

    case "audioDone": {
      s.audioQueue = s.audioQueue.filter((c) => !(c.streamId === event.streamId && c.index === event.index));
      break;
    }

    case "stopAudio": {
      const streams = new Set(s.audioQueue.map((c) => c.streamId));
      if (s.streamingId) streams.add(s.streamingId);
      // A turn whose last sentence has not arrived yet keeps speaking unless it is muted too.
      const muted = [...s.mutedStreams, ...[...streams].filter((id) => !s.mutedStreams.includes(id))];
      s.mutedStreams = muted.slice(-50);
      s.audioQueue = [];
      break;
    }

    case "dispose": {
      stopAllTimers(tx);
      if (s.phase === "open" || s.phase === "opening") tx.fx.push({ kind: "close", code: CloseCode.NORMAL, reason: "closed" });
      s.gen += 1;
      s.phase = "none";
      break;
    }
  }
  return { state: tx.s, effects: tx.fx };
}
