#!/usr/bin/env node
/**
 * The REST client's types, generated from the backend's OpenAPI schema.
 *
 *   node scripts/api-schema.mjs           regenerate src/api/schema.d.ts   (npm run api:generate)
 *   node scripts/api-schema.mjs --check   exit 1 when the committed file is stale (npm run api:check)
 *
 * The schema comes straight from the app object (`create_app().openapi()`), so no server, database
 * or Redis is needed; only the backend's virtualenv (../.venv, or HIREEZ_PYTHON).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";

const here = dirname(fileURLToPath(import.meta.url));
const frontend = resolve(here, "..");
const backend = resolve(frontend, "../backend");
const target = join(frontend, "src/api/schema.d.ts");
const python = process.env.HIREEZ_PYTHON ?? resolve(frontend, "../.venv/bin/python");
const check = process.argv.includes("--check");

const HEADER = `/**
 * GENERATED from the backend's OpenAPI schema by scripts/api-schema.mjs: do not edit by hand.
 * Regenerate with \`npm run api:generate\`; \`npm run api:check\` (in \`make test\`) fails when stale.
 */

`;

function dumpSchema() {
  if (!existsSync(python)) {
    console.error(`api-schema: no Python at ${python} (run \`make setup\`, or set HIREEZ_PYTHON)`);
    process.exit(2);
  }
  const code = "import json; from app.main import create_app; print(json.dumps(create_app().openapi()))";
  // The schema must not depend on this machine's settings: the embedded defaults, no AI keys.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(OPENAI_|LLM_|LOCAL_LLM_|DATABASE_URL|REDIS_URL|SECRET_KEY|CORS_ORIGINS)/.test(k),
    ),
  );
  const out = execFileSync(python, ["-c", code], { cwd: backend, env, encoding: "utf8", maxBuffer: 64 << 20 });
  return JSON.parse(out);
}

const schema = dumpSchema();
const ast = await openapiTS(schema, { alphabetize: false, exportType: false });
const generated = HEADER + astToString(ast);

const current = existsSync(target) ? readFileSync(target, "utf8") : "";
const rel = relative(frontend, target);
if (check) {
  if (current !== generated) {
    console.error(
      `api:check: ${rel} is stale: the backend's OpenAPI schema changed. Run \`npm run api:generate\` in frontend/ and commit it.`,
    );
    process.exit(1);
  }
  console.log(`api:check: ${rel} matches the backend's OpenAPI schema`);
} else if (current === generated) {
  console.log(`${rel} is up to date`);
} else {
  writeFileSync(target, generated);
  console.log(`wrote ${rel}`);
}
