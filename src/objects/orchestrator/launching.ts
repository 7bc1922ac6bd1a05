import { DEFAULT_STALL_SECONDS } from "../../api/runs";
import { errorFields, log } from "../../observability/log";
import { POOL_NAME } from "../../protocol/events";
import { runNetwork } from "../../api/network-policy";
import { loadConfig } from "../../core/env";
import { forkLeaseRequest, type ForkParams } from "../../protocol/fork-params";
import { forkInstanceId, forkLeaseKey } from "../../protocol/run-ids";
import { branchSourceOf } from "./branch-store";
import { mergeSpecOf } from "./merging";
import type { RunBranching } from "./branching";
import type { RunPreparing } from "./preparing";
import type { RunWaves } from "./waves";
import type { RunContext } from "./run-context";
import type { ForkRow } from "./run-store";
import { isInstanceAlreadyExists } from "../../protocol/engine-errors";
import { createInBatches } from "../../protocol/workflow-limits";
import { CreationPacer, SharedCreationPacer, type Pacer } from "../../protocol/creation-pacer";
import { continuationInstanceId, parseContinuationId } from "../../protocol/instance-ids";
import { createInstanceOnce } from "../../protocol/create-instance";
import type { ForkContinuationRef } from "../../protocol/fork-params";
import { continuationStateKey } from "../../artifacts/store";
import { ConflictError, ForkCancelledError } from "../../core/errors";
import { isTerminalFork } from "./fork-reports";
import { EVAL_METADATA } from "../../evals/plan";

/** How long launching waits after the Pool started a launch's sandboxes, for their create requests to leave. */
const CREATE_HEAD_START_MS = 2;

/**
 * Launching a run's forks: Workflow instances created while fewer than maxConcurrent run, the run
 * is running, prepared (runs with `prepare`) and within budget. Instance ids are fixed per fork and
 * launch, so launching again is harmless.
 */
export class RunLaunching {
  readonly #run: RunContext;
  readonly #branching: RunBranching;
  readonly #preparing: RunPreparing;
  /** This run's instance creations, booked in the Pool's schedule shared by every run (WORKFLOW_CREATE_RATE_PER_SECOND). */
  #pacer: Pacer | undefined;
  readonly #waves: RunWaves;

  /** Branched forks launch at once; a prepared run's forks once its prepare reported; an adaptive run's wave by wave. */
  constructor(run: RunContext, parts: { branching: RunBranching; preparing: RunPreparing; waves: RunWaves }) {
    this.#run = run;
    ({ branching: this.#branching, preparing: this.#preparing, waves: this.#waves } = parts);
  }

  /** Launches queued forks while fewer than maxConcurrent run and the run is running. */
  async launch(): Promise<void> {
    const { store } = this.#run;
    // An adaptive run's next move first: a wave, a judging, or the end of its search (waves.ts).
    await this.#waves.decide();
    const run = this.#run.run();
    if (run.status !== "running") return;
    if (run.request.prepare && !(await this.#preparing.readyToLaunch())) return;
    const budget = run.request.budgetUsd;
    if (budget !== undefined && store.ledger.spentUsd() >= budget) {
      if (store.countForks("queued") > 0) await this.#run.setStatus("budget_exceeded");
      return;
    }
    // Forks branched from a running fork hold their forked sandbox already: they start at once.
    const branched = this.#branching.readyForks();
    const free = run.request.maxConcurrent - store.countForks("running") - branched.length;
    const others = free > 0 ? store.forksWithStatus("queued", Math.min(free + branched.length, 100)).filter((fork) => !branched.some((b) => b.n === fork.n) && this.#waves.mayLaunch(fork.n)).slice(0, free) : [];
    const queued = [...branched, ...others];
    if (queued.length === 0) return;

    const now = Date.now();
    const instances = queued.map((fork) => {
      const id = forkInstanceId(run.id, fork.n, fork.launches + 1);
      store.markLaunched(fork.n, id, now);
      return { id, params: this.forkParams(fork), first: fork.launches === 0 };
    });
    // Pool.createAhead starts the first launch's sandboxes while the engine starts their instances. Its
    // create requests get a moment to leave first: where the Pool, this object and the engine share
    // a thread (workerd locally), the engine's burst of instance starts would hold them back ~35 ms.
    await this.#run.env.POOL.getByName(POOL_NAME)
      .createAhead(instances.filter((i) => i.first && !i.params.branch).map((i) => forkLeaseRequest(i.params, i.id)))
      .catch((err) => log("warn", "orchestrator.create_ahead_failed", { runId: run.id, ...errorFields(err) }));
    await scheduler.wait(CREATE_HEAD_START_MS);
    try {
      // In createBatch calls within Cloudflare's limits (≤ 100 instances, ≤ 1 MiB each).
      const result = await createInBatches(this.#run.env.FORK_WORKFLOW, instances.map(({ id, params }) => ({ id, params })), { pacer: this.pacer() });
      for (const error of result.errors) {
        if (isInstanceAlreadyExists(error.message)) continue;
        const fork = queued[error.index];
        if (fork) store.requeue(fork.n);
        log("warn", "orchestrator.launch_failed", { runId: run.id, fork: fork?.n, errorMessage: error.message });
      }
    } catch (err) {
      for (const fork of queued) store.requeue(fork.n);
      log("warn", "orchestrator.launch_failed", { runId: run.id, ...errorFields(err) });
      return;
    }
    for (const { id } of instances) log("info", "fork.launched", { runId: run.id, instanceId: id });
  }

  /**
   * Re-creates the instances of launched forks under the ids they were given (a crash may have come
   * between recording a launch and creating its instance); existing instances are left alone.
   */
  async relaunchLaunched(): Promise<void> {
    const launched = this.#run.store.forksWithStatus("running").filter((fork) => fork.instance_id);
    if (launched.length === 0) return;
    const instances = launched.map((fork) => ({ id: fork.instance_id!, params: this.forkParams(fork) }));
    try {
      const result = await createInBatches(this.#run.env.FORK_WORKFLOW, instances, { pacer: this.pacer() });
      const created = instances.length - result.errors.length;
      if (created > 0) log("info", "orchestrator.instances_recreated", { runId: this.#run.run().id, count: created });
    } catch (err) {
      log("warn", "orchestrator.relaunch_failed", { runId: this.#run.run().id, ...errorFields(err) });
    }
  }

  /**
   * Fork n, running as instance `from`, nears its step limit: it goes on in its k-th continuation
   * instance (fork-continuation.ts), which the fork now runs as. Asked again (a re-run step), the
   * same answer; the instance is created once. A fork that ended or was relaunched meanwhile is refused.
   */
  async continueFork(n: number, from: string, next: ForkContinuationRef): Promise<{ instanceId: string }> {
    const { store } = this.#run;
    const id = continuationInstanceId(next.base, next.k);
    const fork = store.fork(n);
    if (!fork || isTerminalFork(fork.status) || this.#run.run().status === "cancelled") throw new ForkCancelledError();
    if (fork.instance_id !== id && !store.continueInstance(n, from, id)) {
      throw new ConflictError("fork_relaunched", `Fork ${n} runs as instance ${fork.instance_id ?? "(none)"}, not ${from}.`);
    }
    if (fork.instance_id === from) this.#run.event("fork.continued", n, { instanceId: id, continuation: next.k });
    await this.pacer().take(1);
    if (await createInstanceOnce(this.#run.env.FORK_WORKFLOW, id, this.forkParams(store.fork(n)!))) log("info", "fork.continued", { runId: this.#run.run().id, fork: n, instanceId: id });
    return { instanceId: id };
  }

  /**
   * Paces this run's createBatch calls (Cloudflare: about 100 instance creations a second per
   * workflow) in the Pool's schedule, which every run shares; alone, should the Pool not answer.
   */
  pacer(): Pacer {
    const pool = this.#run.env.POOL.getByName(POOL_NAME);
    this.#pacer ??= new SharedCreationPacer((count) => pool.bookWorkflowCreations(count), new CreationPacer(loadConfig(this.#run.env).WORKFLOW_CREATE_RATE_PER_SECOND));
    return this.#pacer;
  }

  forkParams(fork: ForkRow): ForkParams {
    const { id, request, sandbox, prepared, codeVersion } = this.#run.run();
    const params: ForkParams = {
      runId: id,
      n: fork.n,
      forks: request.forks,
      repo: request.repo,
      baseBranch: request.branch,
      workBranch: fork.branch,
      timeoutSeconds: request.timeoutSeconds,
      stallSeconds: request.stallSeconds ?? DEFAULT_STALL_SECONDS,
      template: sandbox.templateId,
      sandboxRate: { vcpu: sandbox.vcpu, memoryGib: sandbox.memoryGib },
      leaseKey: forkLeaseKey(id, fork.n),
      // Check, diff, patch and push from a fresh sandbox (workflows/fork-verification.ts).
      verify: request.protectedPaths ? { protectedPaths: request.protectedPaths } : {},
      // Its instances keep the steps of the code the run started on, whatever build resumes them.
      codeVersion: codeVersion.code,
    };
    if (request.commit) params.commit = request.commit;
    if (request.check) params.check = request.check;
    if (request.push) params.push = true;
    if (request.keepSandboxes) params.keepSandbox = true;
    if (request.snapshots) params.snapshots = request.snapshots;
    if (request.prepare && (prepared?.status === "forked" || prepared?.status === "per_fork")) {
      params.prepare = { mode: prepared.status, commands: request.prepare.commands, ...(prepared.baseSha ? { baseSha: prepared.baseSha } : {}) };
    }
    if (request.artifacts) params.artifacts = request.artifacts;
    const network = runNetwork(request, loadConfig(this.#run.env).PUBLIC_URL);
    if (network) params.network = network;
    // An eval's runs queue behind interactive ones for sandboxes.
    if (request.metadata?.[EVAL_METADATA.eval]) params.priority = "background";
    // A fork running as a continuation instance (`<launch>-c<k>`): where it picks up.
    const { base, k } = parseContinuationId(fork.instance_id ?? "");
    if (k > 0) params.continuation = { k, base, stateKey: continuationStateKey(id, fork.n, k) };
    const merge = mergeSpecOf(fork);
    if (merge) {
      params.merge = merge;
      params.forks = this.#branching.lastFork();
      // A merge starts from the base: a prepared run's merge fork prepares its own sandbox (the prepared one is gone).
      if (params.prepare) params.prepare = { mode: "per_fork", commands: params.prepare.commands };
    }
    const branch = branchSourceOf(fork);
    if (branch) {
      params.branch = branch;
      params.forks = this.#branching.lastFork();
    }
    return params;
  }
}
