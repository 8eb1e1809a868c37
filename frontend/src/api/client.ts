/**
 * The REST client for shared/API.md (`/api/v1`): a thin typed wrapper over `fetch` whose paths,
 * bodies and answers all come from `schema.d.ts`, generated from the backend's OpenAPI schema
 * (`npm run api:generate`; `npm run api:check` fails when it is stale). Nothing here is typed by
 * hand, so a change in the backend's contract shows up as a type error in the pages.
 */
import type { components, paths } from "./schema";

export const API_BASE = "/api/v1";
const TOKEN_KEY = "hireez.access_token";
/** Fired on `window` when the server refuses our token, so the app can send the user to login. */
export const UNAUTHORIZED_EVENT = "hireez:unauthorized";

// ---------------------------------------------------------------- shapes (from the schema)

type Schemas = components["schemas"];
export type Role = Schemas["Role"];
export type TokenResponse = Schemas["TokenPublic"];
export type User = Schemas["UserPublic"];
export type UserCreate = Schemas["UserCreate"];
export type UserUpdate = Schemas["UserUpdate"];
export type WsTicket = Schemas["WsTicketPublic"];
export type Candidate = Schemas["CandidatePublic"];
export type CandidateCreate = Schemas["CandidateCreate"];
export type Job = Schemas["JobPublic"];
export type JobCreate = Schemas["JobCreate"];
export type Question = Schemas["QuestionPublic"];
export type Interview = Schemas["InterviewPublic"];
export type InterviewCreate = Schemas["InterviewCreate"];
export type TranscriptTurn = Schemas["TranscriptTurnPublic"];
export type QuestionScore = Schemas["QuestionScore"];
export type Evaluation = Schemas["EvaluationPending"] | Schemas["EvaluationDone"] | Schemas["EvaluationFailed"];
export type Recording = Schemas["RecordingPublic"];

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

// ---------------------------------------------------------------- typed calls

type Method = "get" | "post" | "patch";
type Path = keyof paths;
/** The paths that have an operation for `M`. */
type PathsWith<M extends Method> = { [P in Path]: NonNullable<paths[P][M]> extends never ? never : P }[Path];
type Operation<P extends Path, M extends Method> = NonNullable<paths[P][M]>;
type SuccessStatus = 200 | 201 | 202 | 204;
type JsonOf<R> = R extends { content: { "application/json": infer T } } ? T : null;
/** Every success answer the operation documents, as one union. */
type Success<O> = O extends { responses: infer R } ? { [S in keyof R & SuccessStatus]: JsonOf<R[S]> }[keyof R & SuccessStatus] : never;
type PathParams<O> = O extends { parameters: { path: infer PP } } ? PP : never;
type JsonBody<O> = O extends { requestBody: { content: { "application/json": infer B } } } ? B : never;
type MultipartBody<O> = O extends { requestBody: { content: { "multipart/form-data": unknown } } } ? FormData : never;

type CallOptions<O> = {
  signal?: AbortSignal;
  /** Don't treat 401 as "logged out" (the login call itself). */
  anonymous?: boolean;
} & ([PathParams<O>] extends [never] ? { path?: never } : { path: PathParams<O> }) &
  ([JsonBody<O> | MultipartBody<O>] extends [never] ? { body?: never } : { body: JsonBody<O> | MultipartBody<O> });

/** `/api/v1/interviews/{interview_id}` + `{interview_id: 3}` → `/api/v1/interviews/3`. */
function fillPath(template: string, params: Record<string, unknown> | undefined): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params?.[name];
    if (value === undefined || value === null) throw new Error(`missing path parameter ${name}`);
    return encodeURIComponent(String(value));
  });
}

/** One call to the API; the path, its parameters, the body and the answer are typed by the schema. */
async function call<M extends Method, P extends PathsWith<M>>(
  method: M,
  path: P,
  ...[opts]: CallOptions<Operation<P, M>> extends { path: unknown } | { body: unknown }
    ? [CallOptions<Operation<P, M>>]
    : [CallOptions<Operation<P, M>>?]
): Promise<{ status: number; data: Success<Operation<P, M>> }> {
  const o = (opts ?? {}) as { path?: Record<string, unknown>; body?: unknown; signal?: AbortSignal; anonymous?: boolean };
  const headers: Record<string, string> = { Accept: "application/json" };
  const token = getToken();
  if (token && !o.anonymous) headers.Authorization = `Bearer ${token}`;
  let body: BodyInit | undefined;
  if (o.body instanceof FormData) body = o.body;
  else if (o.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(o.body);
  }
  const res = await fetch(fillPath(path, o.path), {
    method: method.toUpperCase(),
    headers,
    ...(body !== undefined ? { body } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
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
    if (res.status === 401 && !o.anonymous) {
      setToken(null);
      window.dispatchEvent(new Event(UNAUTHORIZED_EVENT));
    }
    throw new ApiError(res.status, detailText(data, res.status));
  }
  return { status: res.status, data: data as Success<Operation<P, M>> };
}

const sig = (signal?: AbortSignal) => (signal ? { signal } : {});
const id = (value: number | string) => Number(value);

// ---------------------------------------------------------------- endpoints

export const api = {
  async login(email: string, password: string): Promise<TokenResponse> {
    const { data } = await call("post", "/api/v1/auth/login", { body: { email, password }, anonymous: true });
    setToken(data.access_token);
    return data;
  },
  logout(): void {
    setToken(null);
  },
  me: async (signal?: AbortSignal): Promise<User> => (await call("get", "/api/v1/auth/me", sig(signal))).data,
  wsTicket: async (interviewId: number | string, signal?: AbortSignal): Promise<WsTicket> =>
    (await call("post", "/api/v1/auth/ws-ticket", { body: { interview_id: id(interviewId) }, ...sig(signal) })).data,

  listUsers: async (signal?: AbortSignal): Promise<User[]> => (await call("get", "/api/v1/users", sig(signal))).data,
  createUser: async (body: UserCreate): Promise<User> => (await call("post", "/api/v1/users", { body })).data,
  updateUser: async (userId: number, body: UserUpdate): Promise<User> =>
    (await call("patch", "/api/v1/users/{user_id}", { path: { user_id: userId }, body })).data,

  listCandidates: async (signal?: AbortSignal): Promise<Candidate[]> =>
    (await call("get", "/api/v1/candidates", sig(signal))).data,
  getCandidate: async (candidateId: number, signal?: AbortSignal): Promise<Candidate> =>
    (await call("get", "/api/v1/candidates/{candidate_id}", { path: { candidate_id: candidateId }, ...sig(signal) })).data,
  createCandidate: async (body: CandidateCreate): Promise<Candidate> =>
    (await call("post", "/api/v1/candidates", { body })).data,

  listJobs: async (signal?: AbortSignal): Promise<Job[]> => (await call("get", "/api/v1/jobs", sig(signal))).data,
  createJob: async (body: JobCreate): Promise<Job> => (await call("post", "/api/v1/jobs", { body })).data,

  listInterviews: async (signal?: AbortSignal): Promise<Interview[]> =>
    (await call("get", "/api/v1/interviews", sig(signal))).data,
  getInterview: async (interviewId: number | string, signal?: AbortSignal): Promise<Interview> =>
    (await call("get", "/api/v1/interviews/{interview_id}", { path: { interview_id: id(interviewId) }, ...sig(signal) }))
      .data,
  createInterview: async (body: InterviewCreate): Promise<Interview> =>
    (await call("post", "/api/v1/interviews", { body })).data,
  cancelInterview: async (interviewId: number): Promise<Interview> =>
    (await call("post", "/api/v1/interviews/{interview_id}/cancel", { path: { interview_id: interviewId } })).data,
  transcript: async (interviewId: number | string, signal?: AbortSignal): Promise<TranscriptTurn[]> =>
    (
      await call("get", "/api/v1/interviews/{interview_id}/transcript", {
        path: { interview_id: id(interviewId) },
        ...sig(signal),
      })
    ).data,
  /** 200 done/failed, 202 pending; 404 (an ApiError) before the interview has ended. */
  evaluation: async (interviewId: number | string, signal?: AbortSignal): Promise<Evaluation> =>
    (
      await call("get", "/api/v1/interviews/{interview_id}/evaluation", {
        path: { interview_id: id(interviewId) },
        ...sig(signal),
      })
    ).data,
  rerunEvaluation: async (interviewId: number | string): Promise<Evaluation> =>
    (await call("post", "/api/v1/interviews/{interview_id}/evaluation", { path: { interview_id: id(interviewId) } }))
      .data,
  /** The camera recording (multipart field `file`); 413 above MAX_RECORDING_MB. */
  async uploadRecording(interviewId: number | string, file: Blob, filename = "recording.webm"): Promise<Recording> {
    const form = new FormData();
    form.append("file", file, filename);
    return (
      await call("post", "/api/v1/interviews/{interview_id}/recording", {
        path: { interview_id: id(interviewId) },
        body: form,
      })
    ).data;
  },
  health: async (signal?: AbortSignal): Promise<unknown> => (await call("get", "/api/v1/health", sig(signal))).data,
};

export type Api = typeof api;
