import { decodeStepError } from "../core/errors.ts";
import { isEngineInterruption } from "../protocol/engine-errors.ts";

/** A durable job's work and its ending, as DurableJob runs them (src/workflows/durable-job.ts). */
export interface JobPlan<O, R = O> {
  /** The job's steps up to its outcome. */
  work(): Promise<O>;
  /** The outcome of work that failed (with the error its step left with). Without it, the error fails the instance. */
  failed?(error: { code: string; message: string }): O;
  /** The final report (release, tell the owner): after the work, whether it succeeded or failed. */
  finish?(outcome: O): Promise<R>;
}

/**
 * Runs a job's plan: its work, then its final report whatever the work's outcome. The engine
 * stopping the instance (pause, terminate, eviction) is no outcome: that error leaves at once, with
 * no report — the instance replays later from its checkpoints and reports then.
 */
export async function runJob<O, R = O>(plan: JobPlan<O, R>): Promise<R> {
  let outcome: O;
  try {
    outcome = await plan.work();
  } catch (err) {
    if (isEngineInterruption(err) || !plan.failed) throw err;
    outcome = plan.failed(decodeStepError(err));
  }
  return plan.finish ? plan.finish(outcome) : (outcome as unknown as R);
}
