import type { PreparedView } from "../../api/runs";
import { loadConfig } from "../../core/env";
import { errorFields, log } from "../../observability/log";
import { judgeInstanceId, prepareInstanceId } from "../../protocol/instance-ids";
import type { ForkOutcome } from "../../runs/fork-outcome";
import type { Judgement } from "../../runs/judging";
import { poke } from "../shared/instance-watch";
import type { ForkReporting } from "./fork-reports";
import type { RunPreparing } from "./preparing";
import type { RunContext } from "./run-context";
import type { RunJudging } from "./run-judging";
import type { ForkRow } from "./run-store";
import type { RunStopping } from "./stopping";
import { isInstanceNotFound } from "../../protocol/engine-errors";

/** A launched instance that the engine does not know after this long is launched again. */
const LOST_INSTANCE_GRACE_MS = 30_000;
/** Instances the reconciler asks for their status per round, at most. */
const RECONCILE_BATCH = 10;
/**
 * A fork waiting in the Pool's queue is quiet by design (the Pool tells it when its turn comes, and
 * again if the notice is lost): the reconciler asks after it this rarely, not every round.
 */
const QUEUED_RECHECK_MS = 5 * 60_000;

/** The parts of a run whose instances the reconciler settles. */
export interface RunParts {
  reports: ForkReporting;
  stopping: RunStopping;
  preparing: RunPreparing;
  judging: RunJudging;
}

/**
 * The Orchestrator's alarm rounds: a new object wakes every instance (it may follow a runtime
 * restart); at the reconcile interval the quiet forks are asked for their instance's real status —
 * an ended one is settled from its output, a vanished one launched again, a silent one poked and
 * then restarted from its stuck step — and the prepare and judge instances likewise.
 */
export class RunReconciling {
  readonly #run: RunContext;
  readonly #parts: RunParts;
  /** When the reconciler last asked each fork's instance for its status. */
  readonly #askedAt = new Map<number, number>();

  constructor(run: RunContext, parts: RunParts) {
    this.#run = run;
    this.#parts = parts;
  }

  /** One alarm's round; the caller re-arms the alarm. */
  async round(): Promise<void> {
    const { watch } = this.#run;
    const run = this.#run.run();
    const config = loadConfig(this.#run.env);
    const now = Date.now();
    const { restarted, reconcile } = watch.tick(now);
    if (restarted) {
      await this.#wakeRunningForks();
      await this.#eachSideInstance((instance) => poke(instance));
    }
    if (!reconcile) return;
    await this.#eachSideInstance((instance, kind) => this.#reconcileSideInstance(instance, kind));
    // A fork heard from since the last round is evidently running: only quiet ones are asked, at
    // most RECONCILE_BATCH a round, the longest unasked first (forks waiting in the Pool's queue
    // are quiet too, and a round must not cost O(forks)).
    const quietSince = now - config.RECONCILE_INTERVAL_SECONDS * 1000;
    const quiet = [...this.#run.store.forksWithStatus("running"), ...this.#run.store.forksWithStatus("budget_wait")]
      .filter((fork) => this.#lastHeardAt(fork) < (this.#parts.reports.isQueued(fork.n) ? now - QUEUED_RECHECK_MS : quietSince))
      .sort((a, b) => (this.#askedAt.get(a.n) ?? 0) - (this.#askedAt.get(b.n) ?? 0))
      .slice(0, RECONCILE_BATCH);
    for (const fork of quiet) {
      this.#askedAt.set(fork.n, now);
      try {
        await this.#reconcileFork(fork, now, config.STALE_FORK_SECONDS * 1000);
      } catch (err) {
        log("warn", "orchestrator.reconcile_failed", { runId: run.id, fork: fork.n, ...errorFields(err) });
      }
    }
    await this.#run.afterForkChange();
  }

  #lastHeardAt(fork: ForkRow): number {
    return this.#run.watch.lastHeardAt(fork.n, fork.launched_at ?? 0);
  }

  /** Calls the run's prepare instance (while preparing) and judge instance (while judging); one that fails is logged. */
  async #eachSideInstance(call: (instance: WorkflowInstance, kind: "prepare" | "judge") => Promise<void>): Promise<void> {
    const run = this.#run.run();
    const side: [string, Workflow, "prepare" | "judge"][] = [];
    if (run.prepared?.status === "preparing") side.push([prepareInstanceId(run.id), this.#run.env.PREPARE_WORKFLOW, "prepare"]);
    if (run.judging?.status === "running") side.push([judgeInstanceId(run.id, run.judging.k), this.#run.env.JUDGE_WORKFLOW, "judge"]);
    for (const [id, workflow, kind] of side) {
      try {
        await call(await workflow.get(id), kind);
      } catch (err) {
        log("info", "orchestrator.side_instance_skipped", { runId: run.id, instanceId: id, ...errorFields(err) });
      }
    }
  }

  /** A prepare or judge instance that ended without its report: its output (or its failure) is applied. */
  async #reconcileSideInstance(instance: WorkflowInstance, kind: "prepare" | "judge"): Promise<void> {
    const status = await instance.status();
    const error = { code: "workflow_failed", message: status.error?.message ?? `The ${kind} workflow instance ${status.status}.` };
    const ended = status.status === "errored" || status.status === "terminated";
    if (kind === "prepare") {
      if (status.status === "complete" && status.output) await this.#parts.preparing.prepared(status.output as PreparedView, 0);
      else if (ended) await this.#parts.preparing.prepared({ status: "failed", error }, 0);
      return;
    }
    const k = this.#run.run().judging!.k;
    if (status.status === "complete" && Array.isArray(status.output) && status.output.length > 0) await this.#parts.judging.judged(k, status.output as Judgement[]);
    else if (ended) await this.#parts.judging.failed(k, error);
  }

  /** Sends every running fork's instance an event no step waits for: an idle instance resumes. */
  async #wakeRunningForks(): Promise<void> {
    const forks = this.#run.store.forksWithStatus("running").filter((fork) => fork.instance_id);
    if (forks.length === 0) return;
    log("info", "orchestrator.waking_forks", { runId: this.#run.run().id, forks: forks.length });
    await this.#parts.stopping.eachInstance(forks, "wake", (instance) => poke(instance));
  }

  async #reconcileFork(fork: ForkRow, now: number, staleMs: number): Promise<void> {
    if (!fork.instance_id) return;
    const runId = this.#run.run().id;
    let status: InstanceStatus;
    let instance: WorkflowInstance;
    try {
      instance = await this.#run.env.FORK_WORKFLOW.get(fork.instance_id);
      status = await instance.status();
    } catch (err) {
      if (isInstanceNotFound(err) && now - (fork.launched_at ?? now) > LOST_INSTANCE_GRACE_MS) {
        log("warn", "orchestrator.instance_lost", { runId, fork: fork.n, instanceId: fork.instance_id });
        this.#run.store.requeue(fork.n);
      }
      return;
    }
    switch (status.status) {
      case "complete":
        if (isForkOutcome(status.output)) this.#run.applyOutcome(status.output);
        return;
      case "errored":
      case "terminated": {
        const message = status.error?.message ?? `The fork's workflow instance ${status.status}.`;
        if (this.#run.store.finishFork(fork.n, "failed", new Date(now).toISOString(), { code: "workflow_failed", message })) {
          this.#run.event("fork.finished", fork.n, { status: "failed", error: message });
        }
        await this.#parts.stopping.releaseLease(fork.n);
        return;
      }
      default: {
        if (fork.status !== "running" || now - this.#lastHeardAt(fork) <= staleMs) return;
        // A step that runs sends heartbeats, so a silent fork inside a step is stuck. First it is
        // poked (a restarted local runtime leaves instances idle until something calls into them);
        // still silent a stale period later, it is restarted from that step (earlier steps' results are kept).
        const nudged = await this.#run.watch.nudge(fork.n, instance, this.#run.store.runningStep(fork.n), status.status === "paused", now);
        if (nudged.restarted) {
          this.#run.event("fork.restarted", fork.n, { step: nudged.from });
          log("warn", "orchestrator.fork_restarted", { runId, fork: fork.n, instanceId: fork.instance_id, step: nudged.from });
        } else {
          log("info", "orchestrator.fork_woken", { runId, fork: fork.n, instanceId: fork.instance_id });
        }
      }
    }
  }
}

function isForkOutcome(value: unknown): value is ForkOutcome {
  return typeof value === "object" && value !== null && "n" in value && "status" in value && "costUsd" in value;
}
