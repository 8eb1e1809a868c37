import { useEffect, useLayoutEffect, useRef } from "react";
import type { ChatMessage } from "../../hooks/connectionMachine";

interface Props {
  messages: ChatMessage[];
  isThinking?: boolean;
  /** Name shown for the candidate's turns ("You" in the room, "Candidate" for HR). */
  candidateLabel?: string;
  /** Offer "Try again" on refused answers and after AI_UNAVAILABLE. */
  onRetry?: (clientMsgId: string) => void;
  retryableClientMsgId?: string | null;
}

/** How close to the bottom (px) still counts as "following the conversation". */
const STICKY_PX = 64;

/**
 * The conversation. Streamed AI text grows in place with a blinking cursor; the view follows
 * the newest text unless the reader has scrolled up. Screen readers hear each finished AI turn
 * once, through a separate polite live region, never the individual tokens.
 */
export function ConversationDisplay({
  messages,
  isThinking = false,
  candidateLabel = "You",
  onRetry,
  retryableClientMsgId = null,
}: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  const sticky = useRef(true);
  // Between stream_start and the first words the turn is still "thinking", not an empty bubble.
  const last = messages[messages.length - 1];
  const awaitingText = last?.role === "ai" && last.streaming && last.content === "";
  const shown = awaitingText ? messages.slice(0, -1) : messages;
  const thinking = isThinking || awaitingText;


  useLayoutEffect(() => {
    const el = scroller.current;
    if (el && sticky.current) el.scrollTop = el.scrollHeight;
  }, [messages, thinking]);

  // A banner or message above it can shrink the view: keep the newest text in sight.
  useEffect(() => {
    const el = scroller.current;
    if (!el || typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(() => {
      if (sticky.current) el.scrollTop = el.scrollHeight;
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  const onScroll = () => {
    const el = scroller.current;
    if (el) sticky.current = el.scrollHeight - el.scrollTop - el.clientHeight < STICKY_PX;
  };

  let lastFinishedAi: ChatMessage | undefined;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m && m.role === "ai" && !m.streaming) {
      lastFinishedAi = m;
      break;
    }
  }

  return (
    <div className="flex min-h-0 flex-1 flex-col">
      <div
        ref={scroller}
        onScroll={onScroll}
        role="region"
        aria-label="Conversation"
        // A scrollable region must take focus so that keyboard users can scroll it.
        // eslint-disable-next-line jsx-a11y/no-noninteractive-tabindex
        tabIndex={0}
        className="min-h-0 flex-1 overflow-y-auto rounded-lg border border-slate-200 bg-white p-4 print:overflow-visible"
        data-testid="conversation"
      >
        {shown.length === 0 && !thinking ? (
          <p className="text-slate-600">The conversation will appear here.</p>
        ) : null}
        <ol className="flex flex-col gap-4">
          {shown.map((m) => (
            <li
              key={m.id}
              className={`flex flex-col ${m.role === "candidate" ? "items-end" : "items-start"}`}
              data-testid={`message-${m.role}`}
            >
              <span className="mb-1 text-xs font-semibold text-slate-700">
                {m.role === "ai" ? "Interviewer" : candidateLabel}
              </span>
              <div
                aria-busy={m.streaming || undefined}
                className={`max-w-[85%] whitespace-pre-wrap rounded-lg px-4 py-2 ${
                  m.role === "ai" ? "bg-slate-100 text-slate-900" : "bg-blue-700 text-white"
                } ${m.status === "failed" ? "ring-2 ring-red-700" : ""}`}
              >
                {m.content}
                {m.streaming ? (
                  <span
                    aria-hidden="true"
                    data-testid="stream-cursor"
                    className="ml-0.5 inline-block animate-blink font-bold text-slate-900"
                  >
                    ▍
                  </span>
                ) : null}
              </div>
              {m.role === "candidate" && m.status === "pending" ? (
                <span className="mt-1 text-xs text-slate-700">Sending…</span>
              ) : null}
              {m.role === "candidate" && m.clientMsgId && (m.status === "failed" || m.clientMsgId === retryableClientMsgId) ? (
                <span className="mt-1 flex items-center gap-2 text-xs text-red-800">
                  {m.status === "failed" ? "Not sent." : "The interviewer could not reply."}
                  {onRetry ? (
                    <button
                      type="button"
                      className="rounded border border-red-700 px-2 py-0.5 font-semibold text-red-800 hover:bg-red-50"
                      onClick={() => onRetry(m.clientMsgId as string)}
                    >
                      Try again
                    </button>
                  ) : null}
                </span>
              ) : null}
            </li>
          ))}
        </ol>
        {thinking ? (
          <p role="status" className="mt-4 flex items-center gap-2 text-slate-700" data-testid="thinking">
            <span aria-hidden="true" className="inline-block h-2 w-2 animate-pulse rounded-full bg-slate-600" />
            AI is thinking…
          </p>
        ) : null}
      </div>
      <div aria-live="polite" aria-atomic="true" className="sr-only" data-testid="announcer">
        {lastFinishedAi ? `Interviewer: ${lastFinishedAi.content}` : ""}
      </div>
    </div>
  );
}
