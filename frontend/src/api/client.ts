/**
 * Typed REST client for shared/API.md (`/api/v1`).
 *
 * Hand-written for now and kept in this one file so it can be swapped for a client
 * generated from the backend's OpenAPI schema without touching the pages.
 */
import type { InterviewStatus, TranscriptRole } from "../types/interview";

export const API_BASE = "/api/v1";
const TOKEN_KEY = "hireez.access_token";
/** Fired on `window` when the server refuses our token, so the app can send the user to login. */
export const UNAUTHORIZED_EVENT = "hireez:unauthorized";

// ---------------------------------------------------------------- shapes

export type Role = "super_admin" | "hr_manager" | "interviewer" | "candidate";

export interface TokenResponse {
  access_token: string;
  token_type: "bearer";
  expires_in: number;
}

export interface User {
  id: number;
  email: string;
  full_name: string;
  role: Role;
  is_active: boolean;
  created_at?: string;
}

export interface UserCreate {
  email: string;
  password: string;
  full_name: string;
  role: Role;
}

export interface WsTicket {
  ticket: string;
  expires_in: number;
}

export interface Candidate {
  id: number;
  user_id: number;
  email: string;
  full_name: string;
  resume_text: string;
  is_active?: boolean;
  created_at?: string;
}

export interface CandidateCreate {
  email: string;
  full_name: string;
  password: string;
  resume_text?: string;
}

export interface Job {
  id: number;
  title: string;
  description: string;
  skills: string[];
  created_by?: number | null;
  created_at?: string;
}

export interface JobCreate {
  title: string;
  description: string;
  skills: string[];
}

export interface Question {
  id: number;
  order: number;
  text: string;
}

export interface Interview {
  id: number;
  status: InterviewStatus;
  job_id: number;
  job_title?: string;
  candidate_id: number;
  candidate_name?: string;
  duration_min: number;
  questions: Question[];
  question_count?: number;
  /** A candidate socket is live now. */
  connected: boolean;
  created_by?: number | null;
  created_at?: string;
  started_at?: string | null;
  ended_at?: string | null;
}

export interface InterviewCreate {
  job_id: number;
  candidate_id: number;
  /** Left out: the AI drafts them from the job. */
  questions?: string[];
  duration_min?: number;
}

export interface TranscriptTurn {
  id: number;
  seq: number;
  role: TranscriptRole;
  content: string;
  created_at: string;
}

export interface QuestionScore {
  question_id: number | null;
  score: number | null;
  comment: string | null;
}

export type Evaluation =
  | { status: "pending" }
  | {
      status: "done";
      overall_score: number | null;
      recommendation: string | null;
      summary: string | null;
      question_scores: QuestionScore[];
      method?: string | null;
    }
  | { status: "failed"; detail: string };

export interface Health {
  status: string;
  database: string;
  redis: string;
}

// ---------------------------------------------------------------- token

export function getToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string | null): void {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage disabled (private mode): the session simply does not survive a reload
  }
}

// ---------------------------------------------------------------- transport

export class ApiError extends Error {
  readonly status: number;
  readonly detail: string;

  constructor(status: number, detail: string) {
    super(detail || `Request failed (${status})`);
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
  }
}

/** FastAPI's `detail` is a string, or a list of validation errors for 422. */
function detailText(body: unknown, status: number): string {
  if (body && typeof body === "object" && "detail" in body) {
    const detail = (body as { detail: unknown }).detail;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail
        .map((d: unknown) => {
          if (d && typeof d === "object") {
            const { loc, msg } = d as { loc?: unknown; msg?: unknown };
            const field = Array.isArray(loc) ? loc.filter((p) => p !== "body").join(".") : "";
            return field ? `${field}: ${String(msg)}` : String(msg);
          }
          return String(d);
        })
        .join("; ");
    }
  }
  return `Request failed (${status})`;
}

interface RequestOptions {
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
  /** Don't treat 401 as "logged out" (the login call itself). */
  anonymous?: boolean;
}

async function request<T>(path: string, opts: RequestOptions = {}): Promise<{ status: number; data: T }> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const token = getToken();
  if (token && !opts.anonymous) headers.Authorization = `Bearer ${token}`;
  let body: BodyInit | undefined;
  if (opts.body instanceof FormData) body = opts.body;
  else if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.body);
  }
  const res = await fetch(`${API_BASE}${path}`, {
    method: opts.method ?? "GET",
    headers,
    ...(body !== undefined ? { body } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const text = await res.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!res.ok) {
    if (res.status === 401 && !opts.anonymous) {
      setToken(null);
      window.dispatchEvent(new Event(UNAUTHORIZED_EVENT));
    }
    throw new ApiError(res.status, detailText(data, res.status));
  }
  return { status: res.status, data: data as T };
}

async function get<T>(path: string, signal?: AbortSignal): Promise<T> {
  return (await request<T>(path, signal ? { signal } : {})).data;
}

async function post<T>(path: string, body?: unknown): Promise<T> {
  return (await request<T>(path, { method: "POST", body })).data;
}

/** Lists may come bare or as `{data, count}`; the pages only want the array. */
function asList<T>(value: T[] | { data: T[] }): T[] {
  return Array.isArray(value) ? value : value.data;
}

// ---------------------------------------------------------------- endpoints

export const api = {
  async login(email: string, password: string): Promise<TokenResponse> {
    const { data } = await request<TokenResponse>("/auth/login", {
      method: "POST",
      body: { email, password },
      anonymous: true,
    });
    setToken(data.access_token);
    return data;
  },
  logout(): void {
    setToken(null);
  },
  me: (signal?: AbortSignal) => get<User>("/auth/me", signal),
  wsTicket: (interviewId: number | string, signal?: AbortSignal) =>
    request<WsTicket>("/auth/ws-ticket", {
      method: "POST",
      body: { interview_id: Number(interviewId) },
      ...(signal ? { signal } : {}),
    }).then((r) => r.data),

  listUsers: async (signal?: AbortSignal) => asList(await get<User[] | { data: User[] }>("/users", signal)),
  createUser: (body: UserCreate) => post<User>("/users", body),

  listCandidates: async (signal?: AbortSignal) =>
    asList(await get<Candidate[] | { data: Candidate[] }>("/candidates", signal)),
  getCandidate: (id: number, signal?: AbortSignal) => get<Candidate>(`/candidates/${id}`, signal),
  createCandidate: (body: CandidateCreate) => post<Candidate>("/candidates", body),

  listJobs: async (signal?: AbortSignal) => asList(await get<Job[] | { data: Job[] }>("/jobs", signal)),
  createJob: (body: JobCreate) => post<Job>("/jobs", body),

  listInterviews: async (signal?: AbortSignal) =>
    asList(await get<Interview[] | { data: Interview[] }>("/interviews", signal)),
  getInterview: (id: number | string, signal?: AbortSignal) => get<Interview>(`/interviews/${id}`, signal),
  createInterview: (body: InterviewCreate) => post<Interview>("/interviews", body),
  cancelInterview: (id: number) => post<Interview>(`/interviews/${id}/cancel`),
  transcript: (id: number | string, signal?: AbortSignal) =>
    get<TranscriptTurn[]>(`/interviews/${id}/transcript`, signal),
  /** 200 done/failed, 202 pending; 404 (an ApiError) before the interview has ended. */
  evaluation: (id: number | string, signal?: AbortSignal) => get<Evaluation>(`/interviews/${id}/evaluation`, signal),
  rerunEvaluation: (id: number | string) => post<Evaluation>(`/interviews/${id}/evaluation`),
  uploadRecording(id: number | string, file: Blob): Promise<{ recording_id: number; bytes: number }> {
    const form = new FormData();
    form.append("file", file, "recording.webm");
    return post(`/interviews/${id}/recording`, form);
  },
  health: (signal?: AbortSignal) => get<Health>("/health", signal),
};

export type Api = typeof api;
