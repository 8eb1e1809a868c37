// The live checks: run against a real backend by `make test` (scripts/with_backend.py sets
// HIREEZ_LIVE_URL); the default `npm test` leaves them out.
import { defineConfig } from "vitest/config";
import base from "./vite.config";

// Not mergeConfig: it appends to the base's include/exclude lists, which would keep excluding
// exactly these tests (and run the unit tests again instead).
export default defineConfig({
  ...base,
  test: { ...base.test, include: ["src/**/*.live.test.{ts,tsx}"], exclude: ["node_modules/**"] },
});
