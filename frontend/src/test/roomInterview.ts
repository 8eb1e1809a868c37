import type { Interview } from "../api/client";

/** Interview 7 of the room tests: scheduled, three questions, nobody connected. */
export const roomInterview = (over: Partial<Interview> = {}): Interview => ({
  id: 7,
  status: "scheduled",
  job_id: 1,
  job_title: "Backend engineer",
  candidate_id: 2,
  candidate_name: "Ada",
  duration_min: 30,
  questions: [],
  question_count: 3,
  connected: false,
  created_by: 1,
  created_at: "2025-01-01T10:00:00Z",
  started_at: null,
  ended_at: null,
  ...over,
});
