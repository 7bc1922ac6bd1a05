/**
 * The version of Forkyard's workflow code, recorded by every run (and session turn) when it starts,
 * and carried by its Workflow instances in their params (`codeVersion`). Cloudflare does not version
 * running instances: a deploy changes the code an in-flight instance resumes with. So a change to
 * a workflow's step structure bumps CODE_VERSION, and the new code keeps running the old plan for
 * instances that recorded an older version (DurableJob's `since`, src/workflows/durable-job.ts).
 * The rules: docs/architecture-deploys.md.
 *
 * History:
 * 1. Every build before versions were recorded (instances whose params carry no `codeVersion`).
 * 2. A fork counts its steps and, near the step limit, continues in a new instance
 *    (`continue` step, instance `<fork instance>-c<k>`: src/workflows/fork-continuation.ts).
 * 3. A fork stopped for budget stores where it stood (`budget-stop` step), so raising the budget
 *    after BUDGET_WAIT_SECONDS ended it continues it in a new instance that rebuilds its sandbox
 *    from its journal (`resume-<k>-acquire-sandbox`, `resume-<k>-restore`).
 * 4. A branch that finds no room for its sandboxes at a boundary waits there (`branch-at-<b>-room-<i>`
 *    sleeps, `branch-at-<b>-<i>` takes again: src/workflows/fork-branching.ts) instead of going on at once.
 * 5. A session's turn near its instance's step limit continues in a new instance (`continue` step,
 *    instance `<turn instance>-c<k>`: src/workflows/turn-continuation.ts) instead of failing.
 */
export const CODE_VERSION = 5;

/** What an instance launched before versions were recorded runs: the plan of those builds. */
export const LEGACY_CODE_VERSION = 1;

/** The code a run (or session turn) started on. */
export interface CodeVersionRecord {
  /** CODE_VERSION of the build (or the lower `CODE_VERSION` configuration value). */
  code: number;
  /** The deployed Worker version's id (the CF_VERSION_METADATA binding), when there is one. */
  deployment?: string;
}

/**
 * The newest plan this build runs: CODE_VERSION, or the lower version the `CODE_VERSION`
 * configuration value asks for (a build run as an older one, to rehearse a deploy).
 */
export function buildCodeVersion(configured: number | undefined): number {
  return configured === undefined ? CODE_VERSION : Math.min(configured, CODE_VERSION);
}

/** What a run records about the code it starts on. */
export function codeVersionRecord(configured: number | undefined, metadata: { id?: string } | undefined): CodeVersionRecord {
  const deployment = metadata?.id;
  return { code: buildCodeVersion(configured), ...(deployment ? { deployment } : {}) };
}

/** The version an instance started on, read tolerantly: absent or malformed is the legacy version. */
export function recordedCodeVersion(params: unknown): number {
  const value = typeof params === "object" && params !== null ? (params as { codeVersion?: unknown }).codeVersion : undefined;
  return typeof value === "number" && Number.isInteger(value) && value >= 1 ? value : LEGACY_CODE_VERSION;
}

/**
 * Whether an instance that started on `recorded` runs a step (or reads a result) introduced by
 * `version`, on a build whose newest plan is `build`: only when both know it. An instance keeps the
 * plan it started with whatever build resumes it; a build run as an older one runs the older plan.
 */
export function planIncludes(version: number, recorded: number, build: number): boolean {
  return version <= Math.min(recorded, build);
}
