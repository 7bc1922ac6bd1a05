import type { EvalConfig, EvalTask } from "../api/evals";

/** The metadata keys that mark a run as an eval's (kept from retention while the eval exists). */
export const EVAL_METADATA = { eval: "forkyard.eval", task: "forkyard.evalTask", config: "forkyard.evalConfig" } as const;

/** A run's budget below this is no budget at all: the eval stops launching. */
export const MIN_RUN_BUDGET_USD = 0.0001;

/**
 * The POST /v1/runs body of one task × config (the same validation and creation as any run). The
 * hidden check (and hidden patch) is not in it: the run, its forks, their prompt, repository and sandboxes never see it.
 */
export function evalRunBody(evalId: string, task: EvalTask, config: EvalConfig, budgetUsd: number | null): Record<string, unknown> {
  return {
    repo: task.repo,
    ...(task.ref ? { branch: task.ref } : {}),
    ...(task.commit ? { commit: task.commit } : {}),
    task: { prompt: task.prompt, model: config.model },
    forks: config.forks,
    maxConcurrent: Math.min(config.forks, 50),
    ...(task.check ? { check: task.check } : {}),
    ...(task.prepare ? { prepare: { commands: task.prepare } } : {}),
    ...(config.judge ? { judge: config.judge } : {}),
    ...(config.strategy ? { strategy: config.strategy } : {}),
    ...(budgetUsd !== null ? { budgetUsd } : {}),
    metadata: { [EVAL_METADATA.eval]: evalId, [EVAL_METADATA.task]: task.id, [EVAL_METADATA.config]: config.name },
  };
}

/** The idempotency key of a task × config run: the eval always creates the same run for it. */
export function evalRunKey(evalId: string, task: string, config: string): string {
  return `eval:${evalId}:${task}:${config}`;
}

/**
 * The budget of the next run of an eval with `budgetUsd`: what is neither spent nor reserved by
 * runs in flight, shared equally by the runs not yet launched (a run that spends less leaves the
 * rest to later ones). Null: the eval has no budget. Zero: nothing is left (the eval stops).
 */
export function nextRunBudget(budgetUsd: number | null, committedUsd: number, queued: number): number | null {
  if (budgetUsd === null) return null;
  const share = (budgetUsd - committedUsd) / Math.max(queued, 1);
  return share >= MIN_RUN_BUDGET_USD ? Math.floor(share * 1e6) / 1e6 : 0;
}
