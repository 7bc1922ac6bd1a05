import { ConflictError, InvalidInputError } from "../../core/errors";
import { createInstanceOnce } from "../../protocol/create-instance";
import { BUDGET_RAISED_EVENT } from "../../protocol/events";
import { errorFields, log } from "../../observability/log";
import { budgetStopsToContinue, type BudgetStop } from "../../runs/budget-stops";
import type { RunLaunching } from "./launching";
import type { RunContext } from "./run-context";
import { isTerminalRun } from "./run-status";
import type { RunStopping } from "./stopping";

/**
 * The run's budget: raising it (POST /v1/runs/:id/budget) and the forks that wait for it (their
 * Workflow's budget-wait and budget-resume steps report here: the ForkReports role's budget part).
 * A raise continues the forks waiting for it (their paused sandbox resumed) and also those whose
 * wait outlasted BUDGET_WAIT_SECONDS and ended them, even once the run ended: each goes on in its
 * next continuation instance, which rebuilds its sandbox from its journal (fork-continuation.ts).
 */
export class RunBudget {
  readonly #run: RunContext;
  readonly #stopping: RunStopping;
  readonly #launching: RunLaunching;

  constructor(run: RunContext, parts: { stopping: RunStopping; launching: RunLaunching }) {
    this.#run = run;
    ({ stopping: this.#stopping, launching: this.#launching } = parts);
  }

  /** Raises the run's budget; forks stopped for budget continue where they stopped. */
  async raise(budgetUsd: number): Promise<void> {
    const { store } = this.#run;
    const run = this.#run.run();
    if (run.status === "cancelled") throw new ConflictError("run_cancelled", "The run was cancelled: its forks cannot go on.");
    const stopped = budgetStopsToContinue(store.forksWithStatus("budget_exceeded"));
    if (isTerminalRun(run.status) && stopped.length === 0) {
      throw new ConflictError("run_finished", `The run already ended (${run.status}) and none of its forks stopped for budget where it could go on.`);
    }
    const current = run.request.budgetUsd;
    if (current !== undefined && budgetUsd <= current) throw new InvalidInputError(`budgetUsd: must be more than the current budget of $${current}.`, { field: "budgetUsd" });
    store.setBudget(budgetUsd, new Date().toISOString());
    this.#run.event("run.budget", null, { budgetUsd });
    const continued = this.#reopen(stopped);
    if (continued.length > 0) this.#run.event("run.resumed", null, { forks: continued.map((s) => s.n), previousStatus: run.status });
    if (run.status === "budget_exceeded" || (isTerminalRun(run.status) && continued.length > 0)) await this.#run.setStatus("running");
    const waiting = store.forksWithStatus("budget_wait");
    await this.#stopping.eachInstance(waiting, "budget_event", (instance) => instance.sendEvent({ type: BUDGET_RAISED_EVENT, payload: { budgetUsd } }));
    await this.#createInstances();
    await this.#run.afterForkChange();
    await this.#run.armAlarm();
  }

  /** The ended forks that go on: running again as their continuation instance (recorded before it is created). */
  #reopen(stops: BudgetStop[]): BudgetStop[] {
    const { store } = this.#run;
    const now = Date.now();
    const reopened = stops.filter((stop) => store.reopenForBudget(stop.n, stop.instanceId, now));
    for (const stop of reopened) {
      this.#run.watch.heard(stop.n, now);
      this.#run.event("fork.resumed", stop.n, { instanceId: stop.instanceId, continuation: stop.k, rebuilt: true });
    }
    return reopened;
  }

  /**
   * Creates the instance of every running fork a raise continued (a fixed id each: one that exists is
   * left alone), so a raise asked again after a failed creation creates what is missing.
   */
  async #createInstances(): Promise<void> {
    const runId = this.#run.run().id;
    for (const fork of this.#run.store.forksWithStatus("running").filter((f) => f.budget_resumes > 0 && f.instance_id)) {
      const instanceId = fork.instance_id!;
      try {
        await this.#launching.pacer().take(1);
        if (await createInstanceOnce(this.#run.env.FORK_WORKFLOW, instanceId, this.#run.forkParams(fork))) log("info", "fork.budget_continued", { runId, fork: fork.n, instanceId });
      } catch (err) {
        log("warn", "orchestrator.launch_failed", { runId, fork: fork.n, instanceId, ...errorFields(err) });
      }
    }
  }

  /** A fork stopped for budget: its sandbox is paused and it waits for the budget to be raised. */
  async forkAwaiting(n: number): Promise<void> {
    const { store } = this.#run;
    if (store.transition(n, "running", "budget_wait")) {
      store.markPaused(n, Date.now());
      this.#run.event("fork.budget_exceeded", n, { spentUsd: store.ledger.spentUsd() });
      if (this.#run.run().status === "running") await this.#run.setStatus("budget_exceeded");
      this.#run.index.soon();
    }
  }

  /** A fork that waited for budget continues. */
  forkContinues(n: number): void {
    if (this.#run.store.transition(n, "budget_wait", "running")) {
      this.#run.store.markUnpaused(n, Date.now());
      this.#run.event("fork.resumed", n, {});
    }
  }
}
