import { useCallback, useState } from "react";
import { Link } from "react-router-dom";
import { api, ApiError, type Interview } from "../../api/client";
import { isStaff } from "../../auth/context";
import { useAuth } from "../../auth/useAuth";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { StatusBadge } from "../../components/StatusBadge";
import { btnPrimary, btnSecondary, link, pageTitle } from "../../components/styles";
import { useResource } from "../../hooks/useResource";

const POLL_MS = 5_000;

/** Every interview with its live status (polled), and what HR can do with each. */
export function InterviewsPage() {
  const { user } = useAuth();
  const load = useCallback((signal: AbortSignal) => api.listInterviews(signal), []);
  const { data, error, loading, reload } = useResource(load, POLL_MS);
  const [cancelling, setCancelling] = useState<Interview | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);

  const doCancel = async () => {
    const target = cancelling;
    setCancelling(null);
    if (!target) return;
    try {
      await api.cancelInterview(target.id);
      setActionError(null);
      reload();
    } catch (err) {
      setActionError(err instanceof ApiError ? err.detail : "Could not cancel the interview.");
    }
  };

  return (
    <section>
      <div className="flex flex-wrap items-center gap-4">
        <h1 className={pageTitle}>Interviews</h1>
        {isStaff(user) ? (
          <Link to="/hr/interviews/new" className={`${btnPrimary} ml-auto`}>
            New interview
          </Link>
        ) : null}
      </div>
      <p className="mt-1 text-sm text-slate-700">The status refreshes by itself every few seconds.</p>
      {loading ? (
        <p role="status" className="mt-4 text-slate-700">
          Loading…
        </p>
      ) : null}
      {error ? (
        <p role="alert" className="mt-4 text-red-900">
          Could not load the interviews: {error.message}
        </p>
      ) : null}
      {actionError ? (
        <p role="alert" className="mt-4 text-red-900">
          {actionError}
        </p>
      ) : null}
      {data && data.length === 0 ? <p className="mt-4 text-slate-800">No interviews yet.</p> : null}
      {data && data.length > 0 ? (
        <div className="mt-4 overflow-x-auto">
          <table className="w-full border-collapse bg-white text-left text-sm">
            <caption className="sr-only">Interviews and their status</caption>
            <thead>
              <tr className="border-b border-slate-300">
                <th scope="col" className="px-3 py-2">
                  Candidate
                </th>
                <th scope="col" className="px-3 py-2">
                  Job
                </th>
                <th scope="col" className="px-3 py-2">
                  Status
                </th>
                <th scope="col" className="px-3 py-2">
                  Created
                </th>
                <th scope="col" className="px-3 py-2">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {data.map((iv) => (
                <tr key={iv.id} className="border-b border-slate-200">
                  <td className="px-3 py-2">{iv.candidate_name ?? `Candidate ${iv.candidate_id}`}</td>
                  <td className="px-3 py-2">{iv.job_title ?? `Job ${iv.job_id}`}</td>
                  <td className="px-3 py-2">
                    <StatusBadge status={iv.status} connected={iv.connected} />
                  </td>
                  <td className="px-3 py-2">{iv.created_at ? new Date(iv.created_at).toLocaleString() : ""}</td>
                  <td className="px-3 py-2">
                    <div className="flex flex-wrap justify-end gap-3">
                      {iv.status === "in_progress" ? (
                        <Link className={link} to={`/hr/interviews/${iv.id}/live`}>
                          Watch live<span className="sr-only"> ({iv.candidate_name})</span>
                        </Link>
                      ) : null}
                      <Link className={link} to={`/hr/interviews/${iv.id}`}>
                        {iv.status === "completed" ? "Report" : "Details"}
                        <span className="sr-only"> ({iv.candidate_name})</span>
                      </Link>
                      {isStaff(user) && (iv.status === "scheduled" || iv.status === "in_progress") ? (
                        <button type="button" className={`${btnSecondary} py-1`} onClick={() => setCancelling(iv)}>
                          Cancel<span className="sr-only"> interview ({iv.candidate_name})</span>
                        </button>
                      ) : null}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <ConfirmDialog
        open={cancelling !== null}
        title="Cancel this interview?"
        confirmLabel="Cancel interview"
        cancelLabel="Keep it"
        danger
        onCancel={() => setCancelling(null)}
        onConfirm={doCancel}
      >
        {cancelling ? `${cancelling.candidate_name ?? "The candidate"} will not be able to take it.` : null}
      </ConfirmDialog>
    </section>
  );
}
