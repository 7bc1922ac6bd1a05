import type { z } from "zod";
import type { deletedRun } from "../api/responses";
import { ArtifactStore, runPrefix } from "../artifacts/store";
import type { Env } from "../core/env";
import { loadConfig } from "../core/env";
import { NotFoundError, unwrap } from "../core/errors";
import { deleteIndexRow, expiredRuns, tombstoneOf, type DeleteReason } from "../d1-index/run-tombstones";
import { pruneOlderThan } from "./retention";
import { RUN_ID_PATTERN } from "../protocol/run-ids";

/** DELETE /v1/runs/:id's answer (its schema: api/responses.ts). */
export type RunDeletedView = z.infer<typeof deletedRun>;

/**
 * Deletes an ended run: its Orchestrator's storage and alarm behind a D1 tombstone, and its Workflow
 * instances' engine state (run-deletion.ts),
 * then every R2 object under `runs/<id>/` (patches, artifacts, staged trees, transcripts, branch
 * states) and its index row. A repeated delete (a retry after a crash half-way) finds the tombstone
 * and finishes whatever part was left. 409 while the run has not ended; 404 for a run never made.
 */
export async function deleteRun(env: Env, id: string, reason: DeleteReason = "deleted"): Promise<RunDeletedView> {
  if (!RUN_ID_PATTERN.test(id)) throw new NotFoundError("run", id);
  // Always through the object: a delete repeated after a crash half-way finishes its part too.
  const result = await env.ORCHESTRATOR.getByName(id).deleteRun(id, reason);
  if (!result.ok && result.error.code === "not_found") throw new NotFoundError("run", id);
  const { instancesDeleted } = unwrap(result);
  const objectsDeleted = await new ArtifactStore(env.ARTIFACTS).deletePrefix(runPrefix(id));
  await deleteIndexRow(env.DB, id);
  const tombstone = (await tombstoneOf(env.DB, id))!;
  return { id, deleted: true, reason: tombstone.reason, deletedAt: tombstone.deletedAt, objectsDeleted, instancesDeleted };
}

/**
 * RUN_RETENTION_DAYS (0: off): ended runs whose last change is older are deleted like
 * DELETE /v1/runs/:id (actions/retention.ts). `now` is for tests.
 */
export function pruneRuns(env: Env, now = Date.now()): Promise<{ deleted: string[] }> {
  return pruneOlderThan("runs", loadConfig(env).RUN_RETENTION_DAYS, now, (before, limit) => expiredRuns(env.DB, before, limit), (id) => deleteRun(env, id, "retention"));
}
