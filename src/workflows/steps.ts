/**
 * Steps of the durable-job kit itself (src/workflows/durable-job.ts), in any Workflow: `code-version`
 * pins the plan of an instance whose params record a code version (its first step, never reported).
 */
export const JOB_STEP = {
  codeVersion: "code-version",
} as const;

/**
 * Fork Workflow step names: the checkpoint keys of every fork, shown in the Cloudflare dashboard
 * and shared with the Orchestrator, the API and the tests.
 */
export const STEP = {
  budget: "budget",
  acquireSandbox: "acquire-sandbox",
  waitForCapacity: "wait-for-capacity",
  healthCheck: "health-check",
  clone: "clone",
  /** Instead of clone, in a workspace forked from a run's prepared sandbox. */
  branch: "branch",
  /** A branch of an ended fork forks its kept sandbox first: `branch-sandbox-<k>` (and `-wait-<k>` while the cap is full). */
  branchSandbox: "branch-sandbox",
  /** A fork's state at its end (journal, conversation, where both stood at each boundary), for branches of it: kept forks, and agent forks without step snapshots. */
  branchState: "branch-state",
  /**
   * A branch at an earlier step (`atStep`) starts in a fresh sandbox: the parent's base cloned, then
   * its files laid from the step snapshots (or its journal replayed up to that step).
   */
  branchRebuild: "branch-rebuild",
  /** After the prepare commands: their untracked files are kept out of git. */
  prepareExclude: "prepare-exclude",
  check: "check",
  collect: "collect",
  artifacts: "artifacts",
  transcript: "transcript",
  push: "push",
  claudeCode: "claude-code",
  releaseSandbox: "release-sandbox",
  report: "report",
  /** A merge fork (POST …/merge), before its agent: the chosen forks' patches, fenced into its prompt (fork-merge.ts). */
  mergeInput: "merge-input",
  /** A merge fork, after its verification: which of those forks' hunks survive in its patch. */
  provenance: "provenance",
  /** Code version 2: near its instance's step limit, the fork goes on in a new instance (fork-continuation.ts). */
  continue: "continue",
  /** Code version 3: a fork stopped for budget stores where it stood, for a later raise to continue it (fork-continuation.ts). */
  budgetStop: "budget-stop",
} as const;

/**
 * A fork's verification (runs launched with `verify` in their params), after its task: the fork's
 * files exported by the files API and staged in R2 (`verify-export`), the fork's own sandbox
 * released, then a fresh sandbox under the fork's `<lease>-verify` lease (`verify-acquire-sandbox`,
 * `verify-wait-for-capacity-<k>`), the base cloned there and the prepare commands re-run
 * (`verify-base`), the staged files written there (`verify-lay`), its commit and patch built there
 * with a clean git (`verify-build`), `push` from there, the check run there (`verify-check`), and
 * its release in the `finally` (`verify-release`). New names: `check` and `collect` keep meaning the old
 * in-sandbox work for instances launched before (never reuse a name for different work).
 */
export const VERIFY_STEP = {
  prefix: "verify-",
  base: "verify-base",
  export: "verify-export",
  lay: "verify-lay",
  build: "verify-build",
  check: "verify-check",
  release: "verify-release",
} as const;

export type StepName = (typeof STEP)[keyof typeof STEP];

/**
 * A session's Workflow steps. Setup: acquire-sandbox, health-check, clone (as a fork's), then
 * setup-finished. A turn: begin (resumes the sandbox), history, the agent's model and tool steps,
 * then finish.
 */
export const SESSION_STEP = {
  setupInfo: "setup-info",
  setupFinished: "setup-finished",
  begin: "begin",
  history: "history",
  /** Near the instance's step limit, before a model call: the turn goes on in instance `<turn instance>-c<k>` (turn-continuation.ts). */
  continue: "continue",
  finish: "finish",
  /** A forked session's first turn: its own work branch checked out (after `begin`, only then). */
  workBranch: "work-branch",
  /**
   * A turn whose sandbox was lost rebuilds it after `begin` (session-rebuild.ts): rebuild-release,
   * rebuild-acquire-sandbox, rebuild-clone, rebuild-setup (a run's fork continued: its prepare
   * commands and its commands), rebuild-patch (a Claude Code fork continued: its verified patch),
   * rebuild-snapshot, rebuild-replay-<b>, rebuild-finished.
   */
  rebuildPrefix: "rebuild-",
  rebuildRelease: "rebuild-release",
  rebuildClone: "rebuild-clone",
  rebuildSnapshot: "rebuild-snapshot",
  rebuildReplay: (batch: number) => `rebuild-replay-${batch}`,
  rebuildFinished: "rebuild-finished",
  /**
   * A sandbox lost during tool step `step` (e.g. `tool-2-1`) is rebuilt in steps prefixed
   * `rebuild-at-<step>-`: `…-plan`, `…-release`, `…-acquire-sandbox`, `…-clone`, `…-setup`, `…-patch`, `…-snapshot`,
   * `…-replay-<b>`, `…-finished`; then the tool call runs again as `<step>-r1`.
   */
  rebuildAtPrefix: (step: string) => `rebuild-at-${step}-`,
  rerun: (step: string) => `${step}-r1`,
} as const;

/** The names of a rebuild's steps under `prefix` (`rebuild-` at a turn's start: SESSION_STEP's names). */
export function rebuildStepNames(prefix: string): { release: string; clone: string; setup: string; patch: string; snapshot: string; replay: (batch: number) => string; finished: string } {
  return { release: `${prefix}release`, clone: `${prefix}clone`, setup: `${prefix}setup`, patch: `${prefix}patch`, snapshot: `${prefix}snapshot`, replay: (batch) => `${prefix}replay-${batch}`, finished: `${prefix}finished` };
}

/**
 * The prepare Workflow of a run with `prepare` (`<run>-prepare`): prepare-info, acquire-sandbox,
 * health-check, clone, prepare-1…, fork-sandboxes-<round> (waiting for capacity between rounds),
 * release-sandbox, prepared.
 */
export const PREPARE_STEP = {
  info: "prepare-info",
  forkSandboxes: (round: number) => `fork-sandboxes-${round}`,
  waitForCapacity: (round: number) => `fork-wait-${round}`,
  done: "prepared",
} as const;

/** One step per prepare command, in the prepare Workflow or (without sandbox fork) in each fork: `prepare-1`, … */
export function prepareStep(index: number): string {
  return `prepare-${index + 1}`;
}

/** A fork takes the branches waiting for it at a step boundary: `branch-at-model-3`, `branch-at-command-2`, `branch-at-end`. */
/** A session turn's step boundary where new sessions asked for meanwhile are forked (`fork-at-model-2`, `fork-at-tool-1-0`). */
export function sessionForkStep(boundary: string): string {
  return `fork-at-${boundary}`;
}

export function branchStep(boundary: string): string {
  return `branch-at-${boundary}`;
}

/** Runs with `snapshots: "steps"`: what changed in the workspace since the last boundary, stored at this one (`snapshot-model-3`). */
export function snapshotStep(boundary: string): string {
  return `snapshot-${boundary}`;
}

/** One step per command of a commands task: `command-1`, `command-2`, ... */
export function commandStep(index: number): string {
  return `command-${index + 1}`;
}

export { modelStepName, toolStepName } from "../agent/step-names";

/** The k-th replacement of a lost sandbox: `recover-<k>-release`, `-acquire-sandbox`, `-restore`. */
export function recoveryStep(k: number): string {
  return `recover-${k}`;
}

/**
 * A fork continued after a budget stop ended it (its sandbox released): its k-th continuation
 * instance acquires a new sandbox (`resume-<k>-acquire-sandbox`) and restores its workspace from
 * the journal (`resume-<k>-restore`).
 */
export function budgetRebuildStep(k: number): string {
  return `resume-${k}`;
}

/** A fork out of budget pauses its sandbox (`budget-wait-<turn>-<k>`) and, once raised, resumes it. */
export function budgetWaitStep(turn: number, wait: number): string {
  return `budget-wait-${turn}-${wait}`;
}

export function budgetResumeStep(turn: number, wait: number): string {
  return `budget-resume-${turn}-${wait}`;
}


/**
 * An eval's hidden check of one fork (`<eval>-<run>-<n>-hidden`): a fresh sandbox
 * (`hidden-acquire-sandbox`, `hidden-wait-for-capacity-<k>`), the base cloned (`hidden-base`), the
 * fork's verified patch applied (`hidden-apply`), the task's prepare commands (`hidden-prepare-<i>`),
 * the hidden check (`hidden-check`), the release (`hidden-release`) and the report to the eval.
 */
export const EVAL_CHECK_STEP = {
  prefix: "hidden-",
  base: "hidden-base",
  apply: "hidden-apply",
  hiddenPatch: "hidden-tests",
  prepare: "hidden-prepare",
  check: "hidden-check",
  release: "hidden-release",
  report: "hidden-report",
} as const;
