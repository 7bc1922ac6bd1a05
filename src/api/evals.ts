import { z } from "zod";
import { adaptiveStrategy, gitCommit, gitRefName, judgeRequest } from "./runs.ts";
import { sweBenchImport } from "./swe-bench.ts";

/** An eval holds at most this many runs (tasks × configs). */
export const MAX_EVAL_RUNS = 200;

/** A task of an eval suite: a repository, a prompt, and the hidden check that says whether it is solved. */
export const evalTask = z.strictObject({
  id: z.string().min(1).max(100).regex(/^[A-Za-z0-9._-]+$/, "may contain only letters, digits and . _ -"),
  repo: z.string().min(1).max(2048),
  /** The branch every attempt starts from (default: the repository's default branch). */
  ref: gitRefName.optional(),
  /** The commit every attempt (and the hidden check) starts from, on `ref` (a run's `commit`). */
  commit: gitCommit.optional().describe("the commit every attempt and the hidden check start from, on `ref` (the run's `commit`)"),
  prompt: z.string().min(1).max(100_000),
  /** Setup commands run before the agent (and again before the hidden check). */
  prepare: z.array(z.string().min(1).max(20_000)).min(1).max(50).optional(),
  /** The visible check: the run's `check` (the agent's forks are ranked by it). */
  check: z.string().min(1).max(20_000).optional(),
  /** Run after each fork ends, only in a fresh sandbox on the fork's verified patch; exit 0 = solved. Never shown to the agent. */
  hiddenCheck: z.string().min(1).max(100_000),
  /**
   * A patch the hidden check applies (`git apply`, from a file) after the fork's patch, the files it
   * touches first restored from the base: the hidden tests (SWE-bench's `test_patch`). Never shown to the agent.
   */
  hiddenPatch: z
    .string()
    .min(1)
    .max(500_000)
    .optional()
    .describe("the hidden tests as a patch (SWE-bench's test_patch): the hidden check writes it to a file, restores the files it touches from the base, `git apply`s it after the fork's patch, then runs `hiddenCheck`. Never shown to the agent"),
});

/** A config: how every task is attempted (model, attempts, judge, strategy). */
export const evalConfig = z.strictObject({
  name: z.string().min(1).max(64).regex(/^[A-Za-z0-9._-]+$/, "may contain only letters, digits and . _ -"),
  model: z.string().min(1).max(100),
  forks: z.number().int().min(1).max(100),
  judge: judgeRequest.optional(),
  /** Adaptive N for every task's run (its `max` is the run's forks; `forks` is then ignored). */
  strategy: adaptiveStrategy.optional(),
});

const evalFields = {
  name: z.string().min(1).max(200),
  tasks: z.array(evalTask).min(1).max(MAX_EVAL_RUNS),
  configs: z.array(evalConfig).min(1).max(20),
  /** Runs of the eval in flight at once (default 2). */
  maxConcurrent: z.number().int().min(1).max(50).default(2),
  /** One budget for every run of the eval, hidden checks included. */
  budgetUsd: z.number().positive().max(100_000).optional(),
};

/** An eval as stored: its tasks (a `sweBench` body converted), unique ids and names, within MAX_EVAL_RUNS runs. */
export const createEvalRequest = z.strictObject(evalFields).superRefine((req, ctx) => {
  if (req.tasks.length * req.configs.length > MAX_EVAL_RUNS) ctx.addIssue({ code: "custom", path: ["tasks"], message: `tasks × configs must be at most ${MAX_EVAL_RUNS}` });
  const dup = (names: string[]) => names.findIndex((n, i) => names.indexOf(n) !== i);
  const task = dup(req.tasks.map((t) => t.id));
  if (task >= 0) ctx.addIssue({ code: "custom", path: ["tasks", task, "id"], message: "must be unique" });
  const config = dup(req.configs.map((c) => c.name));
  if (config >= 0) ctx.addIssue({ code: "custom", path: ["configs", config, "name"], message: "must be unique" });
});

/** POST /v1/evals's body: `tasks`, or `sweBench` in their place (src/evals/swe-bench.ts converts it), not both. */
export const createEvalBody = z
  .strictObject({
    ...evalFields,
    tasks: evalFields.tasks.optional(),
    sweBench: sweBenchImport.optional().describe("SWE-bench-style instances and per-repository templates, in place of `tasks`: each instance becomes a task (docs/evals.md)"),
  })
  .superRefine((body, ctx) => {
    if (!body.tasks === !body.sweBench) ctx.addIssue({ code: "custom", path: [body.tasks ? "sweBench" : "tasks"], message: "give either tasks or sweBench" });
  });

export type CreateEvalRequest = z.output<typeof createEvalRequest>;
export type EvalTask = z.output<typeof evalTask>;
export type EvalConfig = z.output<typeof evalConfig>;

export const EVAL_STATUSES = ["running", "completed", "budget_exceeded", "cancelled"] as const;
export type EvalStatus = (typeof EVAL_STATUSES)[number];

export const EVAL_RUN_STATUSES = ["queued", "running", "checking", "done", "failed", "skipped"] as const;
export type EvalRunStatus = (typeof EVAL_RUN_STATUSES)[number];

const interval = z.object({
  value: z.number().nullable(),
  low: z.number().nullable(),
  high: z.number().nullable(),
  n: z.number().int().describe("the units it rests on: tasks (rates), scored attempts (AUC) or tasks (means)"),
});

export const configResults = z.object({
  config: z.string(),
  model: z.string(),
  forks: z.number().int(),
  tasks: z.number().int().describe("tasks whose run ended and whose forks' hidden checks are done"),
  attempts: z.number().int(),
  passAt1: interval.describe("mean over tasks of c/n (c forks of n passed the hidden check)"),
  oraclePassAtN: interval.describe("share of tasks where some fork passed the hidden check"),
  selectedPass: interval.describe("share of tasks whose first-ranked fork (the run's winner) passed the hidden check"),
  selectorAccuracy: interval.describe("P(selected passes | some fork passes)"),
  judgeAuc: interval.describe("the judge's scores against the hidden outcome (null without judge scores or without both outcomes)"),
  costPerTaskUsd: interval,
  timePerTaskMs: interval,
  costPerSolvedTaskUsd: z.number().nullable().describe("total cost of the config's runs ÷ tasks solved (selected pass)"),
  timePerSolvedTaskMs: z.number().nullable(),
  solved: z.number().int(),
  selectors: z
    .object({
      pointwise: z.object({ selectedPass: interval, selectorAccuracy: interval }).describe("with the fork the pointwise scores rank first"),
      tournament: z.object({ selectedPass: interval, selectorAccuracy: interval }).describe("with the fork the tournament ranks first (the runs' winner)"),
    })
    .optional()
    .describe("configs judged with judge.mode tournament: each selector's figures on the same forks, side by side"),
});

export const evalTaskResult = z.object({
  task: z.string(),
  config: z.string(),
  runId: z.string().nullable(),
  status: z.enum(EVAL_RUN_STATUSES),
  winner: z.number().int().nullable(),
  forks: z.array(z.object({ n: z.number().int(), status: z.string(), hiddenPassed: z.boolean().nullable(), hiddenError: z.string().optional(), score: z.number().nullable().optional() })),
  costUsd: z.number(),
  durationMs: z.number().int(),
  selectedBy: z.object({ pointwise: z.number().int().nullable(), tournament: z.number().int().nullable() }).optional().describe("a run judged with a tournament: the fork each selector ranked first"),
});

export const evalResults = z.object({
  id: z.string(),
  status: z.enum(EVAL_STATUSES),
  configs: z.array(configResults),
  tasks: z.array(evalTaskResult),
  hiddenCheckCostUsd: z.number().describe("sandbox time of the hidden checks (not in any task's cost)"),
});

export const evalView = z.object({
  id: z.string(),
  name: z.string(),
  status: z.enum(EVAL_STATUSES),
  createdAt: z.string(),
  updatedAt: z.string(),
  maxConcurrent: z.number().int(),
  budgetUsd: z.number().nullable(),
  spentUsd: z.number().describe("costs of ended runs and hidden checks, plus what running runs have spent so far"),
  configs: z.array(z.object({ name: z.string(), model: z.string(), forks: z.number().int(), judge: judgeRequest.optional(), strategy: adaptiveStrategy.optional() })),
  tasks: z.array(z.object({ id: z.string(), repo: z.string(), ref: z.string().optional(), commit: z.string().optional() })).describe("the tasks (their prompts and checks are not repeated here; the hidden check never is)"),
  progress: z.object({ runs: z.number().int(), queued: z.number().int(), running: z.number().int(), checking: z.number().int(), done: z.number().int(), failed: z.number().int(), skipped: z.number().int() }),
  links: z.object({ self: z.string(), results: z.string(), csv: z.string() }),
});

/** A row of GET /v1/evals (D1's `evals` index, kept current by each eval's object). */
export const evalSummary = z.object({
  id: z.string(),
  name: z.string(),
  status: z.enum(EVAL_STATUSES),
  configs: z.number().int().describe("how many configs"),
  tasks: z.number().int().describe("how many tasks"),
  runs: z.number().int().describe("tasks × configs"),
  settled: z.number().int().describe("runs done (checked), failed or skipped"),
  spentUsd: z.number(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const evalPage = z.object({
  evals: z.array(evalSummary),
  nextCursor: z.string().nullable().describe("pass as `cursor` to get the next page; null on the last page"),
});

export const listEvalsQuery = z.strictObject({
  status: z.enum(EVAL_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
});

/** DELETE /v1/evals/:id (src/actions/delete-eval.ts). */
export const deletedEval = z.object({
  id: z.string(),
  deleted: z.literal(true),
  runsReleased: z.number().int().describe("the eval's runs released to RUN_RETENTION_DAYS (the runs themselves are not deleted)"),
  instancesDeleted: z.number().int().describe("hidden-check Workflow instances whose engine state this call deleted"),
});

export type DeletedEval = z.output<typeof deletedEval>;
export type ConfigResults = z.output<typeof configResults>;
export type EvalTaskResult = z.output<typeof evalTaskResult>;
export type EvalResults = z.output<typeof evalResults>;
export type EvalView = z.output<typeof evalView>;
export type EvalSummary = z.output<typeof evalSummary>;
export type EvalPage = z.output<typeof evalPage>;
export type ListEvalsQuery = z.output<typeof listEvalsQuery>;

export function evalLinks(id: string) {
  const self = `/v1/evals/${id}`;
  return { self, results: `${self}/results`, csv: `${self}/results?format=csv` };
}
