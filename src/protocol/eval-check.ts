/**
 * What an eval (src/objects/eval) and its hidden-check Workflow (src/workflows/eval-check-workflow.ts)
 * share: the check's parameters, its outcome, its instance id and lease.
 */

export interface EvalCheckParams {
  evalId: string;
  runId: string;
  /** The fork whose verified patch is checked. */
  n: number;
  repo: string;
  branch: string;
  /** The run's `commit`: the check's clone starts there (absent: the branch's head). */
  commit?: string;
  template: string;
  /** What its sandbox time is costed at (the run's sandbox size). */
  sandboxRate?: { vcpu: number; memoryGib: number };
  /** The task's prepare commands, run after the patch is applied. */
  prepare?: string[];
  hiddenCheck: string;
  /** Applied after the fork's patch, the files it touches restored from the base first (the task's hidden tests). */
  hiddenPatch?: string;
  timeoutSeconds: number;
}

export interface EvalCheckOutcome {
  /** null: the check could not be run (its error says why). */
  passed: boolean | null;
  exitCode?: number;
  error?: string;
  durationMs?: number;
  costUsd: number;
}

/** One instance per (eval, run, fork): a second launch is an "already exists". */
export function evalCheckInstanceId(evalId: string, runId: string, n: number): string {
  return `${evalId}-${runId}-${n}-hidden`;
}

export function evalCheckLeaseKey(evalId: string, runId: string, n: number): string {
  return `${evalId}-${runId}-${n}-hidden`;
}

/** Eval ids: `e` + 20 base32 characters. */
export const EVAL_ID_PATTERN = /^e[a-z2-7]{20}$/;
