/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the same zod schemas the routes parse
 * requests with (runs.ts) and from the response schemas (responses.ts): component schemas in
 * openapi-schemas.ts, operations by area in openapi-runs.ts, openapi-pick.ts, openapi-sessions.ts
 * and openapi-operations.ts, shared pieces in openapi-common.ts. Served at /openapi.json
 * and rendered at /docs (routes/docs.ts); test/node/openapi.test.ts validates it against the
 * OpenAPI 3.1 schema and test/workers/openapi.test.ts checks it against the routes the app has.
 *
 * It depends on zod only (imports carry `.ts` so Node can import it as is).
 */
import { RUN_ID_PATTERN } from "../protocol/run-ids.ts";
import { SESSION_ID_PATTERN } from "../protocol/session-ids.ts";
import { ERROR_RESPONSES, type Json } from "./openapi-common.ts";
import { modelProxyPaths } from "./openapi-model-proxy.ts";
import { githubPaths, metaPaths, operationPaths } from "./openapi-operations.ts";
import { runPaths } from "./openapi-runs.ts";
import { componentSchemas } from "./openapi-schemas.ts";
import { SESSION_PATHS } from "./openapi-sessions.ts";
import { EVAL_PATHS } from "./openapi-evals.ts";
import { EVAL_ID_PATTERN } from "../protocol/eval-check.ts";

export { CREATE_RUN_EXAMPLES, RAISE_BUDGET_EXAMPLE } from "./openapi-runs.ts";

export const API_VERSION = "1.0.0";

type Method = "get" | "post" | "put" | "patch" | "delete";

export interface OpenApiDocument {
  openapi: "3.1.0";
  info: Json;
  jsonSchemaDialect: string;
  servers: Json[];
  security: Json[];
  tags: { name: string; description: string }[];
  paths: Record<string, Partial<Record<Method, Json>>>;
  components: { schemas: Record<string, Json>; responses: Record<string, Json>; parameters: Record<string, Json>; securitySchemes: Record<string, Json> };
}

function buildDocument(): OpenApiDocument {
  const schemas = componentSchemas();
  const paths = { ...runPaths(schemas), ...SESSION_PATHS, ...EVAL_PATHS, ...githubPaths(), ...modelProxyPaths(), ...operationPaths(), ...metaPaths() };
  return {
    openapi: "3.1.0",
    info: {
      title: "Forkyard",
      version: API_VERSION,
      summary: "Run N forks of a task on a git repository, each in its own sandbox, as durable Workflows.",
      description:
        "JSON over HTTPS. Every `/v1` route needs `Authorization: Bearer <token>`. Errors are `{ \"error\": { \"code\", \"message\", \"details\" } }` " +
        "with the HTTP status that fits; every response carries `X-Request-Id`. Bodies are limited to `MAX_BODY_BYTES` (1 MiB by default).",
    },
    jsonSchemaDialect: "https://spec.openapis.org/oas/3.1/dialect/base",
    servers: [{ url: "/", description: "this deployment" }],
    security: [{ bearer: [] }],
    tags: [
      { name: "runs", description: "Start, read and control runs and their forks." },
      { name: "sessions", description: "Durable multi-turn agents on a repository: messages, transcript, pause, fork." },
      { name: "evals", description: "Eval suites: tasks × configs as runs, hidden checks in fresh sandboxes, figures with 95 % intervals." },
      { name: "events", description: "Live progress as Server-Sent Events." },
      { name: "operations", description: "The sandbox pool and the orphan reaper." },
      { name: "github", description: "Runs started by GitHub webhooks (HMAC-signed, no bearer token)." },
      { name: "model proxy", description: "The Messages API for agent runtimes inside sandboxes (a per-fork token, no bearer token)." },
      { name: "meta", description: "Health, metrics and this document." },
    ],
    paths,
    components: {
      schemas,
      responses: ERROR_RESPONSES,
      parameters: {
        RunId: { name: "id", in: "path", required: true, description: "run id", schema: { type: "string", pattern: RUN_ID_PATTERN.source } },
        SessionId: { name: "id", in: "path", required: true, description: "session id", schema: { type: "string", pattern: SESSION_ID_PATTERN.source } },
        EvalId: { name: "id", in: "path", required: true, description: "eval id", schema: { type: "string", pattern: EVAL_ID_PATTERN.source } },
      },
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "One of the tokens in FORKYARD_API_TOKENS." },
        metricsToken: { type: "http", scheme: "bearer", description: "METRICS_TOKEN (only when the deployment sets one)." },
        modelProxyToken: { type: "apiKey", in: "header", name: "x-api-key", description: "A fork's model proxy token (the `claude-code` runtime's ANTHROPIC_API_KEY)." },
      },
    },
  };
}

let cached: OpenApiDocument | undefined;

/** The document (built once per isolate). */
export function openApiDocument(): OpenApiDocument {
  cached ??= buildDocument();
  return cached;
}
