import { ConflictError, InvalidInputError } from "../../core/errors";
import { BUDGET_RAISED_EVENT } from "../../protocol/events";
import type { RunContext } from "./run-context";
import { isTerminalRun } from "./run-status";
import type { RunStopping } from "./stopping";

/**
 * The run's budget: raising it (POST /v1/runs/:id/budget) and the forks that wait for it (their
 * Workflow's budget-wait and budget-resume steps report here: the ForkReports role's budget part).
 */
export class RunBudget {
  readonly #run: RunContext;
  readonly #stopping: RunStopping;

  constructor(run: RunContext, stopping: RunStopping) {
    this.#run = run;
    this.#stopping = stopping;
  }

  /** Raises the run's budget; forks waiting for budget continue where they stopped. */
  async raise(budgetUsd: number): Promise<void> {
    const { store } = this.#run;
    const run = this.#run.run();
    if (isTerminalRun(run.status)) throw new ConflictError("run_finished", `The run already ended (${run.status}).`);
    const current = run.request.budgetUsd;
    if (current !== undefined && budgetUsd <= current) throw new InvalidInputError(`budgetUsd: must be more than the current budget of $${current}.`, { field: "budgetUsd" });
    store.setBudget(budgetUsd, new Date().toISOString());
    this.#run.event("run.budget", null, { budgetUsd });
    if (run.status === "budget_exceeded") await this.#run.setStatus("running");
    const waiting = store.forksWithStatus("budget_wait");
    await this.#stopping.eachInstance(waiting, "budget_event", (instance) => instance.sendEvent({ type: BUDGET_RAISED_EVENT, payload: { budgetUsd } }));
    await this.#run.afterForkChange();
    await this.#run.armAlarm();
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
