/**
 * The interview room's voice mode in Chromium with fake media: the microphone plays a wav that
 * espeak-ng makes here, the backend's speech goes to the OpenAI-compatible stand-in (whose
 * /v1/audio/transcriptions answers a fixed sentence and /v1/audio/speech a short wav).
 * Run by `npm run e2e` through scripts/with_backend.py --standin, after interview.e2e.ts.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { ACCOUNTS, BASE, FAKE_CAMERA_ARGS, launch, login, newContext, screenshot, shownMessages, standin, until } from "./support";

const SPOKEN = "I have five years of Python experience";
/** What the stand-in's speech-to-text answers (its replies queue is shared with the chat completions). */
const HEARD = "I have five years of Python experience.";
const GREETING = "Hello Alice, welcome to this voice interview. First: tell me about your Python experience?";
const REPLY = "Thank you, five years is a good foundation. How do you test your Python code?";

const pageErrors: Error[] = [];
let browser: Browser;
let wav = "";
/** The same sentence followed by 2.5 s of silence: the fake microphone loops it, so hands-free hears an end. */
let wavWithPause = "";

async function api(who: keyof typeof ACCOUNTS) {
  const [email, password] = ACCOUNTS[who];
  const res = await fetch(`${BASE}/api/v1/auth/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  assert.equal(res.status, 200);
  const { access_token: token } = (await res.json()) as { access_token: string };
  return async <T>(path: string, body?: unknown): Promise<T> => {
    const r = await fetch(`${BASE}/api/v1${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    assert.ok(r.ok, `${path}: ${r.status} ${await r.clone().text()}`);
    return (await r.json()) as T;
  };
}

before(async () => {
  wav = join(mkdtempSync(join(tmpdir(), "hireez-voice-")), "answer.wav");
  execFileSync("espeak-ng", ["-w", wav, SPOKEN]);
  wavWithPause = join(mkdtempSync(join(tmpdir(), "hireez-voice-")), "answer-pause.wav");
  execFileSync("espeak-ng", ["-m", "-w", wavWithPause, `<speak>${SPOKEN}.<break time="2500ms"/>.</speak>`]);
  browser = await launch([
    ...FAKE_CAMERA_ARGS,
    `--use-file-for-fake-audio-capture=${wav}`,
    "--autoplay-policy=no-user-gesture-required",
  ]);
});

after(async () => {
  await browser?.close();
});

async function newInterview(): Promise<{ id: number }> {
  const hr = await api("hr");
  const candidates = await hr<{ id: number; email: string }[]>("/candidates");
  const jobs = await hr<{ id: number }[]>("/jobs");
  const alice = candidates.find((c) => c.email === ACCOUNTS.alice[0]);
  assert.ok(alice && jobs[0]);
  return hr<{ id: number }>("/interviews", {
    job_id: jobs[0].id,
    candidate_id: alice.id,
    questions: ["Tell me about your Python experience?", "How do you test your Python code?"],
    duration_min: 30,
  });
}

describe("voice mode", () => {
  it("a spoken answer is transcribed, shown once, answered, and the reply is played", async () => {
    const created = await newInterview();
    await standin({ replies: [GREETING, HEARD, REPLY], token_delay: 0.01, mode: "ok" });

    const context = await newContext(browser, pageErrors);
    // Count what the page plays (the stand-in's speech is a short silent wav).
    await context.addInitScript(`(() => {
      window.__played = [];
      const play = HTMLMediaElement.prototype.play;
      HTMLMediaElement.prototype.play = function () { window.__played.push(this.src.slice(0, 20)); return play.call(this); };
    })()`);
    const page = await context.newPage();
    await login(page, "alice");
    await page.goto(`/interviews/${created.id}/room`);
    await page.getByRole("checkbox", { name: "Record my camera during the interview" }).uncheck();
    await page.getByRole("button", { name: "Start interview" }).click();
    await until("the greeting", async () => (await shownMessages(page)).some((m) => m.role === "ai" && !m.streaming && m.text === GREETING));

    await page.getByRole("button", { name: "Voice off" }).click();
    const ptt = page.getByRole("button", { name: "Hold to talk" });
    await until("push-to-talk to be ready", async () => await ptt.isEnabled());
    await ptt.hover();
    await page.mouse.down();
    await page.getByRole("button", { name: "Release to send" }).waitFor();
    await new Promise((r) => setTimeout(r, 2500)); // the fake microphone says the sentence
    await page.mouse.up();

    await until("the transcription", async () => (await shownMessages(page)).some((m) => m.role === "candidate" && m.text === HEARD));
    await until("the reply", async () => (await shownMessages(page)).some((m) => m.role === "ai" && !m.streaming && m.text === REPLY));
    const played = await until("the reply's audio to play", async () => {
      const p = await page.evaluate(() => (window as unknown as { __played: string[] }).__played);
      return p.length > 0 ? p : null;
    });
    assert.ok(played.every((src) => src.startsWith("data:audio/")), "clips are played from the audio events");

    // The screen is the saved transcript, each turn once.
    const alicesApi = await api("alice");
    const saved = await alicesApi<{ role: string; content: string }[]>(`/interviews/${created.id}/transcript`);
    const shown = await shownMessages(page);
    assert.deepEqual(
      shown.map((m) => ({ role: m.role, content: m.text })),
      saved.map((t) => ({ role: t.role, content: t.content })),
    );
    assert.equal(saved.filter((t) => t.content === HEARD).length, 1);
    await screenshot(page, "room-voice");
    assert.deepEqual(pageErrors, []);
    await context.close();
  });

  it("hands-free: the browser hears the answer, its end (silence), and sends it by itself", async () => {
    const created = await newInterview();
    await standin({ replies: [GREETING, HEARD, REPLY], token_delay: 0.01, mode: "ok" });
    const handsFreeBrowser = await launch([
      ...FAKE_CAMERA_ARGS,
      `--use-file-for-fake-audio-capture=${wavWithPause}`,
      "--autoplay-policy=no-user-gesture-required",
    ]);
    try {
      const context = await newContext(handsFreeBrowser, pageErrors);
      const page = await context.newPage();
      await login(page, "alice");
      await page.goto(`/interviews/${created.id}/room`);
      await page.getByRole("checkbox", { name: "Record my camera during the interview" }).uncheck();
      await page.getByRole("button", { name: "Start interview" }).click();
      await until("the greeting", async () => (await shownMessages(page)).some((m) => m.role === "ai" && !m.streaming && m.text === GREETING));
      await page.getByRole("button", { name: "Voice off" }).click();
      await page.getByRole("checkbox", { name: "Hands-free" }).check();

      await until("the transcription", async () => (await shownMessages(page)).some((m) => m.role === "candidate" && m.text === HEARD), 30_000);
      await until("the reply", async () => (await shownMessages(page)).some((m) => m.role === "ai" && !m.streaming && m.text === REPLY));
      // Voice off: the microphone stops; the room is back on the chat socket and shows the saved transcript.
      await page.getByRole("button", { name: "Voice on" }).click();
      const answer = page.getByLabel("Your answer");
      await until("the room to be idle", async () => await answer.isEnabled());
      const alicesApi = await api("alice");
      const saved = await alicesApi<{ role: string; content: string }[]>(`/interviews/${created.id}/transcript`);
      assert.equal(saved[1]?.content, HEARD, "the first answer is the spoken one");
      await until("the screen to equal the saved transcript", async () => {
        const shown = await shownMessages(page);
        return JSON.stringify(shown.map((m) => [m.role, m.text])) === JSON.stringify(saved.map((s) => [s.role, s.content]));
      });
      assert.deepEqual(pageErrors, []);
      await context.close();
    } finally {
      await handsFreeBrowser.close();
    }
  });

  it("turning Voice on while the greeting streams: the reply continues on the voice socket, shown once", async () => {
    const created = await newInterview();
    const longGreeting =
      "Hello Alice, and welcome. This interview is about your Python work: the services you built, how you " +
      "tested them, and what you would do differently today. Take your time with each answer. To begin: " +
      "tell me about your Python experience?";
    await standin({ replies: [longGreeting], token_delay: 0.08, mode: "ok" });
    const context = await newContext(browser, pageErrors);
    const page = await context.newPage();
    await login(page, "alice");
    await page.goto(`/interviews/${created.id}/room`);
    await page.getByRole("checkbox", { name: "Record my camera during the interview" }).uncheck();
    await page.getByRole("button", { name: "Start interview" }).click();
    await until("the greeting to be streaming", async () =>
      (await shownMessages(page)).some((m) => m.role === "ai" && m.streaming && m.text.length > 10),
    );
    await page.getByRole("button", { name: "Voice off" }).click();
    await page.getByRole("button", { name: "Voice on" }).waitFor();
    await until("the greeting", async () => (await shownMessages(page)).some((m) => m.role === "ai" && !m.streaming && m.text === longGreeting), 30_000);
    const alicesApi = await api("alice");
    const saved = await alicesApi<{ role: string; content: string }[]>(`/interviews/${created.id}/transcript`);
    assert.deepEqual(saved.map((s) => s.content), [longGreeting]);
    const shown = await shownMessages(page);
    assert.deepEqual(shown.map((m) => [m.role, m.text]), [["ai", longGreeting]], "the greeting once, complete");
    assert.deepEqual(pageErrors, []);
    await context.close();
    await standin({ token_delay: 0.01 });
  });
});
