import { ConflictError } from "../../core/errors";
import { log } from "../../observability/log";
import { evalCheckInstanceId } from "../../protocol/eval-check";
import type { EventChannel } from "../shared/event-channel";
import { migrate } from "../shared/migrations";
import type { EvalStore } from "./eval-store";
import { EVAL_MIGRATIONS } from "./schema";

/** What deleting an Evaluation's state did: the runs it released to retention, its hidden checks' instance ids. */
export interface EvalWiped {
  id: string;
  runsReleased: number;
  checkInstances: string[];
}

/**
 * Deleting an ended eval (DELETE /v1/evals/:id): refused (409 `eval_not_ended`) while it runs or
 * while a cancelled one still winds down (runs being cancelled, hidden checks in flight). Its runs'
 * rows in D1's eval_runs and its row of the evals index go first (its runs fall back to
 * RUN_RETENTION_DAYS like any other; the runs themselves stay), then every row of the object and its alarm. Returns null for an object
 * holding no eval. src/actions/delete-eval.ts then deletes its hidden checks' instances.
 */
export async function deleteEvalState(ctx: DurableObjectState, db: D1Database, store: EvalStore, events: EventChannel): Promise<EvalWiped | null> {
  // The callback answers a refusal rather than throwing it (a throw would reset the object).
  const wiped = await ctx.blockConcurrencyWhile(async (): Promise<EvalWiped | { refused: string; status: string } | null> => {
    const record = store.record();
    if (!record) return null;
    const open = store.runs().filter((r) => r.status === "queued" || r.status === "running" || r.status === "checking").length;
    if (record.status === "running") return { refused: "The eval is running; cancel it first (POST /v1/evals/:id/cancel), then delete it once its runs stopped.", status: record.status };
    // finishedAt: its last pass has ended too (a pass still under way would write its record back).
    if (open > 0 || !record.finishedAt) return { refused: "The cancelled eval's runs are still stopping; try again in a few seconds.", status: record.status };
    const [released] = await db.batch([db.prepare("DELETE FROM eval_runs WHERE eval_id = ?").bind(record.id), db.prepare("DELETE FROM evals WHERE id = ?").bind(record.id)]);
    const checkInstances = store.checks().map((c) => evalCheckInstanceId(record.id, c.runId, c.n));
    await ctx.storage.deleteAlarm();
    await ctx.storage.deleteAll();
    // The object stays usable (it answers not_found from now on) with an empty schema.
    migrate(ctx.storage, EVAL_MIGRATIONS);
    events.closeAll();
    return { id: record.id, runsReleased: released!.meta.changes, checkInstances };
  });
  if (wiped && "refused" in wiped) throw new ConflictError("eval_not_ended", wiped.refused, { status: wiped.status });
  if (wiped) log("info", "eval.deleted", { evalId: wiped.id, runsReleased: wiped.runsReleased });
  return wiped;
}
