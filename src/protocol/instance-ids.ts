/**
 * Workflow instance ids and lease keys that an object and the workflow it launches both compute.
 * A fixed id per job makes a second launch of the same job an "already exists", not a second job.
 */

/** The prepare phase's instance: one per run. */
export function prepareInstanceId(runId: string): string {
  return `${runId}-prepare`;
}

/** The lease of the prepare phase's sandbox, the one every fork of a prepared run is forked from. */
export function prepareLeaseKey(runId: string): string {
  return `${runId}-prepare`;
}

/** The k-th judging of a run (a run is judged again after a branch adds forks). */
export function judgeInstanceId(runId: string, k: number): string {
  return `${runId}-judge-${k}`;
}

/** The Workflow instance id of a run's GitHub report: one per run, so launching it twice is harmless. */
export function reportInstanceId(runId: string): string {
  return `${runId}-github`;
}

/** The k-th continuation of a fork launched as `base`, or of a session turn (near its instance's step limit the work goes on there). */
export function continuationInstanceId(base: string, k: number): string {
  return `${base}-c${k}`;
}

/** The launch and continuation an instance id names (`<base>-c<k>`), or k 0 for a launch's own id. */
export function parseContinuationId(instanceId: string): { base: string; k: number } {
  const match = /^(.*)-c(\d+)$/.exec(instanceId);
  return match ? { base: match[1]!, k: Number(match[2]) } : { base: instanceId, k: 0 };
}
