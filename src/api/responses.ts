/**
 * zod schemas of the API's responses. They describe what the routes answer (the OpenAPI document
 * is generated from them, src/api/openapi.ts); the TypeScript types the code uses (RunView,
 * ForkView, … in runs.ts) are inferred from them; PoolStatus (objects/pool/pool.ts) is checked against them in
 * test/workers/openapi.test.ts, so neither can change without the other.
 *
 * Imports carry their `.ts` extension: the Node-side OpenAPI test imports this module too.
 */
import { z } from "zod";
import { WARM_MODES } from "./pool.ts";
import { PROFILE_NAMES } from "../core/sandbox-profiles.ts";
import { createRunRequest, forkStatus, runStatus } from "./runs.ts";
import { runPick } from "./pick-responses.ts";
import { adaptiveView, selectionView, tournamentView } from "./selection-responses.ts";
import { mergeView } from "./merge-responses.ts";
import { forkParentView } from "./branch-responses.ts";

const isoDateTime = z.string().describe("ISO 8601 date-time (UTC)");

export const stepView = z.object({
  name: z.string().describe("step name: budget, acquire-sandbox, health-check, clone, command-n / agent steps, check, collect, release-sandbox, report"),
  status: z.enum(["running", "succeeded", "failed"]),
  attempts: z.number().int().describe("tries of this step, counting retries and re-runs after a crash"),
  durationMs: z.number().nullable(),
  startedAt: isoDateTime.nullable().optional().describe("when the step's first attempt started (null for a step recorded before this was kept)"),
  endedAt: isoDateTime.nullable().optional().describe("when its last attempt ended; null while it runs"),
});

export const commandResult = z.object({
  command: z.string(),
  exitCode: z.number().int(),
  stdoutTail: z.string().describe("last 4 KiB of stdout (`[…truncated]` marks a cut)"),
  stderrTail: z.string().describe("last 4 KiB of stderr"),
  durationMs: z.number(),
});

export const checkResult = z.object({
  command: z.string(),
  exitCode: z.number().int(),
  passed: z.boolean(),
  stdoutTail: z.string().optional().describe("the check's stdout, its last 64 KiB (GET …/forks/{n}); a run's view keeps the last 4 KiB"),
  stderrTail: z.string().optional().describe("the check's stderr, likewise"),
  durationMs: z.number().int().optional(),
  verified: z
    .boolean()
    .optional()
    .describe("true: run in a fresh sandbox on the fork's exported files, rebuilt with a clean git (the fork's tools, dotfiles, environment and git state played no part)"),
});

export const diffStats = z.object({
  files: z.number().int(),
  insertions: z.number().int(),
  deletions: z.number().int(),
});

export const tokenCounts = z.object({
  input: z.number().int(),
  output: z.number().int(),
  cacheRead: z.number().int(),
  cacheWrite: z.number().int(),
});

export const agentView = z
  .object({
    model: z.string(),
    stopReason: z.string(),
    turns: z.number().int(),
    toolCalls: z.number().int(),
    tokens: tokenCounts,
    summary: z.string().describe("the agent's final message"),
  })
  .describe("What an agent fork did (agent tasks only).");

export const costView = z.object({
  sandbox: z.number().describe("USD"),
  llm: z.number().describe("USD"),
  verification: z.number().optional().describe("USD: a fork's verification sandbox (where its check ran and its patch was built), included in `total`; not in `sandbox`"),
  total: z.number().describe("USD"),
});

export const forkError = z.object({
  code: z.string().describe("command_failed, clone_failed, sandbox_auth_failed, sandbox_unavailable, sandbox_gone, sandbox_error, fork_timeout, cancelled, budget_exceeded, workflow_failed, …"),
  message: z.string(),
});

export const pushedBranch = z.object({
  branch: z.string(),
  sha: z.string(),
});

export const artifactsView = z.object({
  files: z.number().int(),
  bytes: z.number().int(),
  skipped: z.array(z.object({ path: z.string(), reason: z.enum(["file_too_large", "fork_limit_reached", "too_many_files"]) })).describe("the first 100 files not stored"),
  skippedCount: z.number().int(),
  patch: z.object({ bytes: z.number().int(), sha256: z.string() }).optional().describe("the fork's patch against its base commit (GET …/patch)"),
  patchOmitted: z
    .object({ bytes: z.number().int(), reason: z.literal("patch_too_large") })
    .optional()
    .describe("the fork's patch was not stored: it is over ARTIFACT_MAX_BYTES (its diff stats, check and commit stand)"),
});

export const artifactList = z.object({
  artifacts: z.array(z.object({ path: z.string(), bytes: z.number().int(), sha256: z.string() })),
  skipped: artifactsView.shape.skipped,
});

export const forkView = z.object({
  n: z.number().int().min(1),
  status: forkStatus,
  branch: z.string(),
  sandboxId: z.string().nullable(),
  attempts: z.number().int().describe("Workflow launches of this fork (more than 1 only if an instance was lost)"),
  recoveries: z.number().int().describe("sandboxes lost mid-fork and replaced (re-cloned, its commands or tool calls replayed, no model call repeated)"),
  startedAt: isoDateTime.nullable(),
  finishedAt: isoDateTime.nullable(),
  steps: z.array(stepView),
  commands: z.array(commandResult),
  check: checkResult.optional(),
  diff: diffStats.optional(),
  agent: agentView.optional(),
  pushed: pushedBranch.optional().describe("the branch this fork pushed (runs with `push`), and its commit"),
  artifacts: artifactsView.optional().describe("what the fork stored: files matching the run's `artifacts` globs, and its patch"),
  keptUntil: isoDateTime.optional().describe("runs with keepSandboxes: the fork's sandbox is kept (paused) until then; POST …/forks/{n}/session continues it"),
  parent: forkParentView.optional().describe("a fork branched from fork `n` (POST …/forks/{n}/branch)"),
  merge: mergeView.optional().describe("a merge fork (POST …/merge): the forks it combines and, once it ended with a patch, how much of each survived"),
  costUsd: costView,
  error: forkError.optional(),
});

export const branchResponse = z.object({
  runId: z.string(),
  forks: z.array(z.number().int().min(1)).describe("the new forks' numbers"),
});

export const runTotals = z.object({
  succeeded: z.number().int(),
  failed: z.number().int(),
  cancelled: z.number().int(),
  budgetExceeded: z.number().int(),
  running: z.number().int(),
  queued: z.number().int(),
  costUsd: costView,
});

export const runSandbox = z
  .object({
    profile: z.enum(PROFILE_NAMES).nullable(),
    templateId: z.string().describe("the template id every fork, retry and relaunch creates from"),
    alias: z.object({ name: z.string(), version: z.number().int() }).nullable().describe("the alias `template` named and its version when the run was created; null for a template id"),
    vcpu: z.number(),
    memoryGib: z.number(),
  })
  .describe("the sandbox every fork gets, fixed when the run was created");

const sandboxProfile = z.object({ template: z.string(), vcpu: z.number(), memoryGib: z.number(), timeoutSeconds: z.number().int() });
export const profiles = z.object({ profiles: z.object(Object.fromEntries(PROFILE_NAMES.map((n) => [n, sandboxProfile])) as Record<(typeof PROFILE_NAMES)[number], typeof sandboxProfile>) });

export const templateAlias = z.object({
  alias: z.string(),
  active: z.object({ version: z.number().int(), templateId: z.string() }),
  versions: z.array(z.object({ version: z.number().int(), templateId: z.string(), createdAt: isoDateTime, active: z.boolean() })).describe("newest first"),
});

export const rankEntry = z.object({
  n: z.number().int(),
  rank: z.number().int().describe("1 = best"),
  score: z.number().optional().describe("the LLM judge's score, 0-10 (runs with judge.llm)"),
  reasons: z.array(z.string()).describe("what the rank rests on: check, score, diff size, cost"),
});

/** The code a run (or a session) started on (src/protocol/code-version.ts). */
export const codeVersion = z.object({
  code: z.number().int().min(1).describe("Forkyard's workflow code version (1: started before runs recorded one)"),
  deployment: z.string().optional().describe("the deployed Worker version's id (Cloudflare's version metadata), when known"),
});

export const runView = z.object({
  id: z.string(),
  status: runStatus,
  request: createRunRequest.extend({ branch: z.string() }).describe("the normalised request (defaults filled in, model and branch resolved)"),
  sandbox: runSandbox,
  codeVersion: codeVersion.describe("the code the run started on: its forks keep that version's steps across deploys"),
  createdAt: isoDateTime,
  updatedAt: isoDateTime,
  forks: z.array(forkView),
  /** GET /v1/runs/:id?forksAfter=&forksLimit=: the forks shown are one page of the run's. */
  forksPage: z
    .object({ after: z.number().int(), limit: z.number().int(), total: z.number().int(), next: z.number().int().nullable().describe("forksAfter of the next page, null on the last") })
    .optional(),
  totals: runTotals,
  ranking: z
    .array(rankEntry)
    .optional()
    .describe("once every fork ended (or a winner stopped the run): the forks that succeeded, best first — a passed check first, then the tournament's order (judge.mode tournament), score, smaller diff, lower cost"),
  winner: z.number().int().nullable().optional().describe("the fork to take: the first to pass its check (stopWhen: first_check_pass), else the best ranked; null when none succeeded"),
  picked: runPick.optional().describe("the latest pick (POST …/forks/{n}/pick, or a `/pick` comment): a person's choice, beside the ranking's `winner`, which it does not change"),
  judging: z
    .object({
      status: z.enum(["running", "done", "failed"]),
      model: z.string(),
      scores: z.array(z.object({ n: z.number().int(), score: z.number().nullable().describe("0-10; null when the judge's answer could not be read"), reason: z.string() })),
      error: forkError.optional(),
      mode: z.enum(["pointwise", "tournament"]).optional(),
      tournament: tournamentView.optional().describe("judge.mode tournament, once done: its matches, standings and order"),
      selected: selectionView.optional().describe("once done: what each selector ranks first, and which one the ranking follows"),
    })
    .optional()
    .describe("the latest LLM judging (judge.llm, or POST …/judge): its scores feed the ranking"),
  adaptive: adaptiveView.optional().describe("strategy adaptive: the waves launched, what each cost, and why it stopped"),
  prepared: z
    .object({
      status: z.enum(["preparing", "forked", "per_fork", "failed"]),
      baseSha: z.string().optional(),
      error: forkError.optional(),
    })
    .optional()
    .describe("runs with prepare: `forked` — prepared once and forked N ways; `per_fork` — the backend cannot fork, each fork prepared itself; `failed` — the prepare failed (so did the forks)"),
});

export const compareFork = z.object({
  n: z.number().int(),
  status: forkStatus,
  branch: z.string(),
  rank: z.number().int().nullable().describe("its place in the ranking (null: it did not succeed)"),
  score: z.number().optional(),
  check: checkResult.optional(),
  diff: diffStats.optional(),
  costUsd: costView,
  error: forkError.optional(),
  patch: z
    .object({
      bytes: z.number().int(),
      sha256: z.string(),
      text: z.string().describe("the patch's first COMPARE_PATCH_BYTES (64 KiB)"),
      truncated: z.boolean(),
      href: z.string().describe("the whole patch: GET …/forks/{n}/patch"),
    })
    .nullable()
    .describe("null when the fork has no patch: `noPatch` says why"),
  noPatch: z.string().optional().describe("why the fork has no patch (not started, still running, changed nothing, ended before its work was collected)"),
});

export const compareView = z.object({
  runId: z.string(),
  status: runStatus,
  winner: z.number().int().nullable().describe("the fork to take, once known (every fork ended, or stopWhen)"),
  ranking: z.array(rankEntry),
  forks: z.array(compareFork),
});

const fileChange = z.enum(["added", "deleted", "modified", "renamed", "binary"]);

export const forkDiffView = z.object({
  runId: z.string(),
  a: z.number().int(),
  b: z.number().int(),
  files: z
    .array(
      z.object({
        path: z.string(),
        a: fileChange.nullable().describe("what fork a's patch does to the file; null: fork a left it as in the base"),
        b: fileChange.nullable().describe("what fork b's patch does to the file; null: fork b left it as in the base"),
        status: z.enum(["same", "differs", "unavailable"]).describe("`same`: both forks end with the same file; `unavailable`: see `reason`"),
        hunks: z
          .array(z.object({ header: z.string().describe("`@@ -l,s +l,s @@`"), lines: z.array(z.string()).describe("each starting with ' ', '-' (fork a's) or '+' (fork b's)") }))
          .nullable()
          .describe("fork a's version against fork b's, unified (3 lines of context), no file headers"),
        missingIn: z.enum(["a", "b"]).optional().describe("the fork in which the file does not exist"),
        reason: z.string().optional().describe("why there is no diff (binary, a version not kept, too different, the answer's size limit)"),
      }),
    )
    .describe("every file either fork's patch touches, by path"),
});

export const runSummary = z.object({
  id: z.string(),
  status: runStatus,
  title: z.string().describe("the title given, else the task's first line (empty for a run indexed before titles existed, until its next change)"),
  task: z.string().describe("the task on one line, at most 300 characters: the prompt, or the commands joined with `; `"),
  repo: z.string(),
  branch: z.string(),
  forks: z.number().int().describe("the forks the run has, branched forks included"),
  succeeded: z.number().int(),
  failed: z.number().int().describe("failed or timed out"),
  cancelled: z.number().int(),
  budgetExceeded: z.number().int().describe("stopped by the budget (waiting for a raise, or ended)"),
  costUsd: z.number(),
  createdAt: isoDateTime,
  updatedAt: isoDateTime,
});

export const runPage = z.object({
  runs: z.array(runSummary),
  nextCursor: z.string().nullable().describe("pass as `cursor` to get the next page; null on the last page"),
});

export const runLinks = z.object({
  self: z.string(),
  events: z.string(),
  pause: z.string(),
  resume: z.string(),
  cancel: z.string(),
});

export const createdRun = z.object({
  id: z.string(),
  status: runStatus,
  forks: z.number().int(),
  createdAt: isoDateTime,
  links: runLinks,
});

/** DELETE /v1/runs/:id (src/actions/delete-run.ts). */
export const deletedRun = z.object({
  id: z.string(),
  deleted: z.literal(true),
  reason: z.enum(["deleted", "retention"]).describe("`deleted`: by DELETE /v1/runs/:id; `retention`: by RUN_RETENTION_DAYS"),
  deletedAt: isoDateTime,
  objectsDeleted: z.number().int().describe("R2 objects (patches, artifacts, staged trees, transcripts, branch states) this call deleted; 0 when a delete is repeated"),
  instancesDeleted: z.number().int().describe("Workflow instances whose engine state this call deleted; 0 when a delete is repeated"),
});

export const errorBody = z.object({
  error: z.object({
    code: z.string().describe("stable machine-readable code: invalid_input, unauthorized, not_found, run_not_running, …"),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional().describe("invalid_input: `field` (dotted path of the field at fault) and `issues`; rate_limited: `retryAfterSeconds`; internal_error: `requestId`"),
  }),
});

export const leaseState = z.enum(["creating", "active", "paused", "released"]);

const latencyStats = z.object({ count: z.number().int(), p50: z.number().nullable(), p95: z.number().nullable() });

export const poolTemplateStatus = z.object({
  min: z.number().int(),
  max: z.number().int(),
  idleSeconds: z.number().int(),
  mode: z.enum(WARM_MODES),
  warm: z.object({ running: z.number().int(), paused: z.number().int(), creating: z.number().int() }),
  hits: z.number().int().describe("acquires served by a warm sandbox"),
  misses: z.number().int().describe("acquires of a configured template that found none and created one"),
  hitRate: z.number().nullable(),
  acquireMs: z.object({ warm: latencyStats, cold: latencyStats }).describe("from a fork asking to its sandbox being ready, last 500 each"),
  overhead: z.object({ sandboxSeconds: z.number(), usd: z.number() }).describe("billed time warm sandboxes ran before a fork took them or they were trimmed"),
});

export const poolStatus = z.object({
  maxLiveSandboxes: z.number().int(),
  createRatePerSecond: z.number(),
  live: z.number().int(),
  creating: z.number().int(),
  paused: z.number().int().describe("sandboxes paused by forks waiting for budget"),
  waiting: z.number().int().describe("forks waiting for capacity, served first come first served across runs"),
  reapedTotal: z.number().int().describe("orphaned sandboxes the reaper has killed"),
  templates: z.record(z.string(), poolTemplateStatus).describe("the warm pool per template (PUT /v1/pool)"),
  leases: z.array(
    z.object({
      key: z.string(),
      runId: z.string(),
      fork: z.number().int(),
      sandboxId: z.string().nullable(),
      state: leaseState,
      acquiredAt: isoDateTime.nullable(),
    }),
  ),
});

export const reapedSandbox = z.object({
  sandboxId: z.string(),
  runId: z.string().nullable(),
  reason: z.enum(["no_lease", "run_finished", "max_age", "keep_expired"]).describe("keep_expired: a kept sandbox (keepSandboxes) past KEEP_SANDBOX_SECONDS"),
});

export const freedLease = z.object({
  key: z.string(),
  sandboxId: z.string().nullable(),
  reason: z.enum(["sandbox_gone", "kill_retried"]).describe("sandbox_gone: the provider no longer has the lease's sandbox (capacity freed); kill_retried: a kill that failed at release went through"),
});

export const reaperReport = z.object({
  count: z.number().int(),
  killed: z.array(reapedSandbox),
  freed: z.array(freedLease).describe("leases the reaper settled"),
});

export const health = z.object({
  ok: z.literal(true),
  sandbox: z.object({
    backend: z.enum(["e2b", "local"]),
    endpoint: z.string(),
    reachable: z.boolean(),
    latencyMs: z.number(),
    detail: z.string().optional().describe("why the sandbox endpoint is not reachable"),
  }),
});

/** 202 answer of a GitHub delivery that started (or, redelivered, found) a run. */
export const webhookRun = z.object({
  id: z.string(),
  status: runStatus.optional().describe("absent when a redelivery names a run created by the first delivery"),
  forks: z.number().int().optional(),
  duplicate: z.boolean().describe("true when this delivery was seen before (same X-GitHub-Delivery): no second run"),
  trigger: z.string().describe("what triggered the run: a label, a `/fork` comment, …"),
  deliveryId: z.string(),
  ignoredFlags: z.array(z.object({ flag: z.string(), reason: z.string() })).optional().describe("flags of a `/fork` comment that were not applied, each with why"),
  notes: z.array(z.string()).optional(),
  links: runLinks,
});

/** 202 answer of a delivery that does not start a run (another event, no trigger, a request the event cannot make). */
export const webhookIgnored = z.object({
  ignored: z.literal(true),
  reason: z.string(),
  event: z.string(),
  deliveryId: z.string().optional(),
});

/** 200 answer of GitHub's `ping` event (sent when the webhook is created). */
export const webhookPing = z.object({
  ok: z.literal(true),
  event: z.literal("ping"),
  zen: z.string().optional(),
  hookId: z.number().int().optional(),
});

/** One Server-Sent Event's `data` (JSON): the common fields, then the event's own fields. */
export const runEventData = z.looseObject({
  seq: z.number().int().optional().describe("also the SSE `id`; reconnect with Last-Event-ID to continue after it. Absent on live-only events (`command.output`), which are not in the log"),
  at: isoDateTime,
  type: z
    .string()
    .describe(
      "also the SSE `event`: run.created, run.status, run.finished, run.budget, fork.started, fork.finished, fork.budget_exceeded, fork.resumed, fork.queued, fork.restarted, step.started, step.finished, command.finished, cost.recorded, command.output (live only: step, stream, offset, data), …",
    ),
  fork: z.number().int().nullable().describe("the fork the event is about (null for run events)"),
});

export type RunViewShape = z.infer<typeof runView>;
export type ForkViewShape = z.infer<typeof forkView>;
export type AgentViewShape = z.infer<typeof agentView>;
export type RunSummaryShape = z.infer<typeof runSummary>;
