import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api, ApiError, getToken, setToken, UNAUTHORIZED_EVENT } from "./client";

function respond(status: number, body: unknown) {
  return vi.spyOn(globalThis, "fetch").mockResolvedValue(new Response(JSON.stringify(body), { status }));
}

beforeEach(() => localStorage.clear());
afterEach(() => localStorage.clear());

describe("REST client", () => {
  it("login stores the token and later calls send it as a bearer token", async () => {
    const fetch = respond(200, { access_token: "abc", token_type: "bearer", expires_in: 3600 });
    await api.login("a@b.test", "pw");
    expect(getToken()).toBe("abc");
    expect(fetch).toHaveBeenCalledWith(
      "/api/v1/auth/login",
      expect.objectContaining({ method: "POST", body: JSON.stringify({ email: "a@b.test", password: "pw" }) }),
    );
    respond(200, { id: 1, email: "a@b.test", full_name: "A", role: "candidate", is_active: true });
    await api.me();
    const init = vi.mocked(globalThis.fetch).mock.calls.at(-1)?.[1] as RequestInit;
    expect((init.headers as Record<string, string>).Authorization).toBe("Bearer abc");
  });

  it("asks for a ws ticket for the interview", async () => {
    setToken("abc");
    const fetch = respond(200, { ticket: "t1", expires_in: 30 });
    await expect(api.wsTicket("7")).resolves.toEqual({ ticket: "t1", expires_in: 30 });
    expect(fetch.mock.calls[0]?.[0]).toBe("/api/v1/auth/ws-ticket");
    expect(fetch.mock.calls[0]?.[1]?.body).toBe(JSON.stringify({ interview_id: 7 }));
  });

  it("turns errors into ApiError with the server's detail", async () => {
    respond(409, { detail: "Email already registered" });
    await expect(api.createJob({ title: "x", description: "", skills: [] })).rejects.toEqual(
      new ApiError(409, "Email already registered"),
    );
    respond(422, { detail: [{ loc: ["body", "title"], msg: "String should have at least 1 character" }] });
    await expect(api.createJob({ title: "", description: "", skills: [] })).rejects.toMatchObject({
      status: 422,
      detail: "title: String should have at least 1 character",
    });
  });

  it("a 401 forgets the token and tells the app", async () => {
    setToken("old");
    const seen = vi.fn();
    window.addEventListener(UNAUTHORIZED_EVENT, seen);
    respond(401, { detail: "Not authenticated" });
    await expect(api.me()).rejects.toMatchObject({ status: 401 });
    expect(getToken()).toBeNull();
    expect(seen).toHaveBeenCalledTimes(1);
    window.removeEventListener(UNAUTHORIZED_EVENT, seen);
  });

  it("a failed login is a 401 without logging anybody out", async () => {
    setToken("keep");
    const seen = vi.fn();
    window.addEventListener(UNAUTHORIZED_EVENT, seen);
    respond(401, { detail: "Incorrect email or password" });
    await expect(api.login("a@b.test", "bad")).rejects.toMatchObject({ status: 401 });
    expect(seen).not.toHaveBeenCalled();
    window.removeEventListener(UNAUTHORIZED_EVENT, seen);
  });

  it("fills path parameters and sends the recording as multipart `file`", async () => {
    setToken("abc");
    const fetch = respond(201, { recording_id: 4, bytes: 3 });
    const blob = new Blob(["abc"], { type: "video/webm" });
    await expect(api.uploadRecording("12", blob)).resolves.toEqual({ recording_id: 4, bytes: 3 });
    const [url, init] = fetch.mock.calls[0] ?? [];
    expect(url).toBe("/api/v1/interviews/12/recording");
    expect(init?.method).toBe("POST");
    const form = init?.body as FormData;
    expect(form).toBeInstanceOf(FormData);
    const file = form.get("file") as File;
    expect(file.name).toBe("recording.webm");
    expect(file.type).toBe("video/webm");
    // the browser sets the multipart boundary itself
    expect((init?.headers as Record<string, string>)["Content-Type"]).toBeUndefined();
  });

  it("a pending evaluation (202) is a normal answer", async () => {
    respond(202, { status: "pending" });
    await expect(api.evaluation(3)).resolves.toEqual({ status: "pending" });
  });
});
