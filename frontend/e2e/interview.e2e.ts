/**
 * The interview room and the HR console in a real browser (Debian's Chromium via playwright-core)
 * against the real backend in its embedded mode, whose AI is the OpenAI-compatible stand-in
 * streaming slowly. Run by `make test` through scripts/with_backend.py (`npm run e2e`).
 *
 * The scenarios build on each other (one interview of Alice's, then a new one for Bob), so they
 * run in order in one file.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import {
  FAKE_CAMERA_ARGS,
  apiAs,
  assertGrewInPlace,
  launch,
  login,
  newContext,
  newestMessageInView,
  recordThinking,
  screenshot,
  shownMessages,
  standin,
  until,
  watchReply,
  type ShownMessage,
} from "./support";

/** Seconds between the stand-in's streamed words: slow enough to watch a reply grow. */
const TOKEN_DELAY = 0.06;

const GREETING =
  "Hello Alice, and welcome to your interview for the Backend Engineer role. I will ask you a few questions " +
  "about your experience, one at a time, and you can take your time with each answer. To begin: tell me " +
  "about a backend system you designed and what you would change about it today?";
const REPLY_1 =
  "Thank you, that gives me a clear picture of the system and of your part in it. Moving on: how do you " +
  "keep a PostgreSQL database fast as the data and the traffic grow?";
// Long enough to still be streaming while the browser is offline and comes back.
const REPLY_2 =
  "That is a careful approach: measuring before changing anything, reading the query plans, and adding " +
  "indexes only where the plans show they help. I also like that you keep an eye on connection pooling " +
  "and on vacuum, since both quietly decide how a busy database behaves. Partitioning the largest tables " +
  "by month is a reasonable step once they are that big, and archiving old rows keeps the working set " +
  "small. Next question: describe a production incident you handled, what happened, and what you " +
  "changed afterwards so that it would not happen again?";
const ANSWER_1 =
  "I designed an async payments service on FastAPI and Redis; today I would add idempotency keys earlier.";
const ANSWER_2 =
  "I watch slow query logs, read EXPLAIN ANALYZE plans, add the right indexes, pool connections and partition big tables.";

const BOB_GREETING =
  "Hello Bob, welcome. This interview has a few questions drafted from the job description. First: " +
  "tell me about a project you are proud of?";
const BOB_REPLY = "Thank you, that sounds like a project with real users. How do you approach debugging a production issue?";
const BOB_ANSWER = "I built an analytics dashboard in React and TypeScript that two hundred colleagues use every day.";

type Turn = { role: "ai" | "candidate"; content: string };

const pageErrors: Error[] = [];
let browser: Browser;
let alice: BrowserContext;
let room: Page;
let interviewId = "";

/** The screen shows exactly the saved conversation: every turn once, in order, none missing. */
async function assertShowsTranscript(page: Page, who: "alice" | "bob"): Promise<ShownMessage[]> {
  const get = await apiAs(who);
  const saved = await get<Turn[]>(`/interviews/${interviewId}/transcript`);
  const shown = await shownMessages(page);
  assert.deepEqual(
    shown.map((m) => ({ role: m.role, content: m.text })),
    saved.map((t) => ({ role: t.role, content: t.content })),
    "the conversation on screen is the saved transcript, each turn exactly once",
  );
  return shown;
}

before(async () => {
  browser = await launch();
  alice = await newContext(browser, pageErrors);
  await standin({ token_delay: TOKEN_DELAY, replies: [GREETING, REPLY_1, REPLY_2] });
});

after(async () => {
  await browser?.close();
  assert.deepEqual(
    pageErrors.map((e) => e.message),
    [],
    "no uncaught error in any page",
  );
});

describe("a candidate's interview", () => {
  it("logs in, starts, watches the greeting stream in, sees the AI think and answers", async () => {
    room = await alice.newPage();
    await login(room, "alice");
    await room.getByRole("heading", { name: "My interviews" }).waitFor();
    await room.getByRole("link", { name: /Open the interview/ }).click();
    await room.waitForURL(/\/interviews\/\d+\/room$/);
    interviewId = /\/interviews\/(\d+)\/room/.exec(room.url())?.[1] ?? "";

    await room.getByRole("button", { name: "Start interview" }).click();
    const answer = room.getByLabel("Your answer");
    const send = room.getByRole("button", { name: "Send" });

    // The greeting grows in place, word by word, and the answer box waits for it.
    await until("the greeting to start", async () => (await shownMessages(room)).some((m) => m.role === "ai" && m.text));
    assert.equal(await answer.isDisabled(), true, "the answer box is disabled while the AI writes");
    await screenshot(room, "room-streaming");
    const greeting = await watchReply(room, 0);
    assert.equal(greeting.final, GREETING);
    assertGrewInPlace(greeting.samples, GREETING);
    // Headless Chromium has no camera: the room says so and goes on.
    await room.getByText(/Camera recording is (off|not available)/).waitFor();

    await room.getByText("Question 1 of 4").waitFor();
    await until("the answer box to open", async () => await answer.isEnabled());
    const thinking = await recordThinking(room);
    await answer.fill(ANSWER_1);
    await send.click();
    assert.equal(await answer.inputValue(), "", "the box is cleared once the answer is sent");
    const reply = await watchReply(room, 1);
    assert.equal(reply.final, REPLY_1);
    assertGrewInPlace(reply.samples, REPLY_1);
    assert.deepEqual(await thinking(), { seen: true, beforeReply: true }, "'AI is thinking…' before the reply");
    await room.getByText("Question 2 of 4").waitFor();
    await assertShowsTranscript(room, "alice");
    await screenshot(room, "room-answered");
  });

  it("goes offline mid-reply: banner with the attempt counter, then every message once and the reply completed", async () => {
    const answer = room.getByLabel("Your answer");
    await until("the answer box to open", async () => await answer.isEnabled());
    await answer.fill(ANSWER_2);
    await room.getByRole("button", { name: "Send" }).click();

    // Cut the network while the reply is streaming.
    const before = await until("the reply to be under way", async () => {
      const m = (await shownMessages(room)).filter((x) => x.role === "ai")[2];
      return m && m.streaming && m.text.split(" ").length >= 8 ? m.text : null;
    });
    await alice.setOffline(true);
    const banner = room.getByText(/Connection lost\. Reconnecting… \(attempt \d\/5\)/);
    await banner.waitFor();
    const attempts = new Set<string>();
    await until(
      "a second reconnect attempt while offline",
      async () => {
        const text = (await banner.textContent().catch(() => null)) ?? "";
        const n = /attempt (\d)\/5/.exec(text)?.[1];
        if (n) attempts.add(n);
        return attempts.has("2");
      },
      15_000,
    );
    const frozen = (await shownMessages(room)).filter((x) => x.role === "ai")[2];
    assert.ok(frozen && frozen.text.startsWith(before), "the partial reply stays on screen while offline");
    await until("the newest text to stay in view under the banner", () => newestMessageInView(room), 5_000);
    await screenshot(room, "room-offline");

    await alice.setOffline(false);
    await banner.waitFor({ state: "detached" });
    const reply = await watchReply(room, 2);
    assert.equal(reply.final, REPLY_2, "the interrupted reply is completed");
    await room.getByText("Question 3 of 4").waitFor();
    const shown = await assertShowsTranscript(room, "alice");
    assert.deepEqual(
      shown.map((m) => m.text),
      [GREETING, ANSWER_1, REPLY_1, ANSWER_2, REPLY_2],
      "every message exactly once, in order",
    );
    await screenshot(room, "room-after-reconnect");
  });

  it("a second tab takes the interview over; the first says it was opened in another window", async () => {
    const second = await alice.newPage();
    await second.goto(`/interviews/${interviewId}/room`);
    await room.getByText("This interview was opened in another window.").waitFor();
    assert.equal(await room.getByLabel("Your answer").isDisabled(), true, "the old tab can't answer any more");
    await room.getByRole("button", { name: "Continue here" }).waitFor();
    await until("the newest text to stay in view under the banner", () => newestMessageInView(room), 5_000);
    await screenshot(room, "room-replaced");

    // The new tab picks up where the old one stopped.
    await second.getByText("Question 3 of 4").waitFor();
    await until("the new tab to show the conversation", async () => (await shownMessages(second)).length === 5);
    await assertShowsTranscript(second, "alice");
    assert.equal(await second.getByLabel("Your answer").isEnabled(), true);

    // Alice ends the interview there.
    await second.getByRole("button", { name: "End interview" }).click();
    const dialog = second.getByRole("dialog", { name: "End the interview?" });
    await dialog.getByRole("button", { name: "End interview" }).click();
    await second.getByText("The interview is over. Thank you!").waitFor();
    const get = await apiAs("alice");
    const iv = await get<{ status: string }>(`/interviews/${interviewId}`);
    assert.equal(iv.status, "completed");
    await room.close();
    await second.close();
  });
});

describe("HR", () => {
  it("creates an interview, watches it live, and reads the evaluation after the candidate ends", async () => {
    await standin({ replies: [] }); // the questions are drafted by the (stand-in) AI
    const hrContext = await newContext(browser, pageErrors);
    const hr = await hrContext.newPage();
    await login(hr, "hr");
    await hr.getByRole("heading", { name: "Interviews" }).waitFor();
    await hr.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "New interview" }).click();
    await hr.getByLabel("Job", { exact: true }).selectOption({ label: "Backend Engineer" });
    await hr.getByLabel("Candidate", { exact: true }).selectOption({ label: "Bob Candidate (bob@hireez.local)" });
    await hr.getByLabel("Duration (minutes)").fill("20");
    assert.equal(await hr.getByLabel("Let the AI draft them from the job").isChecked(), true);
    await hr.getByRole("button", { name: "Create interview" }).click();
    await hr.waitForURL(/\/hr\/interviews\/\d+$/);
    interviewId = /\/hr\/interviews\/(\d+)$/.exec(hr.url())?.[1] ?? "";
    await hr.getByRole("heading", { name: "Planned questions" }).waitFor();
    assert.ok((await hr.getByRole("listitem").filter({ hasText: "proud of" }).count()) >= 1, "AI-drafted questions");

    // Bob, who allows his (fake) camera, starts it in his own browser.
    await standin({ replies: [BOB_GREETING, BOB_REPLY] });
    const bobBrowser = await launch(FAKE_CAMERA_ARGS);
    try {
      const bobContext = await newContext(bobBrowser, pageErrors);
      const bob = await bobContext.newPage();
      await login(bob, "bob");
      await bob.goto(`/interviews/${interviewId}/room`);
      await bob.getByRole("button", { name: "Start interview" }).click();
      await bob.getByText("Recording", { exact: true }).waitFor();

      // HR's page notices the start by itself and offers the live view.
      await hr.getByRole("link", { name: "Watch live" }).click({ timeout: 20_000 });
      await hr.waitForURL(/\/live$/);
      await until("HR to see the greeting", async () =>
        (await shownMessages(hr)).some((m) => m.role === "ai" && m.text === BOB_GREETING && !m.streaming),
      );

      const answer = bob.getByLabel("Your answer");
      await until("Bob's answer box to open", async () => await answer.isEnabled());
      await answer.fill(BOB_ANSWER);
      await answer.press("Enter");
      // HR sees the answer and the reply streaming in, live.
      const live = await watchReply(hr, 1);
      assert.equal(live.final, BOB_REPLY);
      assert.ok(live.samples.length >= 2, "HR sees the reply grow");
      await until("HR to see Bob's answer", async () =>
        (await shownMessages(hr)).some((m) => m.role === "candidate" && m.text === BOB_ANSWER),
      );
      await screenshot(hr, "hr-live-view");

      await bob.getByRole("button", { name: "End interview" }).click();
      await bob.getByRole("dialog").getByRole("button", { name: "End interview" }).click();
      await bob.getByText("The interview is over. Thank you!").waitFor();
      await bob.getByText("Your camera recording was uploaded.").waitFor({ timeout: 30_000 });
      await screenshot(bob, "room-finished");
    } finally {
      await bobBrowser.close();
    }

    // The live view says it is over and leads to the report, which fills in by itself.
    await hr.getByText("The interview has ended.").waitFor();
    await hr.getByRole("link", { name: "Open the report" }).click();
    await hr.getByText("Overall score").waitFor({ timeout: 30_000 });
    const evaluation = hr.getByRole("region", { name: "Evaluation" });
    await evaluation.getByText("72").waitFor();
    await evaluation.getByText("Hire", { exact: true }).waitFor();
    await evaluation.getByText("Solid answers with concrete examples.").waitFor();
    assert.ok((await hr.getByTestId("score-bar").count()) >= 1, "scores per question as bars");
    const transcript = hr.getByRole("region", { name: "Transcript" });
    await transcript.getByText(BOB_ANSWER).waitFor();
    await screenshot(hr, "hr-report", true);
    await hrContext.close();
  });
});
