import { runNetwork } from "../../api/network-policy";
import type { PreparedView } from "../../api/runs";
import { loadConfig } from "../../core/env";
import { ConflictError } from "../../core/errors";
import { errorFields, log } from "../../observability/log";
import { forkLeaseRequest } from "../../protocol/fork-params";
import type { PrepareInfo } from "../../workflows/prepare-workflow";
import { sandboxCostKey, sandboxCostUsd } from "../../core/costs";
import type { RunContext } from "./run-context";
import type { StepReport } from "../../protocol/step-reports";
import { prepareInstanceId, prepareLeaseKey } from "../../protocol/instance-ids";
import { createInstanceOnce } from "../../protocol/create-instance";


/**
 * A run's prepare (runs with `prepare`; the Workflow is src/workflows/prepare-workflow.ts): its
 * forks launch once it has reported — each in a sandbox forked from the prepared one, or preparing
 * itself — and fail with `prepare_failed` if it failed (`commit_not_found` when the run's commit was).
 */
export class RunPreparing {
  readonly #run: RunContext;

  constructor(run: RunContext) {
    this.#run = run;
  }

  /** Whether the forks may launch. Until the prepare has reported it makes sure its Workflow runs. */
  async readyToLaunch(): Promise<boolean> {
    const { store } = this.#run;
    const run = this.#run.run();
    const prepared = run.prepared;
    if (prepared?.status === "forked" || prepared?.status === "per_fork") return true;
    if (prepared?.status === "failed") {
      const now = new Date().toISOString();
      for (const fork of store.forksWithStatus("queued")) {
        // A commit not on the branch keeps its code: the forks fail for the same reason the prepare did.
        const code = prepared.error?.code === "commit_not_found" ? "commit_not_found" : "prepare_failed";
        if (store.finishFork(fork.n, "failed", now, { code, message: `The prepare failed: ${prepared.error?.message ?? "unknown error"}` })) {
          this.#run.event("fork.finished", fork.n, { status: "failed" });
        }
      }
      return false;
    }
    if (!prepared) {
      store.setPrepared({ status: "preparing" });
      this.#run.event("run.preparing", null, {});
    }
    await createInstanceOnce(this.#run.env.PREPARE_WORKFLOW, prepareInstanceId(run.id), { runId: run.id }).catch((err) => log("warn", "orchestrator.prepare_launch_failed", { runId: run.id, ...errorFields(err) }));
    return false;
  }

  /** What the prepare Workflow needs: the clone, the commands, and each fork's lease (its sandbox is forked under it). */
  info(): PrepareInfo {
    const run = this.#run.run();
    const prepare = run.request.prepare;
    if (!prepare) throw new ConflictError("not_prepared", "This run has no prepare.");
    const forks = this.#run.store.forksWithStatus("queued", 1000).map((fork) => forkLeaseRequest(this.#run.forkParams(fork), ""));
    const network = runNetwork(run.request, loadConfig(this.#run.env).PUBLIC_URL);
    return {
      repo: run.request.repo,
      branch: run.request.branch,
      ...(run.request.commit ? { commit: run.request.commit } : {}),
      templateId: run.sandbox.templateId,
      commands: prepare.commands,
      timeoutSeconds: prepare.timeoutSeconds,
      leaseKey: prepareLeaseKey(run.id),
      forks,
      ...(network ? { network } : {}),
    };
  }

  /** The prepare Workflow's gate: refused once the run is cancelled (or gone). */
  stepStarted(name: string, attempt: number): { proceed: boolean; budgetSpent: boolean } {
    const run = this.#run.store.run();
    if (run) this.#run.event("step.started", 0, { step: name, attempt });
    return { proceed: !!run && run.status !== "cancelled", budgetSpent: false };
  }

  stepFinished(name: string, report: StepReport): void {
    const { attempt, ok, durationMs, error } = report;
    this.#run.event("step.finished", 0, { step: name, attempt, ok, durationMs, ...(error ? { error } : {}) });
  }

  /** The prepare's outcome: the forks launch (in a forked sandbox each, or preparing themselves), or fail. */
  async prepared(outcome: PreparedView, sandboxSeconds: number): Promise<void> {
    const run = this.#run.run();
    if (run.prepared?.status !== "preparing") return;
    // The prepared sandbox's time is the run's own cost (fork 0).
    this.#run.addCost(sandboxCostKey(0), 0, "sandbox", sandboxCostUsd(loadConfig(this.#run.env), sandboxSeconds, run.sandbox));
    this.#run.store.setPrepared(outcome);
    this.#run.event("run.prepared", null, { ...outcome });
    log("info", "run.prepared", { runId: run.id, status: outcome.status });
    await this.#run.afterForkChange();
  }
}
