import { useCallback, useId, useState, type FormEvent } from "react";
import { api, ApiError } from "../../api/client";
import { btnPrimary, card, input, label, pageTitle } from "../../components/styles";
import { useResource } from "../../hooks/useResource";
import { ListStatus } from "../../components/ListStatus";

/** Jobs, and a form for a new one (the AI drafts interview questions from these fields). */
export function JobsPage() {
  const load = useCallback((signal: AbortSignal) => api.listJobs(signal), []);
  const { data, error, loading, reload } = useResource(load);
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const [skills, setSkills] = useState("");
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const ids = { title: useId(), description: useId(), skills: useId(), hint: useId() };

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setFormError(null);
    try {
      await api.createJob({
        title,
        description,
        skills: skills
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean),
      });
      setTitle("");
      setDescription("");
      setSkills("");
      reload();
    } catch (err) {
      setFormError(err instanceof ApiError ? err.detail : "Could not add the job.");
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="flex flex-col gap-6">
      <h1 className={pageTitle}>Jobs</h1>
      <form onSubmit={onSubmit} className={`${card} flex max-w-2xl flex-col gap-4`} aria-labelledby="add-job">
        <h2 id="add-job" className="text-lg font-semibold">
          Add a job
        </h2>
        <div>
          <label htmlFor={ids.title} className={label}>
            Title
          </label>
          <input
            id={ids.title}
            required
            value={title}
            onChange={(e) => setTitle(e.target.value)}
            className={`${input} mt-1`}
          />
        </div>
        <div>
          <label htmlFor={ids.description} className={label}>
            Description
          </label>
          <textarea
            id={ids.description}
            rows={4}
            value={description}
            onChange={(e) => setDescription(e.target.value)}
            className={`${input} mt-1`}
          />
        </div>
        <div>
          <label htmlFor={ids.skills} className={label}>
            Skills
          </label>
          <input
            id={ids.skills}
            value={skills}
            aria-describedby={ids.hint}
            onChange={(e) => setSkills(e.target.value)}
            className={`${input} mt-1`}
          />
          <p id={ids.hint} className="mt-1 text-xs text-slate-700">
            Separated by commas, e.g. Python, SQL, teamwork
          </p>
        </div>
        {formError ? (
          <p role="alert" className="text-sm text-red-900">
            {formError}
          </p>
        ) : null}
        <div>
          <button type="submit" className={btnPrimary} disabled={busy}>
            Add job
          </button>
        </div>
      </form>
      <div>
        <h2 className="text-lg font-semibold">All jobs</h2>
        <ListStatus loading={loading} error={error} items={data} what="the jobs" empty="No jobs yet." />
        <ul className="mt-2 flex flex-col gap-2">
          {data?.map((j) => (
            <li key={j.id} className={card}>
              <h3 className="font-semibold text-slate-900">{j.title}</h3>
              {j.description ? <p className="mt-1 text-sm text-slate-800">{j.description}</p> : null}
              {j.skills?.length ? (
                <p className="mt-1 text-sm text-slate-700">Skills: {j.skills.join(", ")}</p>
              ) : null}
            </li>
          ))}
        </ul>
      </div>
    </section>
  );
}
