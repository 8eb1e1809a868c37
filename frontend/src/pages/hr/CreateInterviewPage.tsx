import { useCallback, useId, useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router-dom";
import { api, ApiError, type Candidate, type Job } from "../../api/client";
import { btnPrimary, card, input, label, link, pageTitle } from "../../components/styles";
import { useResource } from "../../hooks/useResource";

type QuestionMode = "ai" | "own";

/** Schedule an interview: job, candidate, duration, and either our questions or the AI's draft. */
export function CreateInterviewPage() {
  const navigate = useNavigate();
  const loadOptions = useCallback(
    async (signal: AbortSignal): Promise<{ jobs: Job[]; candidates: Candidate[] }> => {
      const [jobs, candidates] = await Promise.all([api.listJobs(signal), api.listCandidates(signal)]);
      return { jobs, candidates };
    },
    [],
  );
  const options = useResource(loadOptions);
  const [jobId, setJobId] = useState("");
  const [candidateId, setCandidateId] = useState("");
  const [duration, setDuration] = useState("30");
  const [mode, setMode] = useState<QuestionMode>("ai");
  const [questions, setQuestions] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const ids = { job: useId(), candidate: useId(), duration: useId(), questions: useId(), qhint: useId() };

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    const list = questions
      .split("\n")
      .map((q) => q.trim())
      .filter(Boolean);
    if (mode === "own" && list.length === 0) {
      setError("Write at least one question, one per line, or let the AI draft them.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const created = await api.createInterview({
        job_id: Number(jobId),
        candidate_id: Number(candidateId),
        duration_min: Number(duration),
        ...(mode === "own" ? { questions: list } : {}),
      });
      navigate(`/hr/interviews/${created.id}`);
    } catch (err) {
      setError(err instanceof ApiError ? err.detail : "Could not create the interview.");
    } finally {
      setBusy(false);
    }
  };

  const noJobs = options.data && options.data.jobs.length === 0;
  const noCandidates = options.data && options.data.candidates.length === 0;

  return (
    <section className={`${card} max-w-2xl`}>
      <h1 className={pageTitle}>New interview</h1>
      {options.loading ? (
        <p role="status" className="mt-4 text-slate-700">
          Loading jobs and candidates…
        </p>
      ) : null}
      {options.error ? (
        <p role="alert" className="mt-4 text-red-900">
          Could not load jobs and candidates: {options.error.message}
        </p>
      ) : null}
      {noJobs || noCandidates ? (
        <p className="mt-4 text-slate-800">
          You need at least one{" "}
          {noJobs ? (
            <Link className={link} to="/hr/jobs">
              job
            </Link>
          ) : null}
          {noJobs && noCandidates ? " and one " : null}
          {noCandidates ? (
            <Link className={link} to="/hr/candidates">
              candidate
            </Link>
          ) : null}{" "}
          first.
        </p>
      ) : null}
      <form onSubmit={onSubmit} className="mt-4 flex flex-col gap-4">
        <div>
          <label htmlFor={ids.job} className={label}>
            Job
          </label>
          <select
            id={ids.job}
            required
            value={jobId}
            onChange={(e) => setJobId(e.target.value)}
            className={`${input} mt-1`}
          >
            <option value="">Choose a job…</option>
            {options.data?.jobs.map((j) => (
              <option key={j.id} value={j.id}>
                {j.title}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor={ids.candidate} className={label}>
            Candidate
          </label>
          <select
            id={ids.candidate}
            required
            value={candidateId}
            onChange={(e) => setCandidateId(e.target.value)}
            className={`${input} mt-1`}
          >
            <option value="">Choose a candidate…</option>
            {options.data?.candidates.map((c) => (
              <option key={c.id} value={c.id}>
                {c.full_name} ({c.email})
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor={ids.duration} className={label}>
            Duration (minutes)
          </label>
          <input
            id={ids.duration}
            type="number"
            min={5}
            max={240}
            required
            value={duration}
            onChange={(e) => setDuration(e.target.value)}
            className={`${input} mt-1 w-32`}
          />
        </div>
        <fieldset>
          <legend className={label}>Questions</legend>
          <div className="mt-2 flex flex-col gap-2">
            <label className="flex items-center gap-2 text-slate-900">
              <input type="radio" name="qmode" value="ai" checked={mode === "ai"} onChange={() => setMode("ai")} />
              Let the AI draft them from the job
            </label>
            <label className="flex items-center gap-2 text-slate-900">
              <input type="radio" name="qmode" value="own" checked={mode === "own"} onChange={() => setMode("own")} />
              Write the questions myself
            </label>
          </div>
        </fieldset>
        {mode === "own" ? (
          <div>
            <label htmlFor={ids.questions} className={label}>
              Questions, one per line
            </label>
            <textarea
              id={ids.questions}
              rows={6}
              value={questions}
              onChange={(e) => setQuestions(e.target.value)}
              aria-describedby={ids.qhint}
              className={`${input} mt-1`}
            />
            <p id={ids.qhint} className="mt-1 text-xs text-slate-700">
              They are asked in this order.
            </p>
          </div>
        ) : null}
        {error ? (
          <p role="alert" className="text-sm text-red-900">
            {error}
          </p>
        ) : null}
        <div>
          <button type="submit" className={btnPrimary} disabled={busy}>
            {busy ? (mode === "ai" ? "Drafting questions…" : "Creating…") : "Create interview"}
          </button>
        </div>
      </form>
    </section>
  );
}
