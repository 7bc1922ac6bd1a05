import { loadConfig } from "../../core/env";
import { sandboxCostUsd } from "../../core/costs";
import { errorFields, log } from "../../observability/log";
import { POOL_NAME } from "../../protocol/events";
import { prepareInstanceId } from "../../protocol/instance-ids";
import type { RunContext } from "./run-context";
import type { ForkRow } from "./run-store";

/** When the alarm retries stopping a cancelled run's sandboxes (normally done by then). */
const STOP_RETRY_MS = 10_000;
/** Calls to fork instances (wake, terminate) made at once. */
const INSTANCE_CALLS_AT_ONCE = 25;

/**
 * Stopping forks: a cancelled run (every sandbox killed in one call to the Pool, instances
 * terminated, retried by the alarm), a cancelled fork, the losers once a fork has won; and the
 * release of a fork's sandbox lease, which books the sandbox time of forks that never report.
 */
export class RunStopping {
  readonly #run: RunContext;
  readonly #storage: Pick<DurableObjectStorage, "setAlarm">;

  constructor(run: RunContext, storage: Pick<DurableObjectStorage, "setAlarm">) {
    this.#run = run;
    this.#storage = storage;
  }

  /** Ends every fork, then the run; its sandboxes, index and instances follow in the background. */
  async cancelRun(): Promise<void> {
    const { store } = this.#run;
    // Forks end first, then the run: watchers see every fork's end before the run's.
    const message = "The run was cancelled.";
    this.#cancelWaiting(message);
    for (const fork of [...store.forksWithStatus("running"), ...store.forksWithStatus("budget_wait")]) this.#finishCancelled(fork.n, message);
    await this.#run.setStatus("cancelled", { indexNow: false });
    // The answer does not wait for the sandboxes: their kills, the index and the instances follow
    // at once in the background; the alarm retries what a lost object left undone.
    store.setStopPending(true);
    await this.#storage.setAlarm(Date.now() + STOP_RETRY_MS);
    this.#run.waitUntil(this.stopCancelledRun());
  }

  /**
   * Kills every sandbox of a cancelled run in one call to the Pool and books their time (these
   * forks never report); their instances stop at their next step (it is refused) and are terminated.
   */
  async stopCancelledRun(): Promise<void> {
    const runId = this.#run.run().id;
    const released = await this.#run.env.POOL.getByName(POOL_NAME).releaseRun(runId);
    if (!released.ok) {
      log("warn", "orchestrator.release_failed", { runId, errorCode: released.error.code, errorMessage: released.error.message });
      await this.#storage.setAlarm(Date.now() + STOP_RETRY_MS);
      return;
    }
    const config = loadConfig(this.#run.env);
    for (const lease of released.value) this.#run.addCost(this.#run.store.sandboxCostKey(lease.fork), lease.fork, "sandbox", sandboxCostUsd(config, lease.aliveSeconds, this.#run.run().sandbox));
    await this.#run.index.now();
    await this.#terminateInstances(this.#run.store.forksWithStatus("cancelled").filter((fork) => fork.instance_id));
    if (this.#run.run().prepared?.status === "preparing") {
      await this.#run.env.PREPARE_WORKFLOW.get(prepareInstanceId(runId)).then((i) => i.terminate()).catch(() => undefined);
    }
    this.#run.store.setStopPending(false);
  }

  /** Cancels one fork that has not ended. */
  async cancelFork(fork: ForkRow): Promise<void> {
    const message = "The fork was cancelled.";
    if (fork.status === "queued" || fork.status === "branch_wait") {
      this.#finishCancelled(fork.n, message);
      // A branched fork may hold its forked sandbox already.
      if (fork.parent !== null) await this.releaseLease(fork.n);
    } else {
      await this.cancelRunningFork(fork, message);
    }
  }

  /** Once a fork has won (stopWhen: first_check_pass), every other fork is cancelled and its sandbox released. */
  async stopLosers(): Promise<void> {
    const run = this.#run.run();
    if (run.winner === undefined) return;
    const message = `Fork ${run.winner} passed its check first (stopWhen: first_check_pass).`;
    this.#cancelWaiting(message);
    for (const status of ["running", "budget_wait"] as const) {
      for (const fork of this.#run.store.forksWithStatus(status)) await this.cancelRunningFork(fork, message);
    }
  }

  /** Cancels the forks that wait (queued, or for their branch) and hold no instance. */
  #cancelWaiting(message: string): void {
    for (const fork of [...this.#run.store.forksWithStatus("queued"), ...this.#run.store.forksWithStatus("branch_wait")]) this.#finishCancelled(fork.n, message);
  }

  #finishCancelled(n: number, message: string): void {
    if (this.#run.store.finishFork(n, "cancelled", new Date().toISOString(), { code: "cancelled", message })) this.#run.event("fork.finished", n, { status: "cancelled" });
  }

  async cancelRunningFork(fork: ForkRow, message: string): Promise<void> {
    this.#finishCancelled(fork.n, message);
    await this.releaseLease(fork.n);
    await this.#terminateInstances([fork]);
  }

  #terminateInstances(forks: ForkRow[]): Promise<void> {
    return this.eachInstance(forks, "terminate", (instance) => instance.terminate());
  }

  /** Calls each fork's instance, a few at once; one that fails (gone, already ended) is logged and skipped. */
  async eachInstance(forks: ForkRow[], what: string, call: (instance: WorkflowInstance) => Promise<unknown>): Promise<void> {
    const runId = this.#run.run().id;
    const launched = forks.filter((fork) => fork.instance_id);
    for (let i = 0; i < launched.length; i += INSTANCE_CALLS_AT_ONCE) {
      await Promise.all(
        launched.slice(i, i + INSTANCE_CALLS_AT_ONCE).map(async (fork) => {
          try {
            await call(await this.#run.env.FORK_WORKFLOW.get(fork.instance_id!));
          } catch (err) {
            log("info", `orchestrator.${what}_skipped`, { runId, fork: fork.n, ...errorFields(err) });
          }
        }),
      );
    }
  }

  async releaseLease(n: number): Promise<void> {
    const runId = this.#run.run().id;
    const result = await this.#run.env.POOL.getByName(POOL_NAME).releaseFork(runId, n);
    if (!result.ok) {
      log("warn", "orchestrator.release_failed", { runId, fork: n, errorCode: result.error.code, errorMessage: result.error.message });
      return;
    }
    // A fork stopped from here (cancelled, or its instance failed) never reports its sandbox time.
    this.#run.addCost(this.#run.store.sandboxCostKey(n), n, "sandbox", sandboxCostUsd(loadConfig(this.#run.env), result.value.aliveSeconds, this.#run.run().sandbox));
  }
}
