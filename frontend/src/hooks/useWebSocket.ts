/**
 * The interview socket for React: a thin runner around the pure `connectionMachine`.
 * Everything that decides lives in the machine; this file only performs its effects
 * (tickets over fetch, a real WebSocket, setTimeout, browser online/visibility events).
 */
import { useCallback, useEffect, useMemo, useState, useSyncExternalStore } from "react";
import { api, ApiError } from "../api/client";
import { parseServerMessage, type HistoryEntry } from "../types/interview";
import {
  createInitialState,
  hasUnconfirmedAnswer,
  reduce,
  type AudioClip,
  type ChatMessage,
  type Endpoint,
  type ConnectionState,
  type Effect,
  type MachineConfig,
  type MachineEvent,
  type MachineState,
  type TimerId,
} from "./connectionMachine";

export type { AudioClip, ChatMessage, ConnectionState, Endpoint } from "./connectionMachine";

export interface InterviewSocketOptions {
  interviewId: number | string;
  /** `observer`: HR's read-only live view over `/observe`. Default `candidate`. */
  mode?: "candidate" | "observer";
  /** Candidates: the socket to start on (`voice`: /ws/voice); `setEndpoint` switches later. Default `chat`. */
  endpoint?: Endpoint;
  /** Connect at once (observer; or a candidate resuming an interview already in progress). */
  autoStart?: boolean;
  /** `ws://host` / `wss://host`; defaults to this page's origin. */
  wsBase?: string;
  /** Override reconnect/heartbeat timings (tests). */
  config?: Partial<Omit<MachineConfig, "interviewId" | "wsBase" | "mode">>;
  /** Where a fresh single-use ticket comes from; default POST /api/v1/auth/ws-ticket. */
  fetchTicket?: (interviewId: number | string, signal: AbortSignal) => Promise<string>;
  /** Observer only: the saved turns (the candidate's words are not on the live stream). */
  fetchTranscript?: (interviewId: number | string) => Promise<HistoryEntry[]>;
  /** Random numbers for backoff jitter; default Math.random. */
  random?: () => number;
}

const TICKET_TIMEOUT_MS = 10_000;

export function defaultWsBase(): string {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}`;
}

/** A client_msg_id; crypto.randomUUID exists only on secure origins, getRandomValues everywhere. */
export function newClientMsgId(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const defaultFetchTicket = async (id: number | string, signal: AbortSignal): Promise<string> =>
  (await api.wsTicket(id, signal)).ticket;

const defaultFetchTranscript = async (id: number | string): Promise<HistoryEntry[]> =>
  (await api.transcript(id)).map((t) => ({ ...t }));

/**
 * Runs the machine's effects. Constructing it touches nothing; `attach()` starts listening to
 * the browser (and connects when asked), `detach()` closes everything and forgets the state, so
 * React's StrictMode mount → unmount → mount cycle just starts over.
 */
export class InterviewConnection {
  private state: MachineState;
  private readonly initial: MachineState;
  private readonly listeners = new Set<() => void>();
  private socket: WebSocket | null = null;
  private readonly timers = new Map<TimerId, ReturnType<typeof setTimeout>>();
  private ticketAbort: AbortController | null = null;
  private readonly queue: MachineEvent[] = [];
  private running = false;
  private attached = false;
  private readonly opts: InterviewSocketOptions;
  private readonly random: () => number;

  constructor(opts: InterviewSocketOptions) {
    this.opts = opts;
    this.random = opts.random ?? Math.random;
    this.initial = createInitialState({
      ...opts.config,
      interviewId: opts.interviewId,
      wsBase: opts.wsBase ?? defaultWsBase(),
      mode: opts.mode ?? "candidate",
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    });
    this.state = this.initial;
  }

  private readonly onOnline = () => this.dispatch({ type: "online", random: this.random() });
  private readonly onOffline = () => this.dispatch({ type: "offline", random: this.random() });
  private readonly onVisibility = () => {
    if (document.visibilityState === "visible") this.dispatch({ type: "visible", random: this.random() });
  };

  attach(autoStart = false): void {
    if (this.attached) return;
    this.attached = true;
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
    document.addEventListener("visibilitychange", this.onVisibility);
    if (autoStart) this.dispatch({ type: "start" });
  }

  detach(): void {
    if (!this.attached) return;
    this.dispatch({ type: "dispose" });
    this.attached = false;
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    document.removeEventListener("visibilitychange", this.onVisibility);
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.ticketAbort?.abort();
    this.ticketAbort = null;
    this.dropSocket(1000, "closed");
    // Start over, but never reuse a generation: late answers to this round must stay ignored.
    this.state = { ...this.initial, gen: this.state.gen + 1 };
    for (const l of this.listeners) l();
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly getState = (): MachineState => this.state;

  /** Feed one event to the machine; events raised while effects run are queued, never nested. */
  dispatch(event: MachineEvent): void {
    if (!this.attached) return;
    this.queue.push(event);
    if (this.running) return;
    this.running = true;
    const before = this.state;
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) {
        const { state, effects } = reduce(this.state, next);
        this.state = state;
        for (const fx of effects) this.perform(fx);
      }
    } finally {
      this.running = false;
    }
    if (this.state !== before) for (const l of this.listeners) l();
  }

  private perform(fx: Effect): void {
    switch (fx.kind) {
      case "fetchTicket":
        this.fetchTicket(fx.gen);
        return;
      case "open":
        this.open(fx.gen, fx.url);
        return;
      case "send":
        if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(fx.msg));
        return;
      case "sendBinary":
        if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(fx.data);
        return;
      case "close":
        this.dropSocket(fx.code, fx.reason);
        return;
      case "startTimer": {
        const old = this.timers.get(fx.id);
        if (old !== undefined) clearTimeout(old);
        this.timers.set(
          fx.id,
          setTimeout(() => {
            this.timers.delete(fx.id);
            this.dispatch({ type: "timer", id: fx.id, random: this.random() });
          }, fx.ms),
        );
        return;
      }
      case "cancelTimer": {
        const t = this.timers.get(fx.id);
        if (t !== undefined) clearTimeout(t);
        this.timers.delete(fx.id);
        return;
      }
      case "fetchTranscript":
        (this.opts.fetchTranscript ?? defaultFetchTranscript)(this.opts.interviewId).then(
          (entries) => this.dispatch({ type: "transcriptLoaded", entries }),
          () => undefined, // the live view simply shows less until the next turn
        );
        return;
    }
  }

  private fetchTicket(gen: number): void {
    this.ticketAbort?.abort();
    const ac = new AbortController();
    this.ticketAbort = ac;
    const timeout = setTimeout(() => ac.abort(), TICKET_TIMEOUT_MS);
    (this.opts.fetchTicket ?? defaultFetchTicket)(this.opts.interviewId, ac.signal)
      .then(
        (ticket) => this.dispatch({ type: "ticketReady", gen, ticket }),
        (err: unknown) =>
          this.dispatch({
            type: "ticketFailed",
            gen,
            random: this.random(),
            ...(err instanceof ApiError ? { status: err.status } : {}),
          }),
      )
      .finally(() => clearTimeout(timeout));
  }

  private open(gen: number, url: string): void {
    this.dropSocket(1000, "replaced by a new connection");
    let ws: WebSocket;
    try {
      ws = new WebSocket(url);
    } catch {
      this.dispatch({ type: "socketClosed", gen, code: 1006, random: this.random() });
      return;
    }
    this.socket = ws;
    ws.onopen = () => this.dispatch({ type: "socketOpen", gen });
    ws.onmessage = (e: MessageEvent) => {
      const msg = parseServerMessage(e.data);
      if (msg) this.dispatch({ type: "socketMessage", gen, msg });
    };
    ws.onclose = (e: CloseEvent) => {
      if (this.socket === ws) this.socket = null;
      this.dispatch({ type: "socketClosed", gen, code: e.code, reason: e.reason, random: this.random() });
    };
    ws.onerror = () => undefined; // a close event always follows
  }

  /** Close the current socket and stop listening to it (the machine has already moved on). */
  private dropSocket(code: number, reason: string): void {
    const ws = this.socket;
    if (!ws) return;
    this.socket = null;
    ws.onopen = null;
    ws.onmessage = null;
    ws.onclose = null;
    ws.onerror = null;
    if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) {
      try {
        ws.close(code, reason);
      } catch {
        ws.close();
      }
    }
  }
}

export interface InterviewSocket {
  connectionState: ConnectionState;
  /** The reconnect try under way (1-based), 0 while connected. */
  reconnectAttempt: number;
  maxReconnectAttempts: number;
  isThinking: boolean;
  isStreaming: boolean;
  messages: ChatMessage[];
  questionNumber: number | null;
  totalQuestions: number | null;
  timeRemainingMin: number | null;
  /** An answer is waiting to be accepted by the server (queued while offline, or in flight). */
  hasPendingAnswer: boolean;
  lastError: { code: string; content: string } | null;
  /** After AI_UNAVAILABLE: the answer that can be sent again. */
  retryableClientMsgId: string | null;
  closeCode: number | null;
  finishedMessage: string | null;
  /** Send an answer; returns its client_msg_id (null when empty). Queued while disconnected. */
  send: (content: string) => string | null;
  end: () => void;
  reconnect: () => void;
  start: () => void;
  retry: (clientMsgId: string) => void;
  /** The candidate socket in use: chat or voice. */
  endpoint: Endpoint;
  /** Switch between the chat and the voice socket (one reconnect, nothing lost or repeated). */
  setEndpoint: (endpoint: Endpoint) => void;
  /** Send one recorded utterance (voice socket); returns its placeholder id, or null when it cannot go now. */
  sendAudio: (data: Blob | ArrayBuffer) => string | null;
  /** A spoken answer is on its way to be transcribed. */
  isTranscribing: boolean;
  /** The reply's sentences not played yet, in order. */
  audioQueue: AudioClip[];
  /** The player is done with this clip. */
  audioDone: (clip: AudioClip) => void;
  /** Stop speaking: drop the queued clips and the rest of their turns. */
  stopAudio: () => void;
}

export function useWebSocket(options: InterviewSocketOptions): InterviewSocket {
  const { interviewId, mode = "candidate", autoStart = false } = options;
  // Options other than the interview and the mode are read once, when the connection is made.
  const [initialOptions] = useState(options);
  const conn = useMemo(
    () => new InterviewConnection({ ...initialOptions, interviewId, mode }),
    [initialOptions, interviewId, mode],
  );

  useEffect(() => {
    conn.attach(autoStart);
    return () => conn.detach();
  }, [conn, autoStart]);

  const state = useSyncExternalStore(conn.subscribe, conn.getState);

  const send = useCallback(
    (content: string): string | null => {
      if (!content.trim()) return null;
      const clientMsgId = newClientMsgId();
      conn.dispatch({ type: "send", content, clientMsgId });
      return clientMsgId;
    },
    [conn],
  );
  const end = useCallback(() => conn.dispatch({ type: "end" }), [conn]);
  const reconnect = useCallback(() => conn.dispatch({ type: "reconnect" }), [conn]);
  const start = useCallback(() => conn.dispatch({ type: "start" }), [conn]);
  const retry = useCallback((clientMsgId: string) => conn.dispatch({ type: "retry", clientMsgId }), [conn]);
  const setEndpoint = useCallback((endpoint: Endpoint) => conn.dispatch({ type: "setEndpoint", endpoint }), [conn]);
  const sendAudio = useCallback(
    (data: Blob | ArrayBuffer): string | null => {
      const id = `voice-${newClientMsgId()}`;
      conn.dispatch({ type: "sendAudio", id, data });
      return conn.getState().pendingVoiceId === id ? id : null;
    },
    [conn],
  );
  const audioDone = useCallback(
    (clip: AudioClip) => conn.dispatch({ type: "audioDone", streamId: clip.streamId, index: clip.index }),
    [conn],
  );
  const stopAudio = useCallback(() => conn.dispatch({ type: "stopAudio" }), [conn]);

  return {
    connectionState: state.status,
    reconnectAttempt: state.attempt,
    maxReconnectAttempts: state.config.maxReconnectAttempts,
    isThinking: state.isThinking,
    isStreaming: state.streamingId !== null,
    messages: state.messages,
    questionNumber: state.questionNumber,
    totalQuestions: state.totalQuestions,
    timeRemainingMin: state.timeRemainingMin,
    hasPendingAnswer: hasUnconfirmedAnswer(state),
    lastError: state.lastError,
    retryableClientMsgId: state.retryableClientMsgId,
    closeCode: state.closeCode,
    finishedMessage: state.finishedMessage,
    send,
    end,
    reconnect,
    start,
    retry,
    endpoint: state.endpoint,
    setEndpoint,
    sendAudio,
    isTranscribing: state.pendingVoiceId !== null,
    audioQueue: state.audioQueue,
    audioDone,
    stopAudio,
  };
}
