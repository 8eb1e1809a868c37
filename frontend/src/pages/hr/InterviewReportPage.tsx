import { useCallback, useEffect, useRef, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { api, ApiError, type Evaluation, type Interview } from "../../api/client";
import { isStaff } from "../../auth/context";
import { useAuth } from "../../auth/useAuth";
import { ScoreChart } from "../../components/hr/ScoreChart";
import { StatusBadge } from "../../components/StatusBadge";
import { btnPrimary, btnSecondary, card, link, pageTitle } from "../../components/styles";
import { useResource } from "../../hooks/useResource";

const LIVE_POLL_MS = 5_000;

type EvaluationView = Evaluation | { status: "not_ready" };

const RECOMMENDATIONS: Record<string, string> = {
  strong_hire: "Strong hire",
  hire: "Hire",
  maybe: "Maybe",
  lean_hire: "Lean hire",
  lean_no_hire: "Lean no hire",
  no_hire: "No hire",
  strong_no_hire: "Strong no hire",
};

function recommendationText(r: string | null): string {
  if (!r) return "—";
  return RECOMMENDATIONS[r] ?? r.replace(/_/g, " ").replace(/^\w/, (c) => c.toUpperCase());
}

/** One interview for HR: details, the evaluation report (printable to PDF) and the transcript. */
export function InterviewReportPage() {
  const { id = "" } = useParams();
  const { user } = useAuth();
  const loadInterview = useCallback((signal: AbortSignal) => api.getInterview(id, signal), [id]);
  // A running interview is followed (status, transcript) until it ends; then the report is fetched.
  const [livePollMs, setLivePollMs] = useState<number | undefined>(undefined);
  const interview = useResource(loadInterview, livePollMs);
  const status = interview.data?.status;
  const running = status === "scheduled" || status === "in_progress";
  const livePoll = running ? LIVE_POLL_MS : undefined;
  if (livePoll !== livePollMs) setLivePollMs(livePoll);
  const loadTranscript = useCallback((signal: AbortSignal) => api.transcript(id, signal), [id]);
  const transcript = useResource(loadTranscript, livePollMs);
  const loadEvaluation = useCallback(
    async (signal: AbortSignal): Promise<EvaluationView> => {
      try {
        return await api.evaluation(id, signal);
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) return { status: "not_ready" };
        throw err;
      }
    },
    [id],
  );
  const [pollMs, setPollMs] = useState<number | undefined>(undefined);
  const evaluation = useResource(loadEvaluation, pollMs);
  const evalStatus = evaluation.data?.status;
  const shouldPoll = evalStatus === "pending" ? 3_000 : undefined;
  if (shouldPoll !== pollMs) setPollMs(shouldPoll); // poll only while the report is being made

  const { reload: reloadEvaluation } = evaluation;
  const { reload: reloadTranscript } = transcript;
  const wasRunning = useRef(false);
  useEffect(() => {
    if (running) wasRunning.current = true;
    else if (wasRunning.current) {
      wasRunning.current = false; // it has just ended: the report is queued, the transcript final
      reloadEvaluation();
      reloadTranscript();
    }
  }, [running, reloadEvaluation, reloadTranscript]);

  const [rerunError, setRerunError] = useState<string | null>(null);
  const rerun = async () => {
    try {
      await api.rerunEvaluation(id);
      setRerunError(null);
      evaluation.reload();
    } catch (err) {
      setRerunError(err instanceof ApiError ? err.detail : "Could not start the evaluation.");
    }
  };

  if (interview.loading) {
    return (
      <p role="status" className="text-slate-700">
        Loading…
      </p>
    );
  }
  if (interview.error || !interview.data) {
    return (
      <p role="alert" className="text-red-900">
        Could not load the interview: {interview.error?.message}
      </p>
    );
  }
  const iv: Interview = interview.data;

  return (
    <article className="flex flex-col gap-6">
      <header className="flex flex-wrap items-start gap-4">
        <div className="min-w-0 flex-1">
          <h1 className={pageTitle}>
            {iv.candidate_name ?? `Candidate ${iv.candidate_id}`}: {iv.job_title ?? `Job ${iv.job_id}`}
          </h1>
          <p className="mt-1 flex flex-wrap items-center gap-3 text-sm text-slate-700">
            <StatusBadge status={iv.status} connected={iv.connected} />
            <span>{iv.duration_min} minutes planned</span>
            {iv.started_at ? <span>Started {new Date(iv.started_at).toLocaleString()}</span> : null}
            {iv.ended_at ? <span>Ended {new Date(iv.ended_at).toLocaleString()}</span> : null}
          </p>
        </div>
        <div className="flex gap-3 print:hidden">
          {iv.status === "in_progress" ? (
            <Link className={btnSecondary} to={`/hr/interviews/${iv.id}/live`}>
              Watch live
            </Link>
          ) : null}
          <button type="button" className={btnPrimary} onClick={() => window.print()}>
            Print / save as PDF
          </button>
        </div>
      </header>

      <section aria-labelledby="evaluation-title" className={card}>
        <h2 id="evaluation-title" className="text-xl font-semibold">
          Evaluation
        </h2>
        {evaluation.loading ? (
          <p role="status" className="mt-2 text-slate-700">
            Loading…
          </p>
        ) : null}
        {evaluation.error ? (
          <p role="alert" className="mt-2 text-red-900">
            Could not load the evaluation: {evaluation.error.message}
          </p>
        ) : null}
        {evaluation.data?.status === "not_ready" ? (
          <p className="mt-2 text-slate-800">The report is made when the interview has ended.</p>
        ) : null}
        {evaluation.data?.status === "pending" ? (
          <p role="status" className="mt-2 text-slate-800">
            The report is being made… this page updates by itself.
          </p>
        ) : null}
        {evaluation.data?.status === "failed" ? (
          <p role="alert" className="mt-2 text-red-900">
            The report could not be made: {evaluation.data.detail}
          </p>
        ) : null}
        {evaluation.data?.status === "done" ? (
          <div className="mt-4 flex flex-col gap-6">
            <dl className="grid grid-cols-1 gap-4 sm:grid-cols-2">
              <div className="print-avoid-break">
                <dt className="text-sm font-medium text-slate-700">Overall score</dt>
                <dd className="text-4xl font-bold text-slate-900">
                  {evaluation.data.overall_score ?? "—"}
                  <span className="text-lg font-normal text-slate-700"> / 100</span>
                </dd>
              </div>
              <div className="print-avoid-break">
                <dt className="text-sm font-medium text-slate-700">Recommendation</dt>
                <dd className="text-2xl font-semibold text-slate-900">
                  {recommendationText(evaluation.data.recommendation)}
                </dd>
              </div>
            </dl>
            {evaluation.data.summary ? (
              <div className="print-avoid-break">
                <h3 className="font-semibold">Summary</h3>
                <p className="mt-1 whitespace-pre-wrap text-slate-900">{evaluation.data.summary}</p>
              </div>
            ) : null}
            {evaluation.data.question_scores.length ? (
              <div>
                <h3 className="mb-2 font-semibold">Scores per question</h3>
                <ScoreChart scores={evaluation.data.question_scores} questions={iv.questions} />
              </div>
            ) : null}
          </div>
        ) : null}
        {isStaff(user) && (evalStatus === "done" || evalStatus === "failed") ? (
          <div className="mt-4 print:hidden">
            <button type="button" className={btnSecondary} onClick={rerun}>
              Evaluate again
            </button>
            {rerunError ? (
              <p role="alert" className="mt-2 text-sm text-red-900">
                {rerunError}
              </p>
            ) : null}
          </div>
        ) : null}
      </section>

      {iv.questions.length ? (
        <section aria-labelledby="questions-title" className={card}>
          <h2 id="questions-title" className="text-xl font-semibold">
            Planned questions
          </h2>
          <ol className="mt-2 list-decimal pl-6 text-slate-900">
            {iv.questions.map((q) => (
              <li key={q.id}>{q.text}</li>
            ))}
          </ol>
        </section>
      ) : null}

      <section aria-labelledby="transcript-title" className={card}>
        <h2 id="transcript-title" className="text-xl font-semibold">
          Transcript
        </h2>
        {transcript.error ? (
          <p role="alert" className="mt-2 text-red-900">
            Could not load the transcript: {transcript.error.message}
          </p>
        ) : null}
        {transcript.data && transcript.data.length === 0 ? (
          <p className="mt-2 text-slate-800">Nothing has been said yet.</p>
        ) : null}
        <ol className="mt-2 flex flex-col gap-3">
          {transcript.data?.map((t) => (
            <li key={t.id} className="print-avoid-break">
              <span className="text-sm font-semibold text-slate-700">
                {t.role === "ai" ? "Interviewer" : "Candidate"}
              </span>
              <p className="whitespace-pre-wrap text-slate-900">{t.content}</p>
            </li>
          ))}
        </ol>
      </section>

      <p className="print:hidden">
        <Link className={link} to="/hr/interviews">
          Back to all interviews
        </Link>
      </p>
    </article>
  );
}
