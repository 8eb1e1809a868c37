import { act, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { ReactElement } from "react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import WS from "vitest-websocket-mock";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Interview } from "../../api/client";
import { AuthContext } from "../../auth/context";
import { CreateInterviewPage } from "./CreateInterviewPage";
import { InterviewReportPage } from "./InterviewReportPage";
import { InterviewsPage } from "./InterviewsPage";
import { LiveViewPage } from "./LiveViewPage";

const hr = {
  id: 1,
  email: "hr@x.test",
  full_name: "Harper",
  role: "hr_manager" as const,
  is_active: true,
  created_at: "2025-01-01T10:00:00Z",
};

const iv = (over: Partial<Interview>): Interview => ({
  id: 1,
  status: "scheduled",
  job_id: 1,
  job_title: "Backend Engineer",
  candidate_id: 1,
  candidate_name: "Alice",
  duration_min: 30,
  questions: [
    { id: 11, order: 0, text: "Tell me about a system you built." },
    { id: 12, order: 1, text: "How do you test?" },
  ],
  question_count: 2,
  connected: false,
  created_by: 1,
  created_at: "2025-01-01T10:00:00Z",
  started_at: null,
  ended_at: null,
  ...over,
});

type Routes = Record<string, { status?: number; body: unknown }>;

/** fetch answering by "METHOD path"; records request bodies. */
function mockApi(routes: Routes) {
  const calls: { key: string; body: unknown }[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const key = `${init?.method ?? "GET"} ${String(input)}`;
    calls.push({ key, body: init?.body ? JSON.parse(String(init.body)) : undefined });
    const hit = routes[key];
    if (!hit) return new Response(JSON.stringify({ detail: "Not Found" }), { status: 404 });
    return new Response(JSON.stringify(hit.body), { status: hit.status ?? 200 });
  });
  return calls;
}

function renderAt(path: string, route: string, element: ReactElement) {
  render(
    <AuthContext.Provider value={{ user: hr, loading: false, login: vi.fn(), logout: vi.fn() }}>
      <MemoryRouter initialEntries={[path]}>
        <Routes>
          <Route path={route} element={element} />
          <Route path="/hr/interviews/:id" element={<p>report page</p>} />
        </Routes>
      </MemoryRouter>
    </AuthContext.Provider>,
  );
}

afterEach(() => {
  localStorage.clear();
  WS.clean();
});

describe("HR pages", () => {
  it("lists interviews with their live status", async () => {
    mockApi({
      "GET /api/v1/interviews": {
        body: [
          iv({ id: 1, status: "in_progress", connected: true }),
          iv({ id: 2, status: "completed", candidate_name: "Bob" }),
          iv({ id: 3, status: "scheduled", candidate_name: "Cleo" }),
        ],
      },
    });
    renderAt("/hr/interviews", "/hr/interviews", <InterviewsPage />);
    const rows = await screen.findAllByRole("row");
    expect(rows).toHaveLength(4);
    const running = rows[1] as HTMLElement;
    expect(within(running).getByText("In progress")).toBeInTheDocument();
    expect(within(running).getByText("Connected")).toBeInTheDocument();
    expect(within(running).getByRole("link", { name: /Watch live/ })).toHaveAttribute("href", "/hr/interviews/1/live");
    expect(within(rows[2] as HTMLElement).getByRole("link", { name: /Report/ })).toHaveAttribute("href", "/hr/interviews/2");
    expect(within(rows[3] as HTMLElement).getByRole("button", { name: /Cancel/ })).toBeInTheDocument();
  });

  it("creates an interview whose questions the AI drafts (no questions sent)", async () => {
    const calls = mockApi({
      "GET /api/v1/jobs": { body: [{ id: 4, title: "Backend Engineer", description: "", skills: [] }] },
      "GET /api/v1/candidates": { body: [{ id: 9, user_id: 3, email: "a@x.test", full_name: "Alice", resume_text: "" }] },
      "POST /api/v1/interviews": { status: 201, body: iv({ id: 42 }) },
    });
    const user = userEvent.setup();
    renderAt("/hr/interviews/new", "/hr/interviews/new", <CreateInterviewPage />);
    await user.selectOptions(await screen.findByLabelText("Job"), "4");
    await user.selectOptions(screen.getByLabelText("Candidate"), "9");
    expect(screen.getByLabelText("Let the AI draft them from the job")).toBeChecked();
    await user.click(screen.getByRole("button", { name: "Create interview" }));
    expect(await screen.findByText("report page")).toBeInTheDocument();
    expect(calls.find((c) => c.key === "POST /api/v1/interviews")?.body).toEqual({
      job_id: 4,
      candidate_id: 9,
      duration_min: 30,
    });
  });

  it("creates an interview with our own questions, one per line", async () => {
    const calls = mockApi({
      "GET /api/v1/jobs": { body: [{ id: 4, title: "Backend Engineer", description: "", skills: [] }] },
      "GET /api/v1/candidates": { body: [{ id: 9, user_id: 3, email: "a@x.test", full_name: "Alice", resume_text: "" }] },
      "POST /api/v1/interviews": { status: 201, body: iv({ id: 42 }) },
    });
    const user = userEvent.setup();
    renderAt("/hr/interviews/new", "/hr/interviews/new", <CreateInterviewPage />);
    await user.selectOptions(await screen.findByLabelText("Job"), "4");
    await user.selectOptions(screen.getByLabelText("Candidate"), "9");
    await user.click(screen.getByLabelText("Write the questions myself"));
    await user.type(screen.getByLabelText("Questions, one per line"), "First?{Enter}{Enter}Second?");
    await user.click(screen.getByRole("button", { name: "Create interview" }));
    await screen.findByText("report page");
    expect(calls.find((c) => c.key === "POST /api/v1/interviews")?.body).toMatchObject({ questions: ["First?", "Second?"] });
  });

  it("shows the evaluation report with a bar per question and the transcript, and prints", async () => {
    mockApi({
      "GET /api/v1/interviews/1": { body: iv({ status: "completed" }) },
      "GET /api/v1/interviews/1/transcript": {
        body: [
          { id: 1, seq: 3, role: "ai", content: "Hello Alice.", created_at: "x" },
          { id: 2, seq: 9, role: "candidate", content: "Hi!", created_at: "x" },
        ],
      },
      "GET /api/v1/interviews/1/evaluation": {
        body: {
          status: "done",
          overall_score: 72,
          recommendation: "hire",
          summary: "Solid backend experience.",
          question_scores: [
            { question_id: 11, score: 8, comment: "Concrete." },
            { question_id: 12, score: 6, comment: null },
          ],
        },
      },
    });
    const print = vi.spyOn(window, "print").mockImplementation(() => undefined);
    const user = userEvent.setup();
    renderAt("/hr/interviews/1", "/hr/interviews/:id", <InterviewReportPage />);
    expect(await screen.findByText("72")).toBeInTheDocument();
    expect(screen.getByText("Hire")).toBeInTheDocument();
    expect(screen.getByText("Solid backend experience.")).toBeInTheDocument();
    expect(screen.getAllByTestId("score-bar").map((b) => b.style.width)).toEqual(["80%", "60%"]);
    expect(await screen.findByText("Hello Alice.")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Print / save as PDF" }));
    expect(print).toHaveBeenCalled();
  });

  it("says when the report is still being made, and when the interview has not ended", async () => {
    mockApi({
      "GET /api/v1/interviews/1": { body: iv({ status: "completed" }) },
      "GET /api/v1/interviews/1/transcript": { body: [] },
      "GET /api/v1/interviews/1/evaluation": { status: 202, body: { status: "pending" } },
    });
    renderAt("/hr/interviews/1", "/hr/interviews/:id", <InterviewReportPage />);
    expect(await screen.findByText(/The report is being made/)).toBeInTheDocument();
  });

  it("before the end the report says it comes later", async () => {
    mockApi({
      "GET /api/v1/interviews/1": { body: iv({ status: "in_progress" }) },
      "GET /api/v1/interviews/1/transcript": { body: [] },
    });
    renderAt("/hr/interviews/1", "/hr/interviews/:id", <InterviewReportPage />);
    expect(await screen.findByText("The report is made when the interview has ended.")).toBeInTheDocument();
  });

  it("follows a running interview and shows the report by itself when it ends", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    try {
      const routes: Routes = {
        "GET /api/v1/interviews/1": { body: iv({ status: "in_progress", connected: true }) },
        "GET /api/v1/interviews/1/transcript": { body: [] },
      };
      mockApi(routes);
      renderAt("/hr/interviews/1", "/hr/interviews/:id", <InterviewReportPage />);
      expect(await screen.findByText("The report is made when the interview has ended.")).toBeInTheDocument();
      expect(screen.getByRole("link", { name: "Watch live" })).toBeInTheDocument();

      routes["GET /api/v1/interviews/1"] = { body: iv({ status: "completed" }) };
      routes["GET /api/v1/interviews/1/transcript"] = {
        body: [{ id: 1, seq: 3, role: "ai", content: "Hello Alice.", created_at: "x" }],
      };
      routes["GET /api/v1/interviews/1/evaluation"] = {
        body: { status: "done", overall_score: 64, recommendation: "maybe", summary: "Fine.", question_scores: [] },
      };
      await act(async () => {
        await vi.advanceTimersByTimeAsync(5_000);
      });
      expect(await screen.findByText("64")).toBeInTheDocument();
      expect(await screen.findByText("Hello Alice.")).toBeInTheDocument();
      expect(screen.queryByRole("link", { name: "Watch live" })).not.toBeInTheDocument();
    } finally {
      vi.useRealTimers();
    }
  });

  it("the live view watches over /observe, read-only", async () => {
    const server = new WS(`ws://${location.host}/api/v1/ws/interview/1/observe`, { jsonProtocol: true });
    mockApi({
      "GET /api/v1/interviews/1": { body: iv({ status: "in_progress", connected: true }) },
      "POST /api/v1/auth/ws-ticket": { body: { ticket: "obs", expires_in: 30 } },
    });
    renderAt("/hr/interviews/1/live", "/hr/interviews/:id/live", <LiveViewPage />);
    const client = await server.connected;
    expect(client.url).toContain("/observe?token=obs");
    server.send({
      type: "reconnected",
      status: "in_progress",
      conversation_history: [
        { id: 1, seq: 3, role: "ai", content: "Hello Alice.", created_at: "x", stream_id: "g" },
        { id: 2, seq: 9, role: "candidate", content: "Hi there.", created_at: "x", client_msg_id: "c1" },
      ],
      current_question: 0,
      question_number: 1,
      total_questions: 2,
      time_remaining_min: 20,
      pending_stream: { stream_id: "r1", kind: "response", content: "Thanks", chunk_index: 0 },
      last_seq: 12,
      epoch: "e",
    });
    expect(await screen.findByText("Hi there.")).toBeInTheDocument();
    expect(screen.getByTestId("stream-cursor")).toBeInTheDocument();
    expect(screen.getByText("Question 1 of 2")).toBeInTheDocument();
    expect(screen.getAllByTestId("message-candidate")[0]).toHaveTextContent("Candidate");
    expect(screen.queryByLabelText("Your answer")).not.toBeInTheDocument();
    expect(server.messages).toEqual([]);
  });
});
