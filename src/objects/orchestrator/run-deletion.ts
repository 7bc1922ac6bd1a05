import { ConflictError, RunDeletedError } from "../../core/errors";
import { recordTombstone, tombstoneOf, type DeleteReason } from "../../d1-index/run-tombstones";
import { errorFields, log } from "../../observability/log";
import { POOL_NAME } from "../../protocol/events";
import { judgeInstanceId, prepareInstanceId, reportInstanceId } from "../../protocol/instance-ids";
import { forkInstanceId } from "../../protocol/run-ids";
import { MAX_BATCH_INSTANCES } from "../../protocol/workflow-limits";
import type { ForkOutcome } from "../../runs/fork-outcome";
import type { EventChannel } from "../shared/event-channel";
import { migrate } from "../shared/migrations";
import type { RunContext } from "./run-context";
import type { RunRecord } from "./run-store";
import { isTerminalRun } from "./run-status";
import { RUN_MIGRATIONS } from "./schema";

export type { DeleteReason };

/** What deleting a run's object did. */
export interface RunWiped {
  id: string;
  /** Kept sandboxes (keepSandboxes) no session had taken over: their leases released. */
  releasedKept: number;
  /** Workflow instances whose state the engine deleted (forks, prepare, judgings, GitHub report). */
  instancesDeleted: number;
}

/** A run's Workflow instances, by the binding they belong to. */
type RunInstances = Record<"FORK_WORKFLOW" | "PREPARE_WORKFLOW" | "JUDGE_WORKFLOW" | "GITHUB_REPORT_WORKFLOW", string[]>;

/**
 * Deleting an ended run's state (DELETE /v1/runs/:id, RUN_RETENTION_DAYS): the tombstone in D1
 * first, then every row of this object and its alarm. src/actions/delete-run.ts then deletes its R2
 * objects and index row. The tombstone also refuses a create of the same run id again: its
 * Idempotency-Key or webhook delivery replayed, whose Workflow instance ids the engine still holds.
 */
export class RunDeletion {
  readonly #run: RunContext;
  readonly #ctx: DurableObjectState;
  readonly #events: EventChannel;

  constructor(run: RunContext, ctx: DurableObjectState, events: EventChannel) {
    this.#run = run;
    this.#ctx = ctx;
    this.#events = events;
  }

  /** A create of run `id` after it was deleted is refused (410 run_deleted). */
  async refuseDeleted(id: string): Promise<void> {
    if (await tombstoneOf(this.#run.env.DB, id)) throw new RunDeletedError(id, 410);
  }

  /**
   * Deletes run `id` (this object's). An object that holds no run answers not_found, unless the run
   * is tombstoned: a delete repeated after a crash between the tombstone and the wipe, or after it.
   */
  async delete(id: string, reason: DeleteReason): Promise<RunWiped> {
    if (!this.#run.store.run()) {
      if (await tombstoneOf(this.#run.env.DB, id)) return { id, releasedKept: 0, instancesDeleted: 0 };
      this.#run.run(); // not_found
    }
    // Nothing else runs in this object meanwhile (a branch or judge would restart the run); the
    // callback answers a refusal rather than throwing it (a throw would reset the object).
    const wiped = await this.#ctx.blockConcurrencyWhile(async (): Promise<{ refused: string } | { id: string; kept: string[]; instances: RunInstances }> => {
      const run = this.#run.store.run();
      if (!run) return { refused: "The run is being deleted." };
      if (!isTerminalRun(run.status)) return { refused: `The run is ${run.status}; only an ended run (completed, cancelled, failed) can be deleted. Cancel it first.` };
      if (run.judging?.status === "running") return { refused: "The run is being judged; delete it once the judging ended." };
      // A cancelled run's sandboxes are still being stopped (stopping.ts): its leases must go first.
      if (run.stopPending) return { refused: "The run's sandboxes are still being stopped; try again in a few seconds." };
      await recordTombstone(this.#run.env.DB, run.id, reason, new Date().toISOString());
      const kept = this.#keptLeases();
      const instances = this.#instances(run);
      await this.#ctx.storage.deleteAlarm();
      await this.#ctx.storage.deleteAll();
      // The object stays usable (it answers not_found from now on) with an empty schema.
      migrate(this.#ctx.storage, RUN_MIGRATIONS);
      this.#run.store.forget();
      this.#run.index.stop();
      this.#events.closeAll();
      return { id: run.id, kept, instances };
    });
    if ("refused" in wiped) throw new ConflictError("run_not_ended", wiped.refused);
    log("info", "run.deleted", { runId: wiped.id, reason });
    return { id: wiped.id, releasedKept: await this.#releaseKept(wiped.id, wiped.kept), instancesDeleted: await this.#deleteInstances(wiped.id, wiped.instances) };
  }

  /** The leases of sandboxes kept for a session (a session that took one over holds it under its own key). */
  #keptLeases(): string[] {
    const rows = this.#ctx.storage.sql.exec<{ outcome: string }>("SELECT outcome FROM forks WHERE outcome IS NOT NULL").toArray();
    return rows.flatMap((r) => {
      const kept = (JSON.parse(r.outcome) as ForkOutcome).kept;
      return kept ? [kept.leaseKey] : [];
    });
  }

  /** Every instance id the run may have created: each fork's launches, its prepare, judgings and report. */
  #instances(run: RunRecord): RunInstances {
    const runId = run.id;
    const forks = this.#ctx.storage.sql.exec<{ n: number; launches: number }>("SELECT n, launches FROM forks WHERE launches > 0").toArray();
    return {
      FORK_WORKFLOW: forks.flatMap((f) => Array.from({ length: f.launches }, (_, i) => forkInstanceId(runId, f.n, i + 1))),
      PREPARE_WORKFLOW: run.request.prepare ? [prepareInstanceId(runId)] : [],
      JUDGE_WORKFLOW: Array.from({ length: run.judging?.k ?? 0 }, (_, i) => judgeInstanceId(runId, i + 1)),
      GITHUB_REPORT_WORKFLOW: run.request.github ? [reportInstanceId(runId)] : [],
    };
  }

  /**
   * The engine's state of the run's ended instances (deleteBatch, ≤ 100 a call); ids it never had
   * are per-instance errors, ignored. Best effort: what fails stays until the engine's own retention.
   */
  async #deleteInstances(runId: string, instances: RunInstances): Promise<number> {
    let deleted = 0;
    for (const [binding, ids] of Object.entries(instances) as [keyof RunInstances, string[]][]) {
      for (let i = 0; i < ids.length; i += MAX_BATCH_INSTANCES) {
        const result = await this.#run.env[binding].deleteBatch(ids.slice(i, i + MAX_BATCH_INSTANCES)).catch((err: unknown) => log("warn", "run.delete_instances_failed", { runId, binding, ...errorFields(err) }));
        deleted += result?.deleted.length ?? 0;
      }
    }
    return deleted;
  }

  async #releaseKept(runId: string, keys: string[]): Promise<number> {
    const pool = this.#run.env.POOL.getByName(POOL_NAME);
    let released = 0;
    for (const key of keys) {
      const result = await pool.release(key).catch((err: unknown) => log("warn", "run.delete_release_failed", { runId, ...errorFields(err) }));
      if (result?.ok) released++;
    }
    return released;
  }
}
