// The live checks: run against a real backend by `make test` (scripts/with_backend.py sets
// HIREEZ_LIVE_URL); the default `npm test` leaves them out.
import { defineConfig, mergeConfig } from "vitest/config";
import base from "./vite.config";

export default mergeConfig(
  base,
  defineConfig({ test: { include: ["src/**/*.live.test.{ts,tsx}"], exclude: [] } }),
);
