import type { InterviewStatus } from "../types/interview";

const LABELS: Record<InterviewStatus, string> = {
  scheduled: "Scheduled",
  in_progress: "In progress",
  completed: "Completed",
  cancelled: "Cancelled",
  expired: "Expired",
};

const COLORS: Record<InterviewStatus, string> = {
  scheduled: "bg-slate-100 text-slate-800 border-slate-300",
  in_progress: "bg-amber-50 text-amber-900 border-amber-300",
  completed: "bg-green-50 text-green-900 border-green-300",
  cancelled: "bg-red-50 text-red-900 border-red-300",
  expired: "bg-slate-100 text-slate-700 border-slate-300",
};

function statusLabel(status: InterviewStatus): string {
  return LABELS[status] ?? status;
}

/** Interview status; for a running one, whether the candidate is connected right now. */
export function StatusBadge({ status, connected }: { status: InterviewStatus; connected?: boolean }) {
  return (
    <span className="inline-flex items-center gap-2">
      <span className={`rounded-full border px-2 py-0.5 text-xs font-semibold ${COLORS[status] ?? ""}`}>
        {statusLabel(status)}
      </span>
      {status === "in_progress" ? (
        <span className="inline-flex items-center gap-1 text-xs text-slate-700">
          <span
            aria-hidden="true"
            className={`inline-block h-2 w-2 rounded-full ${connected ? "bg-green-600" : "bg-slate-400"}`}
          />
          {connected ? "Connected" : "Not connected"}
        </span>
      ) : null}
    </span>
  );
}
