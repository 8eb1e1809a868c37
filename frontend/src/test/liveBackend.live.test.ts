/**
 * Opt-in contract check of the connection code against a running backend (the embedded
 * default with its demo accounts). `make test-frontend` runs it against a fresh backend:
 *   ../.venv/bin/python ../scripts/with_backend.py --origin http://localhost:3000 -- \
 *     npx vitest run --config vitest.live.config.ts
 * The backend must accept this test's Origin (http://localhost:3000) in CORS_ORIGINS.
 * It uses up one scheduled interview of alice@hireez.local.
 */
import { describe, expect, it } from "vitest";
import { InterviewConnection } from "../hooks/useWebSocket";

const LIVE = process.env.HIREEZ_LIVE_URL;
const API = `${LIVE ?? ""}/api/v1`;
const WS_BASE = (LIVE ?? "").replace(/^http/, "ws");

async function login(email: string, password: string): Promise<string> {
  const r = await fetch(`${API}/auth/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  if (!r.ok) throw new Error(`login ${r.status}`);
  return ((await r.json()) as { access_token: string }).access_token;
}

function ticketSource(token: string) {
  return async (id: number | string): Promise<string> => {
    const r = await fetch(`${API}/auth/ws-ticket`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ interview_id: Number(id) }),
    });
    if (!r.ok) throw new Error(`ticket ${r.status}`);
    return ((await r.json()) as { ticket: string }).ticket;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, pred: () => boolean, ms = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

if (!LIVE) throw new Error("HIREEZ_LIVE_URL is not set: run through `make test-frontend`");

describe("against a live backend", () => {
  it("streams, resumes after a drop mid-reply without duplicates, is observed, is taken over, ends", async () => {
    const token = await login("alice@hireez.local", "demo-alice-123");
    const list = (await (await fetch(`${API}/interviews`, { headers: { Authorization: `Bearer ${token}` } })).json()) as {
      id: number;
      status: string;
    }[];
    const iv = list.find((i) => i.status === "scheduled");
    if (!iv) throw new Error("no scheduled interview left for alice (re-seed the backend)");
    const fetchTicket = ticketSource(token);
    const conn = new InterviewConnection({ interviewId: iv.id, wsBase: WS_BASE, fetchTicket });
    const s = () => conn.getState();
    conn.attach(true);

    await until("the greeting", () => s().messages.some((m) => m.role === "ai" && !m.streaming));
    conn.dispatch({ type: "send", content: "Six years of Python services with FastAPI and PostgreSQL.", clientMsgId: "live-1" });
    await until("the first reply", () => s().messages.filter((m) => m.role === "ai" && !m.streaming).length >= 2);
    expect(s().messages.find((m) => m.clientMsgId === "live-1")?.status).toBe("sent");

    const before = s().messages.map((m) => m.content);
    conn.dispatch({ type: "send", content: "Indexes, EXPLAIN ANALYZE, partitioning and pooling.", clientMsgId: "live-2" });
    await until("the second reply to start streaming", () => s().streamingId !== null);
    conn.dispatch({ type: "offline", random: 0.5 }); // drop the socket mid-reply
    expect(s().status).toBe("reconnecting");
    await until("the reconnect", () => s().status === "connected");
    await until("the interrupted reply to finish", () => !s().streamingId && s().messages.filter((m) => m.role === "ai").length >= 3);
    const after = s().messages;
    expect(after.slice(0, before.length).map((m) => m.content)).toEqual(before);
    expect(new Set(after.map((m) => m.id)).size).toBe(after.length);
    expect(after.filter((m) => m.clientMsgId === "live-2")).toHaveLength(1);

    const observer = new InterviewConnection({
      interviewId: iv.id,
      wsBase: WS_BASE,
      mode: "observer",
      fetchTicket: ticketSource(await login("hr@hireez.local", "demo-hr-123")),
    });
    observer.attach(true);
    await until("the observer's snapshot", () => observer.getState().status === "connected");
    expect(observer.getState().messages.map((m) => m.content)).toEqual(after.map((m) => m.content));

    const tab2 = new InterviewConnection({ interviewId: iv.id, wsBase: WS_BASE, fetchTicket });
    tab2.attach(true);
    await until("the first tab to be replaced", () => s().status === "replaced");
    await until("the second tab to connect", () => tab2.getState().status === "connected");
    // a new tab counts as connected once its socket opens; its screen fills from `reconnected`
    await until("the second tab's snapshot", () => tab2.getState().messages.length >= after.length);
    expect(tab2.getState().messages.map((m) => m.content)).toEqual(after.map((m) => m.content));

    tab2.dispatch({ type: "end" });
    await until("the end", () => tab2.getState().status === "finished");
    await until("the observer to see the end", () => observer.getState().status === "finished");
    for (const c of [conn, tab2, observer]) c.detach();
  }, 60_000);
});
