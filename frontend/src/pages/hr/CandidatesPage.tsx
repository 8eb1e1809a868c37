import { useCallback, useId, useState, type FormEvent } from "react";
import { api, ApiError } from "../../api/client";
import { btnPrimary, card, input, label, pageTitle } from "../../components/styles";
import { useResource } from "../../hooks/useResource";
import { ListStatus } from "../../components/ListStatus";

/** Candidates, and a form that makes one (with the login they use for the interview room). */
export function CandidatesPage() {
  const load = useCallback((signal: AbortSignal) => api.listCandidates(signal), []);
  const { data, error, loading, reload } = useResource(load);
  const [form, setForm] = useState({ email: "", full_name: "", password: "", resume_text: "" });
  const [formError, setFormError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const ids = { email: useId(), name: useId(), password: useId(), resume: useId(), pwhint: useId() };

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setFormError(null);
    setSaved(null);
    try {
      const c = await api.createCandidate(form);
      setSaved(`${c.full_name} was added. They sign in with ${c.email}.`);
      setForm({ email: "", full_name: "", password: "", resume_text: "" });
      reload();
    } catch (err) {
      setFormError(
        err instanceof ApiError && err.status === 409
          ? "A user with that e-mail already exists."
          : err instanceof ApiError
            ? err.detail
            : "Could not add the candidate.",
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="flex flex-col gap-6">
      <h1 className={pageTitle}>Candidates</h1>
      <form onSubmit={onSubmit} className={`${card} flex max-w-2xl flex-col gap-4`} aria-labelledby="add-candidate">
        <h2 id="add-candidate" className="text-lg font-semibold">
          Add a candidate
        </h2>
        <div>
          <label htmlFor={ids.name} className={label}>
            Full name
          </label>
          <input
            id={ids.name}
            required
            value={form.full_name}
            onChange={(e) => setForm({ ...form, full_name: e.target.value })}
            className={`${input} mt-1`}
          />
        </div>
        <div>
          <label htmlFor={ids.email} className={label}>
            E-mail
          </label>
          <input
            id={ids.email}
            type="email"
            required
            value={form.email}
            onChange={(e) => setForm({ ...form, email: e.target.value })}
            className={`${input} mt-1`}
          />
        </div>
        <div>
          <label htmlFor={ids.password} className={label}>
            Password for the candidate
          </label>
          <input
            id={ids.password}
            type="password"
            autoComplete="new-password"
            minLength={8}
            required
            value={form.password}
            aria-describedby={ids.pwhint}
            onChange={(e) => setForm({ ...form, password: e.target.value })}
            className={`${input} mt-1`}
          />
          <p id={ids.pwhint} className="mt-1 text-xs text-slate-700">
            At least 8 characters. Give it to the candidate with the interview link.
          </p>
        </div>
        <div>
          <label htmlFor={ids.resume} className={label}>
            Résumé (optional)
          </label>
          <textarea
            id={ids.resume}
            rows={4}
            value={form.resume_text}
            onChange={(e) => setForm({ ...form, resume_text: e.target.value })}
            className={`${input} mt-1`}
          />
        </div>
        {formError ? (
          <p role="alert" className="text-sm text-red-900">
            {formError}
          </p>
        ) : null}
        {saved ? (
          <p role="status" className="text-sm text-green-900">
            {saved}
          </p>
        ) : null}
        <div>
          <button type="submit" className={btnPrimary} disabled={busy}>
            Add candidate
          </button>
        </div>
      </form>

      <div>
        <h2 className="text-lg font-semibold">All candidates</h2>
        <ListStatus loading={loading} error={error} items={data} what="the candidates" empty="No candidates yet." />
        <ul className="mt-2 flex flex-col gap-2">
          {data?.map((c) => (
            <li key={c.id} className={card}>
              <span className="font-semibold text-slate-900">{c.full_name}</span>{" "}
              <span className="text-slate-700">{c.email}</span>
              {c.is_active === false ? <span className="ml-2 text-sm text-red-900">(inactive)</span> : null}
            </li>
          ))}
        </ul>
      </div>
    </section>
  );
}
