/**
 * What the browser tests share: Debian's Chromium driven by playwright-core (no browser is ever
 * downloaded), the backend and the OpenAI stand-in that scripts/with_backend.py started, and a
 * few waits and readers that look at the page the way a person does.
 */
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: run the browser tests through scripts/with_backend.py --standin (see package.json "e2e")`,
    );
  }
  return value.replace(/\/$/, "");
}

/** The backend serving the built app (frontend/dist) and the API. */
export const BASE = required("HIREEZ_LIVE_URL");
/** The OpenAI-compatible stand-in the backend talks to. */
export const STANDIN = required("HIREEZ_STANDIN_URL");
export const CHROMIUM = process.env.HIREEZ_CHROMIUM ?? "/usr/bin/chromium";
export const ARTIFACTS = join(fileURLToPath(new URL(".", import.meta.url)), "artifacts");
mkdirSync(ARTIFACTS, { recursive: true });

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-quic",
  "--no-first-run",
  "--disable-component-update",
  "--disable-sync",
];

/** A fake camera that needs no prompt: what a candidate who allows the camera has. */
export const FAKE_CAMERA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"];

/** Debian's Chromium; playwright-core gives every launch a fresh temporary user-data-dir. */
export function launch(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
    timeout: 60_000,
  });
}

/** A fresh context whose pages fail the test on any uncaught error in the app. */
export async function newContext(browser: Browser, pageErrors: Error[]): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL: BASE, viewport: { width: 1280, height: 860 } });
  context.setDefaultTimeout(20_000);
  context.on("page", (page) => page.on("pageerror", (err) => pageErrors.push(err)));
  return context;
}

export const ACCOUNTS = {
  alice: ["alice@hireez.local", "demo-alice-123"],
  bob: ["bob@hireez.local", "demo-bob-123"],
  hr: ["hr@hireez.local", "demo-hr-123"],
} as const;

/** Sign in through the login form, as a person does. */
export async function login(page: Page, who: keyof typeof ACCOUNTS): Promise<void> {
  const [email, password] = ACCOUNTS[who];
  await page.goto("/login");
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((url) => !url.pathname.startsWith("/login"));
}

/** Steer the stand-in: `replies` are consumed in order by the next chat completions. */
export async function standin(settings: { replies?: string[]; token_delay?: number; mode?: string }): Promise<void> {
  const res = await fetch(`${STANDIN}/_control`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(settings),
  });
  assert.equal(res.status, 200, "the stand-in took the settings");
}

/** The REST API as that user (for checks the screen is compared against). */
export async function apiAs(who: keyof typeof ACCOUNTS) {
  const [email, password] = ACCOUNTS[who];
  const res = await fetch(`${BASE}/api/v1/auth/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  assert.equal(res.status, 200);
  const { access_token: token } = (await res.json()) as { access_token: string };
  return async <T>(path: string): Promise<T> => {
    const r = await fetch(`${BASE}/api/v1${path}`, { headers: { Authorization: `Bearer ${token}` } });
    assert.ok(r.ok, `GET ${path}: ${r.status}`);
    return (await r.json()) as T;
  };
}

export interface ShownMessage {
  role: "ai" | "candidate";
  text: string;
  streaming: boolean;
}

/** The conversation as shown: each turn's role, its text (without the cursor), and whether it is still streaming. */
export function shownMessages(page: Page): Promise<ShownMessage[]> {
  return page
    .getByRole("region", { name: "Conversation" })
    .evaluate((region) =>
      Array.from(region.querySelectorAll<HTMLElement>('[data-testid^="message-"]')).map((li) => {
        const bubble = li.querySelector("div");
        const cursor = bubble?.querySelector('[data-testid="stream-cursor"]');
        const full = bubble?.textContent ?? "";
        const text = cursor ? full.slice(0, full.length - (cursor.textContent ?? "").length) : full;
        return {
          role: li.dataset.testid === "message-ai" ? ("ai" as const) : ("candidate" as const),
          text,
          streaming: cursor !== null && cursor !== undefined,
        };
      }),
    );
}

/** Whether the newest message's last line is inside the conversation's visible area (auto-scroll). */
export function newestMessageInView(page: Page): Promise<boolean> {
  return page.getByRole("region", { name: "Conversation" }).evaluate((region) => {
    const items = region.querySelectorAll('[data-testid^="message-"]');
    const last = items[items.length - 1];
    if (!last) return true;
    const view = region.getBoundingClientRect();
    const box = last.getBoundingClientRect();
    return box.bottom <= view.bottom + 1 && box.bottom > view.top;
  });
}

/** Poll `probe` until it gives a value (not null/undefined/false); fail with `what` after `timeoutMs`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  timeoutMs = 20_000,
  everyMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== null && value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Watch the newest AI turn stream in: sample its text until it is finished, and return every
 * distinct text seen on the way (the growing reply) plus the final one.
 */
export async function watchReply(page: Page, index: number, timeoutMs = 30_000): Promise<{ samples: string[]; final: string }> {
  const samples: string[] = [];
  const final = await until(
    `AI message #${index + 1} to finish streaming`,
    async () => {
      const ai = (await shownMessages(page)).filter((m) => m.role === "ai");
      const m = ai[index];
      if (!m) return null;
      if (m.streaming) {
        if (m.text && samples[samples.length - 1] !== m.text) samples.push(m.text);
        return null;
      }
      return m.text;
    },
    timeoutMs,
    15,
  );
  return { samples, final };
}

/** The samples of a streamed reply: each a longer prefix of the final text than the one before. */
export function assertGrewInPlace(samples: string[], final: string, minSamples = 3): void {
  let previous = 0;
  for (const s of samples) {
    assert.ok(final.startsWith(s), `an intermediate text is a prefix of the final reply: ${JSON.stringify(s)}`);
    assert.ok(s.length > previous, "the reply only ever grows");
    previous = s.length;
  }
  // The last words may still show the cursor for a moment before the turn is saved.
  const partial = samples.filter((s) => s.length < final.length).length;
  assert.ok(partial >= minSamples, `saw the reply at ${partial} intermediate lengths, want ≥ ${minSamples}`);
}

/**
 * Record, inside the page, whether "AI is thinking…" was shown, and whether that happened before
 * the reply's first words (MutationObserver: the indicator may be up for a few milliseconds only).
 */
export async function recordThinking(page: Page): Promise<() => Promise<{ seen: boolean; beforeReply: boolean }>> {
  // A string, not a function: tsx's helpers must not leak into code that runs in the page.
  await page.evaluate(`(() => {
    const aiCount = () => document.querySelectorAll('[data-testid="message-ai"]').length;
    const state = { seen: false, beforeReply: false, aiCount: aiCount() };
    window.__thinking = state;
    new MutationObserver(() => {
      const el = document.querySelector('[data-testid="thinking"]');
      if (el && el.textContent.includes("AI is thinking…") && !state.seen) {
        state.seen = true;
        state.beforeReply = aiCount() === state.aiCount;
      }
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  })()`);
  return () =>
    page.evaluate(() => {
      const { seen, beforeReply } = (window as unknown as { __thinking: { seen: boolean; beforeReply: boolean } })
        .__thinking;
      return { seen, beforeReply };
    });
}

export async function screenshot(page: Page, name: string, fullPage = false): Promise<string> {
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage });
  return path;
}
