/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the same zod schemas the routes parse
 * requests with (runs.ts) and from the response schemas (responses.ts). Served at /openapi.json
 * and rendered at /docs (routes/docs.ts); test/node/openapi.test.ts validates it against the
 * OpenAPI 3.1 schema and test/workers/openapi.test.ts checks it against the routes the app has.
 *
 * It depends on zod only (imports carry `.ts` so Node can import it as is).
 */
import { z } from "zod";
import { RUN_ID_PATTERN } from "../protocol/run-ids.ts";
import { SESSION_ID_PATTERN } from "../protocol/session-ids.ts";
import * as res from "./responses.ts";
import { poolConfigRequest } from "./pool.ts";
import { putTemplateRequest } from "./templates.ts";
import { errors, json, ref, type Json } from "./openapi-common.ts";
import { SESSION_PATHS, SESSION_REQUEST_SCHEMAS, SESSION_RESPONSE_SCHEMAS } from "./openapi-sessions.ts";
import { PICK_RESPONSE_SCHEMAS, pickPaths } from "./openapi-pick.ts";
import { agentTask, commandsTask, createRunRequest, forkNumberParam, forkStatus, gitRefName, branchRequest, judgeRequest, listRunsQuery, raiseBudgetRequest, runStatus } from "./runs.ts";

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


/** Bodies of POST /v1/runs shown in the document and prefilled by /docs; each must parse (tested). */
export const CREATE_RUN_EXAMPLES = {
  commands: {
    summary: "A test matrix: 4 forks of plain commands",
    value: {
      repo: "https://github.com/acme/app.git",
      branch: "main",
      task: { commands: ["npm ci", "npm test -- --shard=$FORKYARD_FORK/$FORKYARD_FORKS"] },
      forks: 4,
      maxConcurrent: 2,
      timeoutSeconds: 7200,
      check: "npm test",
      budgetUsd: 5,
      metadata: { ticket: "ENG-42" },
    },
  },
  agent: {
    summary: "An agent task: 3 attempts at a prompt",
    value: {
      repo: "https://github.com/acme/app.git",
      task: { prompt: "Fix the flaky test in test/api.test.ts and explain the cause.", model: "sonnet", maxTurns: 40 },
      forks: 3,
      check: "npm test",
      budgetUsd: 10,
    },
  },
} as const;

export const RAISE_BUDGET_EXAMPLE = { budgetUsd: 20 } as const;
export const POOL_CONFIG_EXAMPLE = { templates: { base: { min: 5, max: 10, idleSeconds: 300, mode: "running" } } } as const;

/** What gitRefName's refinements (not expressible in JSON Schema) require besides its pattern. */
const GIT_REF_RULES = "a git ref name: not starting with - or /, not ending with /, . or .lock, without .. // or /.";

/** Copies `.describe()` text (zod's global registry) into the JSON Schema of a registry conversion. */
function withDescriptions(ctx: { zodSchema: z.core.$ZodType; jsonSchema: z.core.JSONSchema.BaseSchema }): void {
  const description = ctx.zodSchema === gitRefName ? GIT_REF_RULES : z.globalRegistry.get(ctx.zodSchema)?.description;
  if (description && ctx.jsonSchema.description === undefined) ctx.jsonSchema.description = description;
}

/**
 * Output-mode conversion marks every object `additionalProperties: false`, true only of strict
 * objects (whose catchall is `never`): responses may gain fields, so plain objects stay open.
 */
function openPlainObjects(ctx: { zodSchema: z.core.$ZodType; jsonSchema: z.core.JSONSchema.BaseSchema }): void {
  const def = ctx.zodSchema._zod.def;
  if (def.type === "object" && (def as z.core.$ZodObjectDef).catchall === undefined && ctx.jsonSchema.additionalProperties === false) {
    delete ctx.jsonSchema.additionalProperties;
  }
}

/** `z.number().int()` emits the safe-integer range as bounds: noise in a document. */
function dropSafeIntegerBounds(ctx: { jsonSchema: z.core.JSONSchema.BaseSchema }): void {
  if (ctx.jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete ctx.jsonSchema.minimum;
  if (ctx.jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete ctx.jsonSchema.maximum;
}

function convert(entries: [string, z.core.$ZodType][], io: "input" | "output"): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of entries) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    target: "draft-2020-12",
    io,
    unrepresentable: "throw",
    uri: (id) => `#/components/schemas/${id}`,
    override: (ctx) => {
      withDescriptions(ctx);
      dropSafeIntegerBounds(ctx);
      if (io === "output") openPlainObjects(ctx);
    },
  });
  const out: Record<string, Json> = {};
  for (const [id, schema] of Object.entries(schemas)) {
    const { $schema: _dialect, $id: _id, ...rest } = schema as Json;
    out[id] = rest;
  }
  return out;
}

function componentSchemas(): Record<string, Json> {
  const shared: [string, z.core.$ZodType][] = [
    ["RunStatus", runStatus],
    ["ForkStatus", forkStatus],
    ["CommandsTask", commandsTask],
    ["AgentTask", agentTask],
  ];
  const requests = convert(
    [
      ...shared,
      ["CreateRunRequest", createRunRequest],
      ["RaiseBudgetRequest", raiseBudgetRequest],
      ["ListRunsQuery", listRunsQuery],
      ["PoolConfigRequest", poolConfigRequest],
      ["PutTemplateRequest", putTemplateRequest],
      ["JudgeRequest", judgeRequest],
      ["BranchRequest", branchRequest],
      ...SESSION_REQUEST_SCHEMAS,
    ],
    "input",
  );
  const responses = convert(
    [
      ...shared,
      ["RunRequest", res.runView.shape.request],
      ["RunView", res.runView],
      ["RunTotals", res.runTotals],
      ["ForkView", res.forkView],
      ["StepView", res.stepView],
      ["CommandResult", res.commandResult],
      ["CheckResult", res.checkResult],
      ["DiffStats", res.diffStats],
      ["AgentView", res.agentView],
      ["PushedBranch", res.pushedBranch],
      ["TokenCounts", res.tokenCounts],
      ["CostView", res.costView],
      ["ForkError", res.forkError],
      ["RunSummary", res.runSummary],
      ["RankEntry", res.rankEntry],
      ["CompareView", res.compareView],
      ["BranchResponse", res.branchResponse],
      ["CompareFork", res.compareFork],
      ["RunPage", res.runPage],
      ["CreatedRun", res.createdRun],
      ["RunLinks", res.runLinks],
      ["Error", res.errorBody],
      ["PoolStatus", res.poolStatus],
      ["ArtifactList", res.artifactList],
      ["RunSandbox", res.runSandbox],
      ["Profiles", res.profiles],
      ["TemplateAlias", res.templateAlias],
      ["PoolTemplateStatus", res.poolTemplateStatus],
      ["ReaperReport", res.reaperReport],
      ["ReapedSandbox", res.reapedSandbox],
      ["FreedLease", res.freedLease],
      ["Health", res.health],
      ["RunEvent", res.runEventData],
      ["WebhookRun", res.webhookRun],
      ["WebhookIgnored", res.webhookIgnored],
      ["WebhookPing", res.webhookPing],
      ...SESSION_RESPONSE_SCHEMAS,
      ...PICK_RESPONSE_SCHEMAS,
    ],
    "output",
  );
  for (const [id] of shared) {
    if (JSON.stringify(requests[id]) !== JSON.stringify(responses[id])) throw new Error(`openapi: schema ${id} differs between requests and responses`);
  }
  // The run's stored request is the parsed body: every default is filled in (metadata keys: the refine below).
  const schemas = { ...requests, ...responses };
  for (const name of ["CreateRunRequest", "RunRequest"]) {
    const metadata = (schemas[name]?.properties as Record<string, Json> | undefined)?.metadata;
    if (metadata) metadata.maxProperties = 32;
  }
  return schemas;
}

const errorResponse = (description: string, example: { code: string; message: string; details?: Json }, headers?: Json): Json => ({
  description,
  ...(headers ? { headers } : {}),
  content: { "application/json": { schema: ref("Error"), example: { error: example } } },
});

const RESPONSES: Record<string, Json> = {
  BadRequest: errorResponse("Invalid input: `details.field` names the field at fault (dotted, e.g. `task.commands`).", {
    code: "invalid_input",
    message: "forks: Too big: expected number to be <=100",
    details: { field: "forks", issues: [{ field: "forks", message: "Too big: expected number to be <=100" }] },
  }),
  Unauthorized: errorResponse("Missing or wrong bearer token.", { code: "unauthorized", message: "A valid bearer token is required (Authorization: Bearer <token>)." }),
  NotFound: errorResponse("No such run (or fork) or session.", { code: "not_found", message: 'run "rabc…" does not exist.', details: { run: "rabc…" } }),
  Conflict: errorResponse("The run, fork or session is not in a state that allows this: run_not_running, run_not_paused, run_finished, fork_finished, idempotency_key_reused, session_failed, session_destroyed, session_not_forkable, turn_running.", {
    code: "run_finished",
    message: "The run already ended (completed).",
  }),
  PayloadTooLarge: errorResponse("The body is larger than MAX_BODY_BYTES.", { code: "payload_too_large", message: "Request body exceeds 1048576 bytes.", details: { limitBytes: 1048576 } }),
  RateLimited: errorResponse(
    "Too many requests; retry after the delay in Retry-After.",
    { code: "rate_limited", message: "Too many requests.", details: { retryAfterSeconds: 1 } },
    { "Retry-After": { description: "seconds to wait", schema: { type: "integer" } } },
  ),
  InternalError: errorResponse("Unexpected failure (`details.requestId` to quote), or `config_invalid`.", {
    code: "internal_error",
    message: "Internal error.",
    details: { requestId: "8e6c…" },
  }),
  AgentUnavailable: errorResponse("Agent tasks need a model API key this deployment does not have.", {
    code: "agent_unavailable",
    message: "Agent tasks are not available: this deployment has no ANTHROPIC_API_KEY.",
  }),
  GitHubUnavailable: errorResponse("GitHub webhooks are not configured (no GITHUB_WEBHOOK_SECRET), or GitHub could not be reached.", {
    code: "github_unavailable",
    message: "GitHub webhooks are not configured: this deployment has no GITHUB_WEBHOOK_SECRET.",
  }),
};

const runIdParam = { $ref: "#/components/parameters/RunId" };
const aliasParam = { name: "alias", in: "path", required: true, description: "a template alias", schema: { type: "string", pattern: "^[A-Za-z0-9._:-]+$" } };

function runAction(action: "pause" | "resume" | "cancel", summary: string, description: string): Json {
  return {
    tags: ["runs"],
    operationId: `${action}Run`,
    summary,
    description,
    parameters: [runIdParam],
    responses: { "200": json(ref("RunView"), "The run after the change."), ...errors(["Unauthorized", "NotFound", "Conflict"]) },
  };
}

function buildDocument(): OpenApiDocument {
  const schemas = componentSchemas();
  const listQuery = schemas.ListRunsQuery as { properties: Record<string, Json> };
  delete schemas.ListRunsQuery;
  const queryDescriptions: Record<string, string> = {
    status: "only runs with this status",
    limit: "runs per page",
    cursor: "`nextCursor` of the previous page",
  };
  const listParameters = Object.entries(listQuery.properties).map(([name, schema]) => ({
    name,
    in: "query",
    required: false,
    description: queryDescriptions[name],
    schema,
  }));
  const forkNumberSchema = z.toJSONSchema(forkNumberParam, { target: "draft-2020-12", io: "input" }) as Json;
  const forkParam = { name: "n", in: "path", required: true, description: "fork number (1..N)", schema: forkNumberSchema };
  delete forkNumberSchema.$schema;

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
      { name: "events", description: "Live progress as Server-Sent Events." },
      { name: "operations", description: "The sandbox pool and the orphan reaper." },
      { name: "github", description: "Runs started by GitHub webhooks (HMAC-signed, no bearer token)." },
      { name: "meta", description: "Health, metrics and this document." },
    ],
    paths: {
      "/v1/runs": {
        post: {
          tags: ["runs"],
          operationId: "createRun",
          summary: "Start a run",
          description:
            "Starts a run of `forks` attempts of the task. With an `Idempotency-Key` the same key always returns the same run " +
            "(202 with `Idempotent-Replayed: true`); reusing a key with a different body is a 409.",
          parameters: [
            {
              name: "Idempotency-Key",
              in: "header",
              required: false,
              description: "the same key always names the same run",
              schema: { type: "string", minLength: 1, maxLength: 255 },
            },
          ],
          requestBody: {
            required: true,
            content: { "application/json": { schema: ref("CreateRunRequest"), examples: CREATE_RUN_EXAMPLES } },
          },
          responses: {
            "202": json(ref("CreatedRun"), "The run was created (or, with a known Idempotency-Key, found).", {
              headers: { "Idempotent-Replayed": { description: "`true` when an earlier request with this Idempotency-Key created the run", schema: { type: "string", enum: ["true"] } } },
            }),
            ...errors(["BadRequest", "Unauthorized", "Conflict", "PayloadTooLarge", "AgentUnavailable"]),
          },
        },
        get: {
          tags: ["runs"],
          operationId: "listRuns",
          summary: "List runs, newest first",
          parameters: listParameters,
          responses: { "200": json(ref("RunPage"), "A page of runs."), ...errors(["BadRequest", "Unauthorized"]) },
        },
      },
      "/v1/runs/{id}": {
        get: {
          tags: ["runs"],
          operationId: "getRun",
          summary: "A run with every fork and its totals",
          parameters: [runIdParam],
          responses: { "200": json(ref("RunView"), "The run."), ...errors(["Unauthorized", "NotFound"]) },
        },
      },
      "/v1/runs/{id}/pause": { post: runAction("pause", "Pause a run", "No new fork starts; running forks finish. 409 unless the run is running (pausing a paused run is a no-op).") },
      "/v1/runs/{id}/resume": { post: runAction("resume", "Resume a paused run", "Launching forks continues. 409 unless the run is paused.") },
      "/v1/runs/{id}/cancel": {
        post: runAction("cancel", "Cancel a run", "Queued and running forks are cancelled at once; their sandboxes are killed right after the answer. 409 when the run already ended."),
      },
      "/v1/runs/{id}/budget": {
        post: {
          tags: ["runs"],
          operationId: "raiseBudget",
          summary: "Raise a run's budget",
          description: "Sets a higher budget (400 unless more than the current one); forks stopped for budget continue where they stopped. 409 when the run already ended.",
          parameters: [runIdParam],
          requestBody: { required: true, content: { "application/json": { schema: ref("RaiseBudgetRequest"), example: RAISE_BUDGET_EXAMPLE } } },
          responses: { "200": json(ref("RunView"), "The run with its new budget."), ...errors(["BadRequest", "Unauthorized", "NotFound", "Conflict", "PayloadTooLarge"]) },
        },
      },
      "/v1/runs/{id}/forks/{n}": {
        get: {
          tags: ["runs"],
          operationId: "getFork",
          summary: "One fork, with every command's whole output tails",
          description: "The run view carries every fork, but a run with many commands shares a fixed output budget among them (tails cut, marked `[…truncated]`); this answers one fork with each command's stored tails (4 KiB each).",
          parameters: [runIdParam, { name: "n", in: "path", required: true, description: "fork number (1..N)", schema: forkNumberSchema }],
          responses: { "200": json(ref("ForkView"), "The fork."), ...errors(["BadRequest", "Unauthorized", "NotFound"]) },
        },
      },
      "/v1/runs/{id}/forks/{n}/cancel": {
        post: {
          tags: ["runs"],
          operationId: "cancelFork",
          summary: "Cancel one fork",
          description: "Cancels fork n and releases its sandbox (409 if it already ended, 404 if the run has no fork n).",
          parameters: [runIdParam, { name: "n", in: "path", required: true, description: "fork number (1..N)", schema: forkNumberSchema }],
          responses: { "200": json(ref("RunView"), "The run after the change."), ...errors(["BadRequest", "Unauthorized", "NotFound", "Conflict"]) },
        },
      },
      "/v1/runs/{id}/forks/{n}/artifacts": {
        get: {
          tags: ["runs"],
          operationId: "listArtifacts",
          summary: "A fork's stored files",
          description: "The files the fork stored from its clone (the run's `artifacts` globs, within ARTIFACT_MAX_BYTES per file and per fork), by path, with their size and sha256, and the files it skipped with the reason.",
          parameters: [runIdParam, forkParam],
          responses: { "200": json(ref("ArtifactList"), "The fork's artifacts."), ...errors(["BadRequest", "Unauthorized", "NotFound"]) },
        },
      },
      "/v1/runs/{id}/forks/{n}/artifacts/{path}": {
        get: {
          tags: ["runs"],
          operationId: "getArtifact",
          summary: "Download one stored file",
          description: "The file's bytes as they were in the sandbox (`X-Checksum-Sha256` carries their sha256). `path` is the file's path in the clone and may contain `/`.",
          parameters: [runIdParam, forkParam, { name: "path", in: "path", required: true, description: "the file's path relative to the clone", schema: { type: "string" } }],
          responses: {
            "200": { description: "The file.", content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } } },
            ...errors(["BadRequest", "Unauthorized", "NotFound"]),
          },
        },
      },
      "/v1/runs/{id}/forks/{n}/patch": {
        get: {
          tags: ["runs"],
          operationId: "getPatch",
          summary: "A fork's patch",
          description: "`git diff --binary <base> <fork's commit>`: its changes against the commit it started from, binary files as git binary patches. 404 when the fork changed nothing. Apply with `git apply`.",
          parameters: [runIdParam, forkParam],
          responses: {
            "200": { description: "The patch.", content: { "text/x-diff": { schema: { type: "string" } } } },
            ...errors(["BadRequest", "Unauthorized", "NotFound"]),
          },
        },
      },
      ...pickPaths({ runId: runIdParam, fork: forkParam }),
      "/v1/runs/{id}/judge": {
        post: {
          tags: ["runs"],
          operationId: "judgeRun",
          summary: "Judge the forks with a model",
          description:
            "Starts an LLM judging of an ended run's forks that succeeded: a model reads the task, each fork's check, diff and patch (bounded) and scores it 0-10 with a reason; " +
            "its calls are checkpointed steps, costed in the run's ledger within its budget. The body is optional (default: the run's `judge`, else the agent's model). " +
            "When it is done the ranking (GET …/compare, the run view) uses the scores. 409 `run_not_finished`, `nothing_to_judge`.",
          parameters: [runIdParam],
          requestBody: { required: false, content: { "application/json": { schema: ref("JudgeRequest"), example: { llm: { model: "sonnet", rubric: "Prefer the smallest change that fixes the bug." } } } } },
          responses: { "202": json(ref("RunView"), "The run, with `judging.status: running`."), ...errors(["BadRequest", "Unauthorized", "NotFound", "Conflict", "AgentUnavailable"]) },
        },
      },
      "/v1/runs/{id}/forks/{n}/branch": {
        post: {
          tags: ["runs"],
          operationId: "branchFork",
          summary: "Branch a fork: new forks from its workspace and transcript as they are now",
          description:
            "Adds `count` forks to the run (numbered after the last one) that start from fork n's workspace and, for an agent, its conversation so far. " +
            "A running fork is forked at its next step boundary (before its next model call or command, or when its task ends); the new forks then continue " +
            "with `prompt` as a new message, or without one continue fork n's task where it stands. Fork n carries on unaffected. An ended fork can be " +
            "branched while its sandbox is kept (runs with keepSandboxes). Each new fork shows `parent: { n, turn }`. " +
            "400 `invalid_input` (`prompt` on a commands task; more than 100 forks in the run); 409 `fork_ended` (ended and not kept).",
          parameters: [
            runIdParam,
            forkParam,
            {
              name: "Idempotency-Key",
              in: "header",
              required: false,
              description: "the same key answers the same branch (409 `idempotency_key_reused` for a different request)",
              schema: { type: "string", minLength: 1, maxLength: 255 },
            },
          ],
          requestBody: { required: true, content: { "application/json": { schema: ref("BranchRequest"), example: { count: 3, prompt: "Try a different approach: fix it in the parser instead." } } } },
          responses: { "202": json(ref("BranchResponse"), "The new forks (queued until fork n is forked)."), ...errors(["BadRequest", "Unauthorized", "NotFound", "Conflict"]) },
        },
      },
      "/v1/runs/{id}/compare": {
        get: {
          tags: ["runs"],
          operationId: "compareRun",
          summary: "Every fork side by side, ranked",
          description:
            "Per fork: status, check, diff stats, rank (and score), cost and its patch (the first 64 KiB, with a link to the whole). " +
            "The ranking puts a passed check first, then the judge's score, the smaller diff and the lower cost; `winner` is the fork to take " +
            "(the first to pass its check with stopWhen: first_check_pass), null until it is known.",
          parameters: [runIdParam],
          responses: { "200": json(ref("CompareView"), "The comparison."), ...errors(["Unauthorized", "NotFound"]) },
        },
      },
      "/v1/runs/{id}/events": {
        get: {
          tags: ["events"],
          operationId: "runEvents",
          summary: "Live progress (Server-Sent Events)",
          description:
            "The run's event log, then live events until the run ends (the stream closes after `run.finished`). Each event has `id` (its `seq`), " +
            "`event` (its type) and `data`, a JSON `RunEvent`. Reconnect with `Last-Event-ID` (or `?after=`) to continue after the last event seen. " +
            "A run takes at most 100 watchers at once (429 beyond).",
          parameters: [
            runIdParam,
            { name: "Last-Event-ID", in: "header", required: false, description: "replay events after this seq", schema: { type: "string", pattern: "^[0-9]+$" } },
            { name: "after", in: "query", required: false, description: "same as Last-Event-ID (for clients that cannot set headers)", schema: { type: "string", pattern: "^[0-9]+$" } },
          ],
          responses: {
            "200": {
              description: "`text/event-stream`; every `data:` line is a JSON RunEvent.",
              content: {
                "text/event-stream": {
                  schema: { type: "string", description: "Server-Sent Events; data: RunEvent (#/components/schemas/RunEvent)" },
                  example: 'id: 3\nevent: fork.started\ndata: {"seq":3,"at":"2026-11-23T15:08:03.101Z","type":"fork.started","fork":1,"instanceId":"r3k7…-1"}\n\n',
                },
              },
            },
            ...errors(["Unauthorized", "NotFound", "RateLimited"]),
          },
        },
      },
      ...SESSION_PATHS,
      "/v1/webhooks/github": {
        post: {
          tags: ["github"],
          operationId: "githubWebhook",
          summary: "GitHub webhook deliveries",
          description:
            "Starts runs from GitHub events (an issue labelled, a `/fork N <prompt>` comment, …) and answers `/pick k` and `/refork k [prompt]` comments (200, `WebhookPick`, `WebhookRefork`). No bearer token: each delivery is authenticated by its " +
            "`X-Hub-Signature-256` (HMAC-SHA256 of the raw body with GITHUB_WEBHOOK_SECRET), checked before anything else (401 `invalid_signature`). " +
            "A redelivery (same `X-GitHub-Delivery`) names the same run. Deliveries that start nothing are answered 202 with the reason.",
          security: [],
          parameters: [
            { name: "X-Hub-Signature-256", in: "header", required: true, description: "`sha256=<hex HMAC-SHA256 of the body>`", schema: { type: "string" } },
            { name: "X-GitHub-Event", in: "header", required: true, description: "the event: `issues`, `issue_comment`, `ping`, …", schema: { type: "string", pattern: "^[a-z_]{1,64}$" } },
            { name: "X-GitHub-Delivery", in: "header", required: true, description: "the delivery's id", schema: { type: "string", pattern: "^[A-Za-z0-9._:-]{1,200}$" } },
          ],
          requestBody: {
            required: true,
            content: {
              "application/json": { schema: { type: "object", description: "the event's payload, as GitHub sends it" } },
              "application/x-www-form-urlencoded": { schema: { type: "object", properties: { payload: { type: "string", description: "the payload as JSON" } }, required: ["payload"] } },
            },
          },
          responses: {
            "200": json({ anyOf: [ref("WebhookPing"), ref("WebhookPick"), ref("WebhookRefork")] }, "A `ping` event (sent when the webhook is created), or a `/pick k` or `/refork k` comment answered (the pick or the new fork, or why not, and the reply comment)."),
            "202": json({ anyOf: [ref("WebhookRun"), ref("WebhookIgnored")] }, "The delivery started a run (or found the one a first delivery started), or was ignored, with the reason."),
            ...errors(["BadRequest", "Unauthorized", "PayloadTooLarge", "GitHubUnavailable"]),
          },
        },
      },
      "/v1/pool": {
        get: {
          tags: ["operations"],
          operationId: "getPool",
          summary: "The sandbox pool: cap, creation rate, live sandboxes, leases and the warm pool per template",
          responses: { "200": json(ref("PoolStatus"), "The pool's state."), ...errors(["Unauthorized"]) },
        },
        put: {
          tags: ["operations"],
          operationId: "configurePool",
          summary: "Configure the warm pool",
          description:
            "Replaces the warm-pool configuration: per template, `min` sandboxes kept ready (the target grows by recent cold acquires up to `max`), each recycled after `idleSeconds` unused. `running` warm sandboxes are handed out at once and count against MAX_LIVE_SANDBOXES (their minimums together must fit under it: 400 otherwise); `paused` ones are resumed on hand-out and neither count nor bill. A warm sandbox goes to exactly one fork. The configuration persists; the Pool refills and trims on its alarm.",
          requestBody: { required: true, content: { "application/json": { schema: ref("PoolConfigRequest"), example: POOL_CONFIG_EXAMPLE } } },
          responses: { "200": json({ type: "object", properties: { templates: { type: "object", additionalProperties: ref("PoolTemplateStatus") } }, required: ["templates"] }, "The warm pool per template."), ...errors(["BadRequest", "Unauthorized", "PayloadTooLarge"]) },
        },
      },
      "/v1/profiles": {
        get: {
          tags: ["operations"],
          operationId: "listProfiles",
          summary: "Sandbox size profiles",
          description: "`light`, `medium`, `heavy`, `ml`: each a template, its vCPU and GiB (what its sandbox time is costed at) and a default timeout; the PROFILES variable overrides any field. A run's `profile` takes its template and timeout unless the run sets them.",
          responses: { "200": json(ref("Profiles"), "Every profile."), ...errors(["Unauthorized"]) },
        },
      },
      "/v1/templates/{alias}": {
        get: {
          tags: ["operations"],
          operationId: "getTemplateAlias",
          parameters: [aliasParam],
          summary: "A template alias: its active version and every version",
          responses: { "200": json(ref("TemplateAlias"), "The alias."), ...errors(["BadRequest", "Unauthorized", "NotFound"]) },
        },
        put: {
          tags: ["operations"],
          operationId: "putTemplateAlias",
          parameters: [aliasParam],
          summary: "Point a template alias at a template id (a new version)",
          description: "Records a new version and makes it active (201); the id the alias already points at changes nothing (200). A run naming the alias as its `template` resolves it when created and keeps that id for every fork, retry and relaunch.",
          requestBody: { required: true, content: { "application/json": { schema: ref("PutTemplateRequest"), example: { templateId: "my-env-v2" } } } },
          responses: {
            "200": json(ref("TemplateAlias"), "Unchanged: already this id."),
            "201": json(ref("TemplateAlias"), "A new version, now active."),
            ...errors(["BadRequest", "Unauthorized", "PayloadTooLarge"]),
          },
        },
      },
      "/v1/templates/{alias}/rollback": {
        post: {
          tags: ["operations"],
          operationId: "rollbackTemplateAlias",
          parameters: [aliasParam],
          summary: "Make the version before the active one active again",
          description: "409 `no_previous_version` when the active version is the first. Runs already created keep the id they resolved.",
          responses: { "200": json(ref("TemplateAlias"), "The alias after the rollback."), ...errors(["BadRequest", "Unauthorized", "NotFound", "Conflict"]) },
        },
      },
      "/v1/reaper/run": {
        post: {
          tags: ["operations"],
          operationId: "runReaper",
          summary: "Kill orphaned sandboxes now",
          description: "The reaper the cron trigger runs: kills Forkyard sandboxes with no lease, of finished runs, or older than REAPER_MAX_AGE_SECONDS.",
          responses: { "200": json(ref("ReaperReport"), "What was killed."), ...errors(["Unauthorized"]) },
        },
      },
      "/healthz": {
        get: {
          tags: ["meta"],
          operationId: "health",
          summary: "The Worker is up, and which sandbox backend it reaches",
          security: [],
          responses: { "200": json(ref("Health"), "Health.") },
        },
      },
      "/metrics": {
        get: {
          tags: ["meta"],
          operationId: "metrics",
          summary: "Prometheus metrics",
          description: "Prometheus text exposition (runs, forks, fork durations, step attempts, costs, sandboxes). Behind a bearer METRICS_TOKEN when the deployment sets one, public otherwise.",
          security: [{}, { metricsToken: [] }],
          responses: {
            "200": { description: "Prometheus text format 0.0.4.", content: { "text/plain": { schema: { type: "string" }, example: 'forkyard_runs_total{status="completed"} 12\n' } } },
            ...errors(["Unauthorized"]),
          },
        },
      },
      "/openapi.json": {
        get: {
          tags: ["meta"],
          operationId: "openapi",
          summary: "This document",
          security: [],
          responses: { "200": { description: "The OpenAPI 3.1 document.", content: { "application/json": { schema: { type: "object" } } } } },
        },
      },
      "/docs": {
        get: {
          tags: ["meta"],
          operationId: "docs",
          summary: "Interactive API reference (this document, rendered)",
          security: [],
          responses: { "200": { description: "An HTML page.", content: { "text/html": { schema: { type: "string" } } } } },
        },
      },
    },
    components: {
      schemas,
      responses: RESPONSES,
      parameters: {
        RunId: { name: "id", in: "path", required: true, description: "run id", schema: { type: "string", pattern: RUN_ID_PATTERN.source } },
        SessionId: { name: "id", in: "path", required: true, description: "session id", schema: { type: "string", pattern: SESSION_ID_PATTERN.source } },
      },
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "One of the tokens in FORKYARD_API_TOKENS." },
        metricsToken: { type: "http", scheme: "bearer", description: "METRICS_TOKEN (only when the deployment sets one)." },
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
