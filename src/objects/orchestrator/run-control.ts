import type { RunView } from "../../api/runs";
import { ConflictError, notFound } from "../../core/errors";
import { isTerminalFork } from "./fork-reports";
import type { RunLaunching } from "./launching";
import type { RunContext } from "./run-context";
import { isTerminalRun, type RunStatusMachine } from "./run-status";
import type { RunStopping } from "./stopping";

/** A person's control of a run (POST …/pause, …/resume, …/cancel, …/forks/:n/cancel): each answers the run's view. */
export class RunControl {
  readonly #run: RunContext;
  readonly #parts: { status: RunStatusMachine; launching: RunLaunching; stopping: RunStopping; view: () => RunView };

  constructor(run: RunContext, parts: { status: RunStatusMachine; launching: RunLaunching; stopping: RunStopping; view: () => RunView }) {
    this.#run = run;
    this.#parts = parts;
  }

  async pause(): Promise<RunView> {
    const status = this.#run.run().status;
    if (status === "paused") return this.#parts.view();
    if (status !== "running") throw new ConflictError("run_not_running", `The run is ${status}; only a running run can be paused.`);
    await this.#parts.status.set("paused");
    return this.#parts.view();
  }

  async resume(): Promise<RunView> {
    const status = this.#run.run().status;
    if (status === "running") return this.#parts.view();
    if (status !== "paused") throw new ConflictError("run_not_paused", `The run is ${status}; only a paused run can be resumed.`);
    await this.#parts.status.set("running");
    await this.#parts.launching.launch();
    await this.#parts.status.maybeFinish();
    await this.#run.armAlarm();
    return this.#parts.view();
  }

  async cancel(): Promise<RunView> {
    const status = this.#run.run().status;
    if (status === "cancelled") return this.#parts.view();
    if (isTerminalRun(status)) throw new ConflictError("run_finished", `The run already ended (${status}).`);
    await this.#parts.stopping.cancelRun();
    return this.#parts.view();
  }

  async cancelFork(n: number): Promise<RunView> {
    const fork = this.#run.store.fork(n) ?? notFound("fork", `${this.#run.run().id}/${n}`);
    if (isTerminalFork(fork.status)) throw new ConflictError("fork_finished", `Fork ${n} already ended (${fork.status}).`);
    await this.#parts.stopping.cancelFork(fork);
    await this.#run.afterForkChange();
    return this.#parts.view();
  }
}
