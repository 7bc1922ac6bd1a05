import type { Context } from "../context.ts";
import { EXIT } from "../outcome.ts";

/**
 * `delete <run>`: deletes an ended run for good (DELETE /v1/runs/:id): its forks, event log,
 * patches, artifacts and Workflow instances. The API refuses a run that has not ended (409: cancel
 * it first); a tombstone stays, so the same Idempotency-Key cannot create the run again.
 */
export async function deleteCommand(ctx: Context, id: string): Promise<number> {
  const deleted = await ctx.client.deleteRun(id);
  const { out } = ctx;
  if (out.json) out.data(deleted);
  else out.line(`run ${deleted.id} deleted ${out.c.dim(`(${deleted.objectsDeleted} stored objects, ${deleted.instancesDeleted} workflow instances)`)}`);
  return EXIT.ok;
}
