import type { Question, QuestionScore } from "../../api/client";

interface Props {
  scores: QuestionScore[];
  questions: Question[];
  /** Scores run 0…max (the API's per-question scale is 0-10). */
  max?: number;
}

/**
 * Per-question scores as horizontal bars: plain divs, readable by screen readers as a list,
 * and printed with their colours (`print-exact`).
 */
export function ScoreChart({ scores, questions, max = 10 }: Props) {
  const byId = new Map(questions.map((q) => [q.id, q]));
  return (
    <ol aria-label="Score per question" className="flex flex-col gap-3">
      {scores.map((s, i) => {
        const q = s.question_id != null ? byId.get(s.question_id) : undefined;
        const number = q ? q.order + 1 : i + 1;
        const value = s.score ?? 0;
        const pct = Math.max(0, Math.min(100, (value / max) * 100));
        return (
          <li key={`${s.question_id ?? "q"}-${i}`} className="print-avoid-break">
            <div className="flex items-baseline justify-between gap-4 text-sm">
              <span className="font-medium text-slate-900">
                Question {number}
                {q ? <span className="font-normal text-slate-700">: {q.text}</span> : null}
              </span>
              <span className="shrink-0 font-semibold text-slate-900">
                {s.score == null ? "not scored" : `${formatScore(s.score)} / ${max}`}
              </span>
            </div>
            <div className="mt-1 h-4 w-full rounded bg-slate-200 print-exact" aria-hidden="true">
              <div
                className={`h-4 rounded print-exact ${barColor(pct)}`}
                style={{ width: `${pct}%` }}
                data-testid="score-bar"
              />
            </div>
            {s.comment ? <p className="mt-1 text-sm text-slate-700">{s.comment}</p> : null}
          </li>
        );
      })}
    </ol>
  );
}

function formatScore(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

function barColor(pct: number): string {
  if (pct >= 70) return "bg-green-700";
  if (pct >= 40) return "bg-amber-600";
  return "bg-red-700";
}
