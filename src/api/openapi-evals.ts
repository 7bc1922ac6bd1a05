/** The evals part of the OpenAPI document: its operations and the schemas they use. */
import type { z } from "zod";
import { errors, json, ref, type Json } from "./openapi-common.ts";
import { configResults, createEvalBody, deletedEval, EVAL_STATUSES, evalPage, evalResults, evalSummary, evalTaskResult, evalView } from "./evals.ts";

export const CREATE_EVAL_EXAMPLE = {
  name: "bundled suite, N=1 vs N=4",
  tasks: [{ id: "answer", repo: "https://github.com/acme/answer.git", prompt: "Write the answer into answer.txt.", check: "test -s answer.txt", hiddenCheck: 'test "$(cat answer.txt)" = 42' }],
  configs: [
    { name: "n1", model: "sonnet", forks: 1 },
    { name: "n4", model: "sonnet", forks: 4, judge: { llm: {} } },
    { name: "n4-tournament", model: "sonnet", forks: 4, judge: { mode: "tournament" } },
  ],
  maxConcurrent: 2,
  budgetUsd: 20,
} as const;

export const EVAL_REQUEST_SCHEMAS: [string, z.core.$ZodType][] = [["CreateEvalRequest", createEvalBody]];

export const EVAL_RESPONSE_SCHEMAS: [string, z.core.$ZodType][] = [
  ["EvalView", evalView],
  ["EvalSummary", evalSummary],
  ["EvalPage", evalPage],
  ["EvalResults", evalResults],
  ["EvalConfigResults", configResults],
  ["EvalTaskResult", evalTaskResult],
  ["DeletedEval", deletedEval],
];

const evalIdParam = { $ref: "#/components/parameters/EvalId" };

export const EVAL_PATHS: Record<string, Record<string, Json>> = {
  "/v1/evals": {
    post: {
      tags: ["evals"],
      operationId: "createEval",
      summary: "Start an eval suite",
      description:
        "One run per task × config (created as POST /v1/runs creates runs), at most `maxConcurrent` at once, within one `budgetUsd`. " +
        "After a run ends, each fork that succeeded gets the task's `hiddenCheck` in a fresh sandbox, on its verified patch; the hidden check " +
        "is never in the run, its prompt, its repository or its sandboxes, nor in any API response (an eval's views list its tasks without prompts or checks). " +
        "A task's `commit` pins its base; its `hiddenPatch` (hidden tests as a patch) is applied before the hidden check. In place of `tasks`, `sweBench: { tasks, templates }` takes " +
        "SWE-bench-style instances (`instance_id, repo, base_commit, problem_statement, test_patch, FAIL_TO_PASS, PASS_TO_PASS`) and a template per repository (`{ url?, ref?, prepare?, check?, test }`, `test` holding `{tests}`); " +
        "a bad one is a 400 naming it (`sweBench.tasks.3.FAIL_TO_PASS`). Figures: docs/evals.md.",
      requestBody: { required: true, content: { "application/json": { schema: ref("CreateEvalRequest"), example: CREATE_EVAL_EXAMPLE } } },
      responses: { "202": json(ref("EvalView"), "The eval (status `running`)."), ...errors(["BadRequest", "Unauthorized", "PayloadTooLarge", "AgentUnavailable"]) },
    },
    get: {
      tags: ["evals"],
      operationId: "listEvals",
      summary: "List evals, newest first",
      description: "One row per eval (name, status, how many configs, tasks and runs, runs settled, spend), from an index each eval keeps current. A deleted eval leaves it.",
      parameters: [
        { name: "status", in: "query", required: false, description: "only evals with this status", schema: { type: "string", enum: [...EVAL_STATUSES] } },
        { name: "limit", in: "query", required: false, description: "evals per page (1-100, default 20)", schema: { type: "integer", minimum: 1, maximum: 100 } },
        { name: "cursor", in: "query", required: false, description: "`nextCursor` of the previous page", schema: { type: "string" } },
      ],
      responses: { "200": json(ref("EvalPage"), "A page of evals."), ...errors(["BadRequest", "Unauthorized"]) },
    },
  },
  "/v1/evals/{id}": {
    get: {
      tags: ["evals"],
      operationId: "getEval",
      summary: "An eval's progress",
      parameters: [evalIdParam],
      responses: { "200": json(ref("EvalView"), "The eval: its configs, tasks (without prompts or checks), progress and spend."), ...errors(["Unauthorized", "NotFound"]) },
    },
    delete: {
      tags: ["evals"],
      operationId: "deleteEval",
      summary: "Delete an ended eval",
      description:
        "Deletes a completed, cancelled or over-budget eval for good: its object's state (suite, hidden checks, verdicts, event log) and alarm, and its hidden checks' Workflow instances. " +
        "Its runs are not deleted: they leave D1's `eval_runs` and so fall under RUN_RETENTION_DAYS like any other run (DELETE /v1/runs/:id deletes one now). Afterwards GET answers 404 `not_found`. " +
        "409 `eval_not_ended` while it runs (cancel it first: POST /v1/evals/:id/cancel) or while a cancelled eval's runs are still stopping.",
      parameters: [evalIdParam],
      responses: { "200": json(ref("DeletedEval"), "The eval is deleted."), ...errors(["Unauthorized", "NotFound", "Conflict"]) },
    },
  },
  "/v1/evals/{id}/results": {
    get: {
      tags: ["evals"],
      operationId: "getEvalResults",
      summary: "An eval's figures per config, with 95 % intervals (JSON, or CSV with ?format=csv)",
      description: "Counted so far: the tasks whose run ended and whose forks' hidden checks are done. Definitions: docs/evals.md.",
      parameters: [evalIdParam, { name: "format", in: "query", required: false, description: "`json` (default) or `csv` (one line per config)", schema: { type: "string", enum: ["json", "csv"] } }],
      responses: {
        "200": { description: "The results.", content: { "application/json": { schema: ref("EvalResults") }, "text/csv": { schema: { type: "string" } } } },
        ...errors(["BadRequest", "Unauthorized", "NotFound"]),
      },
    },
  },
  "/v1/evals/{id}/events": {
    get: {
      tags: ["evals", "events"],
      operationId: "evalEvents",
      summary: "An eval's progress (Server-Sent Events)",
      description:
        "The eval's event log, then live events until its last run settles (the stream closes after `eval.finished`): `eval.created`, " +
        "`eval.run_started` and `eval.run_ended` (task, config, runId), `eval.checked` (a fork's hidden-check verdict; `fork` is the fork), " +
        "`eval.cancelled`, `eval.finished`. Reconnect with `Last-Event-ID` (or `?after=`).",
      parameters: [
        evalIdParam,
        { name: "Last-Event-ID", in: "header", required: false, description: "replay events after this seq", schema: { type: "string", pattern: "^[0-9]+$" } },
        { name: "after", in: "query", required: false, description: "same as Last-Event-ID", schema: { type: "string", pattern: "^[0-9]+$" } },
      ],
      responses: {
        "200": { description: "`text/event-stream`; every `data:` line is a JSON event `{ seq, at, type, fork, … }`.", content: { "text/event-stream": { schema: { type: "string" } } } },
        ...errors(["Unauthorized", "NotFound", "RateLimited"]),
      },
    },
  },
  "/v1/evals/{id}/cancel": {
    post: {
      tags: ["evals"],
      operationId: "cancelEval",
      summary: "Cancel an eval",
      description: "Queued runs are skipped and runs in flight cancelled; what was already checked keeps its figures.",
      parameters: [evalIdParam],
      responses: { "200": json(ref("EvalView"), "The eval (status `cancelled`)."), ...errors(["Unauthorized", "NotFound"]) },
    },
  },
};
