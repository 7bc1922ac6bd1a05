import type { DeletedEval } from "../api/evals";
import type { Env } from "../core/env";
import { NotFoundError, unwrap } from "../core/errors";
import { errorFields, log } from "../observability/log";
import { EVAL_ID_PATTERN } from "../protocol/eval-check";
import { MAX_BATCH_INSTANCES } from "../protocol/workflow-limits";

/**
 * Deletes an ended eval (DELETE /v1/evals/:id): its Evaluation object's storage and alarm, its rows
 * in D1's eval_runs (its runs are released to RUN_RETENTION_DAYS; they are not deleted), then its
 * hidden checks' Workflow instances (best effort: what fails stays until the engine's retention).
 * 409 `eval_not_ended` while it runs (cancel it first); 404 for an eval that does not exist (or no longer).
 */
export async function deleteEval(env: Env, id: string): Promise<DeletedEval> {
  if (!EVAL_ID_PATTERN.test(id)) throw new NotFoundError("eval", id);
  const wiped = unwrap(await env.EVAL.getByName(id).deleteState());
  if (!wiped) throw new NotFoundError("eval", id);
  let instancesDeleted = 0;
  for (let i = 0; i < wiped.checkInstances.length; i += MAX_BATCH_INSTANCES) {
    const result = await env.EVAL_CHECK_WORKFLOW.deleteBatch(wiped.checkInstances.slice(i, i + MAX_BATCH_INSTANCES)).catch((err: unknown) => log("warn", "eval.delete_instances_failed", { evalId: id, ...errorFields(err) }));
    instancesDeleted += result?.deleted.length ?? 0;
  }
  return { id, deleted: true, runsReleased: wiped.runsReleased, instancesDeleted };
}
