/** The runs part of the OpenAPI document: /v1/runs and everything under it (pick: openapi-pick.ts). */
import { z } from "zod";
import { errors, json, ref, type Json } from "./openapi-common.ts";
import { pickPaths } from "./openapi-pick.ts";
import { forkNumberParam } from "./runs.ts";

type Paths = Record<string, Json>;

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
      network: { allowOut: ["registry.npmjs.org"], denyOut: ["0.0.0.0/0"] },
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
  adaptive: {
    summary: "Adaptive N: waves of 2 agent forks, up to 8, until one passes the check; ranked by a tournament",
    value: {
      repo: "https://github.com/acme/app.git",
      task: { prompt: "Fix the flaky test in test/api.test.ts and explain the cause.", model: "sonnet" },
      check: "npm test",
      strategy: { kind: "adaptive", initial: 2, max: 8, until: "check_pass" },
      judge: { mode: "tournament", maxComparisons: 30 },
      budgetUsd: 20,
    },
  },
} as const;

export const RAISE_BUDGET_EXAMPLE = { budgetUsd: 20 } as const;

const runIdParam = { $ref: "#/components/parameters/RunId" };

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

/** GET /v1/runs's query parameters: ListRunsQuery's fields (the schema leaves the components). */
function listRunsParameters(schemas: Record<string, Json>): Json[] {
  const listQuery = schemas.ListRunsQuery as { properties: Record<string, Json> };
  delete schemas.ListRunsQuery;
  const queryDescriptions: Record<string, string> = {
    status: "only runs with this status",
    repo: "only runs of this repository (an https URL as in the run's request, or a local path)",
    q: "only runs whose title or task contains this text (case-insensitive for ASCII letters)",
    limit: "runs per page",
    cursor: "`nextCursor` of the previous page",
  };
  return Object.entries(listQuery.properties).map(([name, schema]) => ({
    name,
    in: "query",
    required: false,
    description: queryDescriptions[name],
    schema,
  }));
}

/** GET /v1/runs/:id's paging of forks. */
const forksPageParams: Json[] = [
  { name: "forksAfter", in: "query", required: false, description: "only forks numbered after this (`forksPage.next` of the previous page)", schema: { type: "integer", minimum: 0 } },
  { name: "forksLimit", in: "query", required: false, description: "forks per page (1-1000, default 100 when paging)", schema: { type: "integer", minimum: 1, maximum: 1000 } },
];

/** POST /v1/runs/:id/budget: what a raise continues, and when it is refused. */
const RAISE_BUDGET_DESCRIPTION =
  "Sets a higher budget (400 unless more than the current one); forks stopped for budget continue where they stopped — also forks a budget stop already ended " +
  "(their wait outlasted BUDGET_WAIT_SECONDS, or a command was refused), even once the run ended: the run goes back to `running` (event `run.resumed`) and each goes on " +
  "in a new instance whose sandbox is rebuilt from the fork's journal (no model call repeated). 409 `run_cancelled` (a cancelled run), `run_finished` (an ended run " +
  "with no fork stopped for budget where it can go on), `run_deleted` (a deleted run).";

/** Starting and listing runs, one run, and its actions. */
function runPathsTop(listParameters: Json[]): Paths {
  return {
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
          ...errors(["BadRequest", "Unauthorized", "Conflict", "Gone", "PayloadTooLarge", "AgentUnavailable"]),
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
        description: "Every fork, or with `forksAfter` or `forksLimit` one page of them (`forksPage` says where the next starts): a run holds up to MAX_FORKS_PER_RUN forks (default 100, up to 1,000).",
        parameters: [runIdParam, ...forksPageParams],
        responses: { "200": json(ref("RunView"), "The run."), ...errors(["Unauthorized", "NotFound"]) },
      },
      delete: {
        tags: ["runs"],
        operationId: "deleteRun",
        summary: "Delete an ended run",
        description:
          "Deletes a completed, cancelled or failed run for good: its Orchestrator's state (forks, steps, event log, ledger) and alarm, its Workflow instances' engine state, every R2 object under " +
          "`runs/<id>/` (patches, artifacts, staged trees, transcripts, branch states), its row in GET /v1/runs; kept sandboxes no session took over are released. A tombstone stays: GET answers 404 " +
          "`run_deleted`, and the same Idempotency-Key (or a redelivered webhook) answers 410 `run_deleted` instead of creating the run again. Sessions made from the run, pull requests it opened and the " +
          "metrics it counted stay. Repeating the delete answers 200 again. 409 `run_not_ended` while the run is running, paused or over budget (cancel it first), being judged, or just cancelled and still stopping its sandboxes.",
        parameters: [runIdParam],
        responses: { "200": json(ref("DeletedRun"), "The run is deleted."), ...errors(["Unauthorized", "NotFound", "Conflict"]) },
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
        description: RAISE_BUDGET_DESCRIPTION,
        parameters: [runIdParam],
        requestBody: { required: true, content: { "application/json": { schema: ref("RaiseBudgetRequest"), example: RAISE_BUDGET_EXAMPLE } } },
        responses: { "200": json(ref("RunView"), "The run with its new budget."), ...errors(["BadRequest", "Unauthorized", "NotFound", "Conflict", "PayloadTooLarge"]) },
      },
    },
  };
}

/** One fork: its view, cancelling it, its artifacts and patch, and picking it. */
function forkPaths(forkParam: Json): Paths {
  return {
    "/v1/runs/{id}/forks/{n}": {
      get: {
        tags: ["runs"],
        operationId: "getFork",
        summary: "One fork, with every command's whole output tails",
        description: "The run view carries every fork, but a run with many commands shares a fixed output budget among them (tails cut, marked `[…truncated]`); this answers one fork with each command's stored tails (4 KiB each).",
        parameters: [runIdParam, forkParam],
        responses: { "200": json(ref("ForkView"), "The fork."), ...errors(["BadRequest", "Unauthorized", "NotFound"]) },
      },
    },
    "/v1/runs/{id}/forks/{n}/transcript": {
      get: {
        tags: ["runs"],
        operationId: "getForkTranscript",
        summary: "What an agent fork did: its prompt, the model's messages, every tool call and its output",
        description:
          "An agent fork's transcript, recorded as each of its steps ends (so it is readable while the fork runs): the prompt, each model call's text and tool calls (step `model-k`), each tool call with its input — the bash command, or the edit — and its output as the agent saw it (step `tool-k-i`, at most 16 KiB). A step that ran again replaces its entry. Paginated by `seq`; a commands fork's is empty (its commands are in GET …/forks/{n}). A branched fork's starts where it branched (its parent's has what came before). Everything in it was written by the fork: show it as text.",
        parameters: [
          runIdParam,
          forkParam,
          { name: "after", in: "query", required: false, description: "entries after this seq (`next` of the previous page)", schema: { type: "integer", minimum: 0 } },
          { name: "limit", in: "query", required: false, description: "entries per page (1-500, default 100)", schema: { type: "integer", minimum: 1, maximum: 500 } },
        ],
        responses: { "200": json(ref("ForkTranscriptPage"), "A page of the transcript."), ...errors(["BadRequest", "Unauthorized", "NotFound"]) },
      },
    },
    "/v1/runs/{id}/forks/{n}/cancel": {
      post: {
        tags: ["runs"],
        operationId: "cancelFork",
        summary: "Cancel one fork",
        description: "Cancels fork n and releases its sandbox (409 if it already ended, 404 if the run has no fork n).",
        parameters: [runIdParam, forkParam],
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
    ...pickPaths({ runId: runIdParam, fork: forkParam, sessionId: { $ref: "#/components/parameters/SessionId" } }),
  };
}

/** A request's optional Idempotency-Key header (`what` it answers again). */
const idempotencyKeyParam = (what: string): Json => ({
  name: "Idempotency-Key",
  in: "header",
  required: false,
  description: `the same key answers the same ${what} (409 \`idempotency_key_reused\` for a different request)`,
  schema: { type: "string", minLength: 1, maxLength: 255 },
});

/** Judging an ended run's forks, branching a fork, merging forks. */
function judgeAndBranchPaths(forkParam: Json): Paths {
  return {
    "/v1/runs/{id}/merge": {
      post: {
        tags: ["runs"],
        operationId: "mergeForks",
        summary: "Merge forks: a new fork whose agent combines the chosen forks' patches",
        description:
          "Adds one fork to the run (running or ended; numbered after the last one) that starts from the base like any other, goes through the sandbox pool and the run's budget, " +
          "and is verified, checked and ranked like any other. Its agent (`model`, default the run's) gets the run's task, `prompt`, and each chosen fork's check result, diff size, " +
          "summary and patch (its share of 192 KiB, at most 64 KiB each): the summaries and patches as data between lines carrying a boundary drawn at random, exactly as the judge gets them. " +
          "Once it ended with a patch its view's `merge.provenance` says, per chosen fork and hunk, whether the hunk survived — at least 80 % of its added lines (a deletion: its removed lines) " +
          "among those the merged patch adds to (removes from) the same file — and the share that survived: computed from the verified patches, never the agent's claim. " +
          "400 `invalid_input` (fewer than 2 or repeated `forks`, a fork that does not exist, an unknown `model`); 409 `fork_has_no_patch` (a chosen fork has not ended, or ended without a stored patch), " +
          "`merge_needs_agent_task` (a commands run), `max_forks_reached` (MAX_FORKS_PER_RUN), `run_finished` (cancelled), `run_stopped_at_winner` (stopWhen: first_check_pass stopped it); 503 `agent_unavailable`.",
        parameters: [runIdParam, idempotencyKeyParam("merge")],
        requestBody: { required: true, content: { "application/json": { schema: ref("MergeRequest"), example: { forks: [2, 4], prompt: "Keep fork 2's parser fix and fork 4's tests." } } } },
        responses: { "202": json(ref("MergeResponse"), "The merge fork (queued)."), ...errors(["BadRequest", "Unauthorized", "NotFound", "Conflict", "AgentUnavailable"]) },
      },
    },
    "/v1/runs/{id}/judge": {
      post: {
        tags: ["runs"],
        operationId: "judgeRun",
        summary: "Judge the forks with a model",
        description:
          "Starts an LLM judging of an ended run's forks that succeeded: a model reads the task, each fork's check, diff and patch (bounded) and scores it 0-10 with a reason; " +
          "its calls are checkpointed steps, costed in the run's ledger within its budget. The body is optional (default: the run's `judge`, else the agent's model). " +
          "When it is done the ranking (GET …/compare, the run view) uses the scores. With `mode: \"tournament\"` pairwise matches follow the scores: each pair of forks " +
          "judged in both orders (a pair is won only when both orders agree, else a tie), round-robin when every pair in both orders fits `maxComparisons` (default 30) and the budget, " +
          "else single elimination seeded by the scores; the ranking then follows the tournament after the check, and `judging.tournament` and `judging.selected` show the matches, " +
          "the standings and what each selector ranks first. 409 `run_not_finished`, `nothing_to_judge`.",
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
          "With `atStep` (`model-3`: before its third model call; `command-2`: before its second command) the new forks start where fork n stood before that step, " +
          "optionally with another `model`: rebuilt in fresh sandboxes from its step snapshots (runs with `snapshots: \"steps\"`; fork n's sandbox plays no part, gone or not), " +
          "or without them by replaying its journal (a commands fork's commands; an ended agent fork's tool calls, with its conversation before that step); `parent` then adds `atStep`, `rebuiltFrom` and `rerun` (what was re-run). " +
          "400 `invalid_input` (`prompt` on a commands task; more than 100 forks in the run; `atStep` naming no step of the task; `model` on a commands task or without `atStep`); " +
          "409 `fork_ended` (ended and not kept), `step_not_reached` (a step fork n has not passed), `fork_running` (an agent fork's earlier step without snapshots, before it ended), `snapshots_required` (nothing stored to rebuild it from).",
        parameters: [runIdParam, forkParam, idempotencyKeyParam("branch")],
        requestBody: { required: true, content: { "application/json": { schema: ref("BranchRequest"), example: { count: 3, prompt: "Try a different approach: fix it in the parser instead." } } } },
        responses: { "202": json(ref("BranchResponse"), "The new forks (queued until fork n is forked)."), ...errors(["BadRequest", "Unauthorized", "NotFound", "Conflict"]) },
      },
    },
  };
}

/** The forks side by side, and the run's live events. */
function compareAndEventPaths(forkNumberSchema: Json): Paths {
  const side = (name: "a" | "b") => ({ name, in: "path", required: true, description: `fork ${name === "a" ? "A" : "B"} (1..N)`, schema: forkNumberSchema });
  return {
    "/v1/runs/{id}/compare": {
      get: {
        tags: ["runs"],
        operationId: "compareRun",
        summary: "Every fork side by side, ranked",
        description:
          "Per fork: status, check, diff stats, rank (and score), cost and its patch (the first 64 KiB, with a link to the whole). " +
          "The ranking puts a passed check first, then the tournament's order (judge.mode tournament), the judge's score, the smaller diff and the lower cost; `winner` is the fork to take " +
          "(the first to pass its check with stopWhen: first_check_pass), null until it is known.",
        parameters: [runIdParam],
        responses: { "200": json(ref("CompareView"), "The comparison."), ...errors(["Unauthorized", "NotFound"]) },
      },
    },
    "/v1/runs/{id}/compare/{a}/{b}": {
      get: {
        tags: ["runs"],
        operationId: "diffForks",
        summary: "Fork A's work against fork B's, file by file",
        description:
          "Every file either fork's patch touches, with fork a's version diffed against fork b's (unified hunks, no file headers), like a pull request between two branches. " +
          "Versions come from what was kept when each patch was made (the patch, and the new contents of the files it modifies); `status` is `same` when both forks end with the same file, " +
          "`unavailable` with a `reason` for a binary file, a version not kept (over 512 KiB, or a fork verified before versions were kept) or versions too different to diff line by line.",
        parameters: [runIdParam, side("a"), side("b")],
        responses: { "200": json(ref("ForkDiffView"), "The two forks' files, diffed."), ...errors(["BadRequest", "Unauthorized", "NotFound"]) },
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
          "A run takes at most 100 watchers at once (429 beyond). `command.output` events carry running commands' output live (`step`, `stream`, `offset`, `data`; " +
          "coalesced, at most one per fork per LIVE_OUTPUT_INTERVAL_MS, wider in busy runs); they have no `id` and are not in the log: a watcher that joins gets each running step's tail after the log.",
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
  };
}

/** Every /v1/runs path; `schemas` are the document's component schemas (ListRunsQuery is taken out of them). */
export function runPaths(schemas: Record<string, Json>): Paths {
  const forkNumberSchema = z.toJSONSchema(forkNumberParam, { target: "draft-2020-12", io: "input" }) as Json;
  delete forkNumberSchema.$schema;
  const forkParam = { name: "n", in: "path", required: true, description: "fork number (1..N)", schema: forkNumberSchema };
  return { ...runPathsTop(listRunsParameters(schemas)), ...forkPaths(forkParam), ...judgeAndBranchPaths(forkParam), ...compareAndEventPaths(forkNumberSchema) };
}
