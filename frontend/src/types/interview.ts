/**
 * The interview WebSocket protocol, v1: a mirror of shared/PROTOCOL.md.
 * Server and client must agree on these shapes exactly; change both together.
 */

export type InterviewStatus = "scheduled" | "in_progress" | "completed" | "cancelled" | "expired";
export type StreamKind = "greeting" | "response" | "closing";
export type TranscriptRole = "ai" | "candidate";

// ---------------------------------------------------------------- close codes

export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  ABNORMAL: 1006,
  MESSAGE_TOO_BIG: 1009,
  SERVER_ERROR: 1011,
  SERVICE_RESTART: 1012,
  TRY_AGAIN_LATER: 1013,
  UNAUTHORIZED: 4001,
  NOT_FOUND: 4002,
  INVALID_STATE: 4003,
  ACCESS_DENIED: 4004,
  HEARTBEAT_TIMEOUT: 4008,
  REPLACED: 4009,
} as const;
export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

/** Close codes after which the client reconnects by itself (PROTOCOL.md, "Handshake and close codes"). */
export const RETRYABLE_CLOSE_CODES: ReadonlySet<number> = new Set<number>([
  CloseCode.GOING_AWAY,
  CloseCode.ABNORMAL,
  CloseCode.SERVER_ERROR,
  CloseCode.SERVICE_RESTART,
  CloseCode.TRY_AGAIN_LATER,
  CloseCode.HEARTBEAT_TIMEOUT,
]);

export function isRetryableClose(code: number): boolean {
  return RETRYABLE_CLOSE_CODES.has(code);
}

/** Code the client uses when it closes a socket it has judged dead (4000-4999 is free for applications). */
export const CLIENT_DEAD_SOCKET_CLOSE = 4000;

// ---------------------------------------------------------------- error codes

export const ErrorCode = {
  AUTH_FAILED: "AUTH_FAILED",
  SESSION_EXPIRED: "SESSION_EXPIRED",
  INTERVIEW_NOT_FOUND: "INTERVIEW_NOT_FOUND",
  INTERVIEW_INVALID_STATE: "INTERVIEW_INVALID_STATE",
  ACCESS_DENIED: "ACCESS_DENIED",
  RATE_LIMITED: "RATE_LIMITED",
  INTERNAL_ERROR: "INTERNAL_ERROR",
  INVALID_MESSAGE: "INVALID_MESSAGE",
  TURN_IN_PROGRESS: "TURN_IN_PROGRESS",
  AI_UNAVAILABLE: "AI_UNAVAILABLE",
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

// ---------------------------------------------------------------- client → server

export interface StartMessage {
  type: "start";
}
export interface AnswerMessage {
  type: "message";
  content: string;
  client_msg_id?: string;
}
export interface EndMessage {
  type: "end";
}
export interface ClientPingMessage {
  type: "ping";
}
export interface ClientPongMessage {
  type: "pong";
}
export interface ReconnectMessage {
  type: "reconnect";
  last_seq?: number;
}
/** Voice socket only. */
export interface AudioUploadMessage {
  type: "audio";
  format: string;
  data: string;
  client_msg_id?: string;
}

export type ClientMessage =
  | StartMessage
  | AnswerMessage
  | EndMessage
  | ClientPingMessage
  | ClientPongMessage
  | ReconnectMessage
  | AudioUploadMessage;

// ---------------------------------------------------------------- server → client

interface Sequenced {
  seq: number;
}

interface TurnProgress {
  question_number: number;
  total_questions: number;
  time_remaining_min: number;
}

export interface ThinkingEvent extends Sequenced {
  type: "thinking";
}
export interface StreamStartEvent extends Sequenced {
  type: "stream_start";
  stream_id: string;
  kind: StreamKind;
}
export interface StreamChunkEvent extends Sequenced {
  type: "stream_chunk";
  stream_id: string;
  chunk_index: number;
  content: string;
}
export interface StreamEndEvent extends Sequenced, TurnProgress {
  type: "stream_end";
  stream_id: string;
  content: string;
  is_complete: boolean;
}
/** Non-streaming fallback (`stream=false`). */
export interface GreetingEvent extends Sequenced, TurnProgress {
  type: "greeting";
  content: string;
}
/** Non-streaming fallback (`stream=false`). */
export interface ResponseEvent extends Sequenced, TurnProgress {
  type: "response";
  content: string;
}
export interface CompleteEvent extends Sequenced {
  type: "complete";
  content: string;
}
export interface EndedEvent extends Sequenced {
  type: "ended";
  content: string;
}
export interface TranscriptionEvent extends Sequenced {
  type: "transcription";
  content: string;
  /** The utterance's id: the client's, or `audio-<sha256>` for a binary frame. */
  client_msg_id?: string | null;
}
/** One spoken sentence of the AI turn `stream_id` (voice socket, docs/voice.md). */
export interface AudioEvent extends Sequenced {
  type: "audio";
  stream_id: string;
  /** From 0 within the turn. */
  index: number;
  /** True on the turn's final sentence. */
  last: boolean;
  /** `mp3`, `opus` (ogg/opus) or `wav`. */
  format: string;
  /** The sentence spoken. */
  text: string;
  /** base64 */
  data: string;
}

export interface HistoryEntry {
  id: number;
  seq: number;
  role: TranscriptRole;
  content: string;
  created_at: string;
  client_msg_id?: string | null;
  /** AI turns: the stream that produced it (when the server includes it). */
  stream_id?: string | null;
}

export interface PendingStream {
  stream_id: string;
  kind: StreamKind;
  content: string;
  /** −1 before the first piece. */
  chunk_index: number;
}

export interface ReconnectedEvent {
  type: "reconnected";
  status: InterviewStatus;
  conversation_history: HistoryEntry[];
  current_question: number;
  question_number: number;
  total_questions: number;
  time_remaining_min: number;
  pending_stream: PendingStream | null;
  last_seq: number;
  epoch: string;
}

export interface ServerPingEvent {
  type: "ping";
}
export interface ServerPongEvent {
  type: "pong";
}
export interface ErrorEvent {
  type: "error";
  code: ErrorCodeValue;
  content: string;
  /** AI_UNAVAILABLE: the stream whose partial text must be dropped. */
  stream_id?: string | null;
  seq?: number;
}

export type SequencedServerEvent =
  | ThinkingEvent
  | StreamStartEvent
  | StreamChunkEvent
  | StreamEndEvent
  | GreetingEvent
  | ResponseEvent
  | CompleteEvent
  | EndedEvent
  | TranscriptionEvent
  | AudioEvent;

export type ServerMessage = SequencedServerEvent | ReconnectedEvent | ServerPingEvent | ServerPongEvent | ErrorEvent;
export type ServerMessageType = ServerMessage["type"];

const SERVER_TYPES: ReadonlySet<string> = new Set<ServerMessageType>([
  "thinking",
  "stream_start",
  "stream_chunk",
  "stream_end",
  "greeting",
  "response",
  "complete",
  "ended",
  "transcription",
  "audio",
  "reconnected",
  "ping",
  "pong",
  "error",
]);

/**
 * Parse one text frame from the server. Returns null for anything that is not a
 * JSON object with a known `type`, so a bad frame can never crash the room.
 */
export function parseServerMessage(data: unknown): ServerMessage | null {
  if (typeof data !== "string") return null;
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const type = (value as { type?: unknown }).type;
  if (typeof type !== "string" || !SERVER_TYPES.has(type)) return null;
  return value as ServerMessage;
}

/** The event's `seq`, or null for messages outside the conversation (ping, pong, most errors, reconnected). */
export function seqOf(msg: ServerMessage): number | null {
  if (msg.type === "reconnected") return null;
  const seq = (msg as { seq?: unknown }).seq;
  return typeof seq === "number" && Number.isFinite(seq) ? seq : null;
}
