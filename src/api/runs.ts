import { z } from "zod";
import type { mergeResponse, mergeView } from "./merge-responses.ts";
import type { agentView, artifactsView, branchResponse, checkResult, commandResult, costView, diffStats, forkView, pushedBranch, rankEntry, runSandbox, runSummary, runTotals, runView, stepView, tokenCounts } from "./responses.ts";
import { PROFILE_NAMES, templateName, type ProfileName } from "../core/sandbox-profiles.ts";
import type { RunPick } from "./pick-responses.ts";
import { TITLE_MAX_CHARS } from "./run-title.ts";
import { networkPolicy } from "./network-policy.ts";

export const DEFAULT_TEMPLATE = "base";
export const DEFAULT_TIMEOUT_SECONDS = 7200;
export const DEFAULT_STALL_SECONDS = 600;
/** An agent task's `maxTokens` bounds: below this a call cannot write a useful edit; above, no model accepts it. */
export const MIN_AGENT_MAX_TOKENS = 256;
export const MAX_AGENT_MAX_TOKENS = 64_000;

/** Git ref names: a safe subset of `git check-ref-format` (no shell metacharacters at all). */
export const gitRefName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9._+\/-]+$/, "may contain only letters, digits and . _ + / -")
  .refine((s) => !s.startsWith("-") && !s.startsWith("/") && !s.endsWith("/") && !s.endsWith(".") && !s.endsWith(".lock"), "is not a valid git ref name")
  .refine((s) => !s.includes("..") && !s.includes("//") && !s.includes("/."), "is not a valid git ref name");

/**
 * A commit to start from: a full SHA-1 (40 hex) or SHA-256 (64 hex) object name, lower case as git
 * prints it. Abbreviations are refused (one could name another commit once the repository grows).
 */
export const gitCommit = z
  .string()
  .regex(/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/, "must be a full commit SHA, lower case (40 hex digits; 64 in a SHA-256 repository)")
  .describe("a full commit SHA, lower case (40 hex digits; 64 in a SHA-256 repository)");

/** A work-branch prefix: fork n's branch is `<prefix><n>`, so it may end in `/` or `-`. */
export const branchPrefix = z
  .string()
  .min(1)
  .max(190)
  .regex(/^[A-Za-z0-9._+\/-]+$/, "may contain only letters, digits and . _ + / -")
  .refine((s) => !s.startsWith("-") && !s.startsWith("/") && !s.includes("..") && !s.includes("//") && !s.includes("/.") && !s.includes(".lock/"), "is not a valid git ref prefix");

/** A file glob relative to the clone: no absolute path, no `..`, no control characters. */
export const artifactGlob = z
  .string()
  .min(1)
  .max(300)
  .regex(/^[^\u0000-\u001f]+$/, "must not contain control characters")
  .refine((g) => !g.startsWith("/") && !g.split("/").includes(".."), "must be relative to the clone, without ..");

export const commandsTask = z.strictObject({
  commands: z.array(z.string().min(1).max(20_000)).min(1).max(100),
});

export const agentTask = z.strictObject({
  prompt: z.string().min(1).max(100_000),
  /** A full model id or a short name (`sonnet`, `opus`, `haiku`); resolved at POST time. */
  model: z.string().min(1).max(100).optional(),
  maxTurns: z.number().int().min(1).max(500).optional(),
  /**
   * The output tokens one model call may write (the API's max_tokens; default DEFAULT_MAX_TOKENS,
   * 16,000). With a budget, each call reserves this many output tokens at list price before it runs.
   */
  maxTokens: z.number().int().min(MIN_AGENT_MAX_TOKENS).max(MAX_AGENT_MAX_TOKENS).optional(),
  /** `api` (default): Forkyard's durable loop, a checkpoint per model and tool call. `claude-code`: the Claude Code CLI in the sandbox, one checkpoint. */
  runtime: z.enum(["api", "claude-code"]).optional(),
});

export const task = z.union([commandsTask, agentTask]);

/** Setup run once, in one sandbox, then forked N ways (E2B's sandbox fork): each fork starts in the prepared workspace. */
export const prepareSpec = z.strictObject({
  commands: z.array(z.string().min(1).max(20_000)).min(1).max(50),
  timeoutSeconds: z.number().int().min(10).max(86_400).default(1800),
});

/** Judge calls a tournament may make by default (round-robin of 6 forks: 30 calls). */
export const DEFAULT_MAX_COMPARISONS = 30;

/**
 * How forks are judged: with `llm`, a model reads the task, each fork's patch and check and scores it.
 * `mode: "tournament"` (a model judging too) adds pairwise matches over those scores: each pair in
 * both orders, round-robin when `maxComparisons` allows, else single elimination seeded by the scores.
 */
export const judgeRequest = z.strictObject({
  /** `pointwise` (default): each fork scored alone. `tournament`: the scores, then pairwise matches that rank the forks. */
  mode: z.enum(["pointwise", "tournament"]).optional(),
  /** Tournament: judge calls it may make (each pair is judged twice, once in each order; default DEFAULT_MAX_COMPARISONS). */
  maxComparisons: z.number().int().min(2).max(200).optional(),
  llm: z
    .strictObject({
      /** A full model id or a short name; default: the run's agent model, else `sonnet`. */
      model: z.string().min(1).max(100).optional(),
      /** What matters, in your words (appended to the judge's instructions). */
      rubric: z.string().min(1).max(20_000).optional(),
    })
    .optional(),
});
export type JudgeRequest = z.infer<typeof judgeRequest>;

/** Whether a judge request has a model judge the forks (judge.llm, or a tournament). */
export const judgesWithModel = (judge: JudgeRequest | undefined): boolean => !!judge?.llm || judge?.mode === "tournament";
export type CommandsTask = z.infer<typeof commandsTask>;
export type AgentTask = z.infer<typeof agentTask>;

/**
 * Adaptive N: forks launched in waves of `initial` (the run has `max` forks), searching on only while
 * no fork meets the goal — a passing check (`check_pass`, needs `check`), or a judged fork at or
 * above `minScore` (each ended wave is judged) — and while the budget lasts.
 */
export const adaptiveStrategy = z.strictObject({
  kind: z.literal("adaptive"),
  initial: z.number().int().min(1).max(50),
  max: z.number().int().min(1).max(1000),
  until: z.union([z.literal("check_pass"), z.strictObject({ minScore: z.number().min(0).max(10) })]),
});
export type AdaptiveStrategy = z.infer<typeof adaptiveStrategy>;

/** Where a GitHub-triggered run reports: pull requests for its pushed branches and a comment on the issue. */
export const githubTarget = z.strictObject({
  owner: z.string().min(1).max(100).regex(/^[A-Za-z0-9._-]+$/),
  repo: z.string().min(1).max(100).regex(/^[A-Za-z0-9._-]+$/),
  issueNumber: z.number().int().positive(),
  installationId: z.number().int().positive().optional(),
  /** Open a pull request for every pushed fork, only for the best one, or none. */
  pullRequests: z.enum(["none", "each", "best"]).default("best"),
  /** Comment a summary table on the issue when the run ends. */
  comment: z.boolean().default(true),
});
export type GitHubTarget = z.infer<typeof githubTarget>;

export const createRunRequest = z.strictObject({
  /** How the run is listed and found (GET /v1/runs?q=). Default: the task's first line, at most 120 characters. */
  title: z.string().min(1).max(TITLE_MAX_CHARS).optional(),
  repo: z.string().min(1).max(2048),
  /** The branch to fork from. Default: the repository's default branch (a local repo's HEAD, a remote's symbolic HEAD). */
  branch: gitRefName.optional(),
  /**
   * The commit every fork starts from (its clone, the prepare, verification, an eval's hidden check)
   * and its patch is diffed against. It must be reachable from `branch`; a fork whose clone cannot
   * find it there fails with `commit_not_found`. Default: the branch's head when the fork clones.
   */
  commit: gitCommit.optional().describe("the commit every fork starts from (its clone, the prepare, verification, an eval's hidden check) and its patch is diffed against: a full SHA on `branch`; otherwise a fork fails with `commit_not_found`. Default: the branch's head"),
  task,
  /** At most MAX_FORKS_PER_RUN (default 100, up to 1,000: checked when the run is created). */
  forks: z.number().int().min(1).max(1000).default(1),
  maxConcurrent: z.number().int().min(1).max(50).default(5),
  timeoutSeconds: z.number().int().min(10).max(86_400).default(DEFAULT_TIMEOUT_SECONDS),
  /** A size profile: its template, its timeout (unless given here) and its cost rates. */
  profile: z.enum(PROFILE_NAMES).optional(),
  /** A template id or alias (resolved when the run is created; the run keeps that id). Default: the profile's, else `base`. */
  template: templateName.default(DEFAULT_TEMPLATE),
  check: z.string().min(1).max(20_000).optional(),
  /**
   * Globs (git pathspec globs, relative to the clone, `**` spans directories) restored from the base
   * in the verification sandbox before the commit is built and the check runs, e.g. `tests/**`: the
   * fork's edits, deletions and additions there are dropped from its commit, patch and check.
   */
  protectedPaths: z.array(artifactGlob).min(1).max(50).optional(),
  /** Files to keep from each fork, globs relative to the clone (`**` spans directories), e.g. `dist/**`. */
  artifacts: z.array(artifactGlob).min(1).max(20).optional(),
  /** The stall watchdog: a command or tool call with no output and no exit this long is killed (default DEFAULT_STALL_SECONDS). */
  stallSeconds: z.number().int().min(1).max(86_400).optional(),
  budgetUsd: z.number().positive().max(100_000).optional(),
  branchPrefix: branchPrefix.optional(),
  metadata: z.record(z.string().min(1).max(64), z.string().max(512)).refine((m) => Object.keys(m).length <= 32, "at most 32 keys").optional(),
  /** Push each successful fork's branch to the repo (needs GITHUB_TOKEN; GitHub repos only). */
  push: z.boolean().optional(),
  /** Keep each fork's sandbox (paused) when it ends, for KEEP_SANDBOX_SECONDS: POST …/forks/:n/session continues it. */
  keepSandboxes: z.boolean().optional(),
  /** Commands run once (install, build, …) in one sandbox that is then forked N ways; the forks skip the clone. */
  prepare: prepareSpec.optional(),
  /** Rank the forks when every fork has ended; with `llm`, a model scores each fork that succeeded (0-10). */
  judge: judgeRequest.optional(),
  /** `first_check_pass`: the first fork whose check passes wins; the others are cancelled at once (needs `check`). */
  stopWhen: z.enum(["first_check_pass"]).optional(),
  /** How many forks to run: `adaptive` launches them in waves until one meets the goal (the run's `forks` becomes `max`). */
  strategy: adaptiveStrategy.optional(),
  github: githubTarget.optional(),
  /** Outbound network rules for the run's sandboxes (E2B's sandbox `network`); see docs/security.md. */
  network: networkPolicy.optional(),
  /** `steps`: at each step boundary a fork stores what changed in its workspace (R2), so a branch can start at any earlier step. */
  snapshots: z.enum(["steps"]).optional(),
});

/** A run's request as stored and shown: validated, defaults filled in, the branch resolved. */
export type CreateRunRequest = Omit<z.infer<typeof createRunRequest>, "branch"> & { branch: string };
export type Task = z.infer<typeof task>;

export const RUN_STATUSES = ["running", "paused", "completed", "cancelled", "failed", "budget_exceeded"] as const;
export const runStatus = z.enum(RUN_STATUSES);
export type RunStatus = z.infer<typeof runStatus>;
/**
 * Statuses an ended run is in. `budget_exceeded` is not one: raising the budget resumes the run. Only
 * `cancelled` is never left: a raise also continues an ended run's forks that a budget stop ended.
 */
export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = ["completed", "cancelled", "failed"];

export const FORK_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled", "timed_out", "budget_exceeded"] as const;
export const forkStatus = z.enum(FORK_STATUSES);
export type ForkStatus = z.infer<typeof forkStatus>;
/** Statuses an ended fork is in; one that a budget stop ended (`budget_exceeded`) goes on running if the budget is raised (run-budget.ts). */
export const TERMINAL_FORK_STATUSES: readonly ForkStatus[] = ["succeeded", "failed", "cancelled", "timed_out", "budget_exceeded"];

export const raiseBudgetRequest = z.strictObject({ budgetUsd: z.number().positive().max(100_000) });

export const listRunsQuery = z.strictObject({
  status: runStatus.optional(),
  /** Only runs of this repository (as the run shows it: a URL without `.git`, or a local path). */
  repo: z.string().min(1).max(2048).optional(),
  /** Only runs whose title or task contains this text (case-insensitive for ASCII letters). */
  q: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
});
export type ListRunsQuery = z.infer<typeof listRunsQuery>;

export const forkNumberParam = z.coerce.number().int().min(1).max(1000);

/** GET /v1/runs/:id: every fork, or with either parameter one page of them (forks numbered after `forksAfter`, `forksLimit` of them, default 100). */
export const runViewQuery = z.strictObject({
  forksAfter: z.coerce.number().int().min(0).optional(),
  forksLimit: z.coerce.number().int().min(1).max(1000).optional(),
});

/** The path of a fork's routes, /v1/runs/:id/forks/:n (the id is checked by the run's look-up: 404). */
export const forkPathParams = z.object({ id: z.string(), n: forkNumberParam });
/** GET /v1/runs/:id/compare/:a/:b: two forks of a run. */
export const forkPairParams = z.object({ id: z.string(), a: forkNumberParam, b: forkNumberParam });


/** POST /v1/runs/:id/forks/:n/branch: new forks from fork n's workspace (and transcript) as it is now. */
export const branchRequest = z.strictObject({
  count: z.number().int().min(1).max(20).default(1),
  /** What the new forks do next (agent tasks); without it they continue fork n's task. */
  prompt: z.string().min(1).max(100_000).optional(),
  /**
   * Start where fork n stood before this step (`model-3`: before its third model call; `command-2`:
   * before its second command) instead of where it is now.
   */
  atStep: z.string().min(1).max(40).optional(),
  /** Another model for the new forks' agent (a full model id or a short name), e.g. to replay an attempt from where it went wrong. */
  model: z.string().min(1).max(100).optional(),
});
export type BranchRequest = z.infer<typeof branchRequest>;

/** The most forks one merge combines. */
export const MAX_MERGE_FORKS = 8;

/** POST /v1/runs/:id/merge: a new fork, from the base, whose agent combines the chosen forks' patches. */
export const mergeRequest = z.strictObject({
  forks: z
    .array(z.number().int().min(1).max(1000))
    .min(2)
    .max(MAX_MERGE_FORKS)
    .refine((forks) => new Set(forks).size === forks.length, "must be distinct forks"),
  /** What the merge should favour, in the asker's words (after the run's task). */
  prompt: z.string().min(1).max(100_000).optional(),
  /** The merge fork's model (a full id or a short name); default: the run's. */
  model: z.string().min(1).max(100).optional(),
});
export type MergeRequest = z.infer<typeof mergeRequest>;

// The response types the code uses are inferred from the response schemas (./responses.ts), the
// one description of what the routes answer and of the OpenAPI document: no twin to keep in step.
export type BranchResponse = z.output<typeof branchResponse>;
export type MergeResponse = z.output<typeof mergeResponse>;
export type MergeView = z.output<typeof mergeView>;
export type StepView = z.output<typeof stepView>;
export type CommandResult = z.output<typeof commandResult>;
export type CheckResult = z.output<typeof checkResult>;
export type DiffStats = z.output<typeof diffStats>;
export type TokenCounts = z.output<typeof tokenCounts>;
export type AgentView = z.output<typeof agentView>;
export type PushedBranch = z.output<typeof pushedBranch>;
export type CostView = z.output<typeof costView>;
export type ArtifactsView = z.output<typeof artifactsView>;
export type ForkView = z.output<typeof forkView>;
export type RunSandbox = z.output<typeof runSandbox>;
export type RunView = z.output<typeof runView>;
export type RankEntry = z.output<typeof rankEntry>;
export type RunTotals = z.output<typeof runTotals>;
export type RunSummary = z.output<typeof runSummary>;

/** Where a branched fork started: fork `n`, after `turn` model calls (or commands); null until it is forked. */
export interface ForkParent {
  n: number;
  turn: number | null;
  /** A branch at an earlier step: that step, how its workspace was rebuilt, and the commands (or tool calls) re-run for it. */
  atStep?: string;
  rebuiltFrom?: "snapshots" | "journal";
  rerun?: string[];
}

export interface PreparedView {
  status: "preparing" | "forked" | "per_fork" | "failed";
  /** The commit the prepared workspace was cloned at (every fork starts from it). */
  baseSha?: string;
  error?: { code: string; message: string };
}

export interface JudgingView {
  status: "running" | "done" | "failed";
  model: string;
  /** Per fork that succeeded: the score 0-10 and the judge's reason (when done). */
  scores: { n: number; score: number | null; reason: string }[];
  error?: { code: string; message: string };
}

