import { useCallback } from "react";
import { Link, useParams } from "react-router-dom";
import { api } from "../../api/client";
import { ConnectionBanner } from "../../components/interview/ConnectionBanner";
import { ConversationDisplay } from "../../components/interview/ConversationDisplay";
import { StatusBadge } from "../../components/StatusBadge";
import { link, pageTitle } from "../../components/styles";
import { useResource } from "../../hooks/useResource";
import { useWebSocket } from "../../hooks/useWebSocket";

/** HR's read-only live view of a running interview, over the observe socket. */
export function LiveViewPage() {
  const { id = "" } = useParams();
  const loadInterview = useCallback((signal: AbortSignal) => api.getInterview(id, signal), [id]);
  const interview = useResource(loadInterview, 10_000);
  const socket = useWebSocket({ interviewId: id, mode: "observer", autoStart: true });
  const iv = interview.data;

  return (
    <div className="flex h-[calc(100vh-8rem)] min-h-[28rem] flex-col gap-3">
      <div className="flex flex-wrap items-center gap-x-6 gap-y-2">
        <h1 className={pageTitle}>
          Live: {iv ? `${iv.candidate_name ?? `Candidate ${iv.candidate_id}`}, ${iv.job_title ?? ""}` : `interview ${id}`}
        </h1>
        {iv ? <StatusBadge status={iv.status} connected={iv.connected} /> : null}
        {socket.questionNumber && socket.totalQuestions ? (
          <span className="text-slate-800">
            Question {Math.min(socket.questionNumber, socket.totalQuestions)} of {socket.totalQuestions}
          </span>
        ) : null}
        {socket.timeRemainingMin !== null && socket.connectionState !== "finished" ? (
          <span className="text-slate-800">About {Math.max(socket.timeRemainingMin, 0)} min left</span>
        ) : null}
      </div>
      <ConnectionBanner
        state={socket.connectionState}
        attempt={socket.reconnectAttempt}
        maxAttempts={socket.maxReconnectAttempts}
        onReconnect={socket.reconnect}
        canTakeOver={false}
      />
      <ConversationDisplay messages={socket.messages} isThinking={socket.isThinking} candidateLabel="Candidate" />
      {socket.connectionState === "finished" ? (
        <p role="status" className="text-slate-900">
          The interview has ended.{" "}
          <Link className={link} to={`/hr/interviews/${id}`}>
            Open the report
          </Link>
        </p>
      ) : null}
    </div>
  );
}
