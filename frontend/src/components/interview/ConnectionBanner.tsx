import { Link } from "react-router-dom";
import type { ConnectionState } from "../../hooks/connectionMachine";
import { btnPrimary } from "../styles";

interface Props {
  state: ConnectionState;
  attempt: number;
  maxAttempts: number;
  onReconnect?: () => void;
  /** Observers never take an interview over; candidates may ("Continue here"). */
  canTakeOver?: boolean;
}

/** Plain-language reasons for the states the socket cannot leave by itself. */
const FINAL_MESSAGES: Partial<Record<ConnectionState, string>> = {
  replaced: "This interview was opened in another window.",
  unauthorized: "Your session has expired. Please sign in again.",
  forbidden: "You don't have access to this interview.",
  not_found: "This interview could not be found.",
  invalid_state: "This interview is not open any more: it was cancelled, has ended, or has expired.",
};

/** The connection's state in words, with the action that helps (reconnect, sign in). */
export function ConnectionBanner({ state, attempt, maxAttempts, onReconnect, canTakeOver = true }: Props) {
  const box = "flex flex-wrap items-center gap-3 rounded-md border px-4 py-3";
  switch (state) {
    case "connecting":
      return (
        <div role="status" className={`${box} border-slate-300 bg-slate-50 text-slate-800`}>
          Connecting…
        </div>
      );
    case "reconnecting":
      return (
        <div role="status" className={`${box} border-amber-400 bg-amber-50 text-amber-950`}>
          Connection lost. Reconnecting… (attempt {Math.max(attempt, 1)}/{maxAttempts})
        </div>
      );
    case "disconnected":
    case "closed":
      return (
        <div role="alert" className={`${box} border-red-400 bg-red-50 text-red-950`}>
          <span>
            <strong>Disconnected.</strong>{" "}
            {state === "closed" ? "The connection was closed." : "We could not reach the interview."} Your answers are kept.
          </span>
          {onReconnect ? (
            <button type="button" className={btnPrimary} onClick={onReconnect}>
              Reconnect
            </button>
          ) : null}
        </div>
      );
    case "replaced":
      return (
        <div role="alert" className={`${box} border-amber-400 bg-amber-50 text-amber-950`}>
          <span>{FINAL_MESSAGES.replaced}</span>
          {canTakeOver && onReconnect ? (
            <button type="button" className={btnPrimary} onClick={onReconnect}>
              Continue here
            </button>
          ) : null}
        </div>
      );
    case "unauthorized":
      return (
        <div role="alert" className={`${box} border-red-400 bg-red-50 text-red-950`}>
          <span>{FINAL_MESSAGES.unauthorized}</span>
          <Link to="/login" className="font-semibold text-red-950 underline">
            Sign in
          </Link>
        </div>
      );
    case "forbidden":
    case "not_found":
    case "invalid_state":
      return (
        <div role="alert" className={`${box} border-red-400 bg-red-50 text-red-950`}>
          {FINAL_MESSAGES[state]}
        </div>
      );
    default:
      return null;
  }
}
