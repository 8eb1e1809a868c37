import { useCallback } from "react";
import { Link } from "react-router-dom";
import { api } from "../../api/client";
import { StatusBadge } from "../../components/StatusBadge";
import { card, link, pageTitle } from "../../components/styles";
import { useResource } from "../../hooks/useResource";
import { ListStatus } from "../../components/ListStatus";

/** The candidate's own interviews, with a way into the room for open ones. */
export function MyInterviewsPage() {
  const load = useCallback((signal: AbortSignal) => api.listInterviews(signal), []);
  const { data, error, loading } = useResource(load, 15_000);

  return (
    <section>
      <h1 className={pageTitle}>My interviews</h1>
      <ListStatus loading={loading} error={error} items={data} what="your interviews" empty="You have no interviews yet." spacing="mt-4" />
      <ul className="mt-4 flex flex-col gap-3">
        {data?.map((iv) => (
          <li key={iv.id} className={`${card} flex flex-wrap items-center gap-4`}>
            <div className="min-w-0 flex-1">
              <h2 className="font-semibold text-slate-900">{iv.job_title ?? `Interview ${iv.id}`}</h2>
              <p className="text-sm text-slate-700">About {iv.duration_min} minutes</p>
            </div>
            <StatusBadge status={iv.status} />
            {iv.status === "scheduled" || iv.status === "in_progress" ? (
              <Link className={`${link} font-semibold`} to={`/interviews/${iv.id}/room`}>
                {iv.status === "scheduled" ? "Open the interview" : "Resume the interview"}
                <span className="sr-only"> for {iv.job_title ?? `interview ${iv.id}`}</span>
              </Link>
            ) : null}
          </li>
        ))}
      </ul>
    </section>
  );
}
