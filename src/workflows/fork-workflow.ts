import type { ArtifactsView, DiffStats, Task } from "../api/runs";
import { decodeStepError, InvalidInputError, unwrap } from "../core/errors";
import type { Orchestrator } from "../objects/orchestrator/orchestrator";
import type { Pool } from "../objects/pool/pool";
import { sandboxCostUsd } from "../core/costs";
import { resolveModel } from "../agent/models";
import { collectArtifacts, collectWork, type StoredWork } from "../artifacts/collect";
import { ArtifactStore } from "../artifacts/store";
import { errorFields, log } from "../observability/log";
import { POOL_NAME } from "../protocol/events";
import { isEngineInterruption } from "../protocol/engine-errors";
import { stallMs, type ForkParams } from "../protocol/fork-params";
import { statusForErrorCode, type ForkOutcome } from "../runs/fork-outcome";
import { runAgentTask } from "./agent-task";
import { runClaudeCodeTask } from "./claude-code-task";
import { runCommandsTask } from "./commands-task";
import { DurableJob, type JobContext, type JobTracking } from "./durable-job";
import type { ForkContext } from "./fork-context";
import { BRANCH_ROOM_VERSION, ForkBranching, loadBranchState, type BranchState } from "./fork-branching";
import { ForkContinuation, ForkContinued, loadContinuation, type ContinuationState } from "./fork-continuation";
import { ForkSandbox } from "./fork-sandbox";
import { layStepFiles } from "./branch-rebuild";
import { mergeTaskPrompt, recordProvenance } from "./fork-merge";
import { ForkVerification, runCheck } from "./fork-verification";
import type { JobPlan } from "./job-plan";
import { runPushStep } from "./push-step";
import { STEP_KINDS, stepConfig } from "./step-policies";
import { forkTracker } from "./step-runner";
import { STEP } from "./steps";

/**
 * One fork: budget -> acquire-sandbox -> health-check -> clone -> the task (commands, or the agent's
 * model and tool steps) -> check -> collect (diff stats, the patch) -> artifacts (files by glob) -> push,
 * then release-sandbox and report whatever happened. Every step is checkpointed; every step body
 * is safe to run again. Steps that use the sandbox go through ForkSandbox, which replaces a lost one.
 */
export class ForkWorkflow extends DurableJob<ForkParams, ForkOutcome> {
  protected tracking(p: ForkParams): JobTracking {
    return { runId: p.runId, n: p.n, tracker: forkTracker(this.env.ORCHESTRATOR.getByName(p.runId), p.n) };
  }

  protected plan(job: JobContext<ForkParams>): JobPlan<ForkOutcome> {
    const fork = new ForkRun(job);
    return { work: () => fork.work(), failed: (error) => fork.failed(error), finish: () => fork.finish() };
  }
}

/** One execution of a fork's run(): what its steps found so far, for its report. */
class ForkRun {
  readonly #job: JobContext<ForkParams>;
  readonly #orchestrator: DurableObjectStub<Orchestrator>;
  readonly #pool: DurableObjectStub<Pool>;
  readonly #store: ArtifactStore;
  readonly #taskEnv: Record<string, string>;
  readonly outcome: ForkOutcome;
  #sandbox: ForkSandbox | undefined;
  #branching: ForkBranching | undefined;
  #verification: ForkVerification | undefined;
  #ownReleased: Promise<{ keptUntil: number | null; aliveSeconds: number }> | undefined;
  /** The instance the fork went on in (near the step limit): this one ends, releasing nothing. */
  #continuedIn: string | undefined;

  constructor(job: JobContext<ForkParams>) {
    const p = job.params;
    this.#job = job;
    this.#orchestrator = job.env.ORCHESTRATOR.getByName(p.runId);
    this.#pool = job.env.POOL.getByName(POOL_NAME);
    this.#store = new ArtifactStore(job.env.ARTIFACTS);
    this.#taskEnv = { FORKYARD_RUN_ID: p.runId, FORKYARD_FORK: String(p.n), FORKYARD_FORKS: String(p.forks), FORKYARD_BRANCH: p.workBranch };
    this.outcome = { n: p.n, status: "running", sandboxId: null, branch: p.workBranch, commands: [], sandboxSeconds: 0, costUsd: { sandbox: 0, llm: 0 } };
  }

  async work(): Promise<ForkOutcome> {
    const { params: p, steps, config, instanceId } = this.#job;
    // forkBegin itself refuses a cancelled fork or a spent budget (no separate gate) and records the step.
    // Instances launched since tasks are passed by reference get the run's task with it.
    const begun = await steps.run(STEP.budget, stepConfig("budget", config.RETRY_POLICIES), async ({ record }) => unwrap(await this.#orchestrator.forkBegin(p.n, instanceId, record(), !p.task)), {
      gated: false,
      recordedByBody: true,
    });
    const task = p.task ?? begun.task;
    if (!task) throw new InvalidInputError("The fork has no task: its run answered none.");
    // A continuation goes on where the fork stood; a branched fork starts where its parent stood (both stored in R2 first).
    const continued = p.continuation ? await loadContinuation(this.#store, p.continuation.stateKey) : undefined;
    const branchState = continued ?? (p.branch ? await loadBranchState(this.#store, p.branch.stateKey) : undefined);
    const { sandbox, baseSha } = continued ? await this.#resume(continued) : await this.#ready(branchState);
    const branching = new ForkBranching({
      params: p,
      config,
      steps,
      orchestrator: this.#orchestrator,
      pool: this.#pool,
      sandbox,
      store: this.#store,
      waitsForRoom: this.#job.since(BRANCH_ROOM_VERSION),
      sleep: (name, ms) => this.#job.step.sleep(name, ms),
    });
    this.#branching = branching;
    if (continued) branching.resume(continued);
    const continuation = new ForkContinuation({ job: this.#job, orchestrator: this.#orchestrator, store: this.#store, sandbox, carry: () => branching.carried() });
    const ctx: ForkContext = { ...this.#job, orchestrator: this.#orchestrator, pool: this.#pool, sandbox, envd: () => sandbox.envd(), store: this.#store, taskEnv: this.#taskEnv, branching, continuation, ...(branchState ? { branchState } : {}), ...(continued ? { continued: true } : {}) };
    try {
      await this.#task(ctx, task);
    } catch (err) {
      if (!(err instanceof ForkContinued)) {
        if (decodeStepError(err).code === "budget_exceeded" && !("runtime" in task && task.runtime === "claude-code")) await this.#storeBudgetStop(continuation, branching);
        throw err;
      }
      this.#continuedIn = err.instanceId;
      return this.outcome;
    }
    await branching.at("end");
    await this.#collect(ctx, baseSha);
    if (p.merge) await recordProvenance(ctx, p.merge, this.outcome);
    this.outcome.status = "succeeded";
    return this.outcome;
  }

  /**
   * Stopped for budget inside its task: where it stood is stored, for a later raise to continue it. Should that
   * fail, the fork still ends for budget (not continuable), with the budget's error rather than the store's.
   */
  async #storeBudgetStop(continuation: ForkContinuation, branching: ForkBranching): Promise<void> {
    const p = this.#job.params;
    try {
      const stop = await continuation.stopForBudget(branching.position);
      if (stop) this.outcome.budgetStop = stop;
    } catch (err) {
      if (isEngineInterruption(err)) throw err;
      log("warn", "fork.budget_stop_not_stored", { runId: p.runId, fork: p.n, ...errorFields(err) });
    }
  }

  /** The fork's sandbox, acquired (the fork's time runs from it), checked and holding the work branch. */
  async #ready(branchState: BranchState | undefined): Promise<{ sandbox: ForkSandbox; baseSha: string }> {
    const { params: p, config, step, steps, instanceId } = this.#job;
    const forkTimeoutMs = p.timeoutSeconds * 1000;
    const sandbox = new ForkSandbox({ params: p, config, step, steps, pool: this.#pool, instanceId, taskEnv: this.#taskEnv });
    // A branch of an ended fork forks its kept sandbox; one of a running fork finds its sandbox forked already.
    if (p.branch?.sourceLeaseKey) await sandbox.forkFrom(p.branch.sourceLeaseKey);
    // The fork's time runs from its sandbox, not from its place in the queue.
    const { acquiredAt } = await sandbox.acquire();
    this.outcome.sandboxId = sandbox.sandboxId;
    steps.setDeadline(acquiredAt + forkTimeoutMs, p.timeoutSeconds);
    this.#sandbox = sandbox;
    await sandbox.health();
    // A run with `prepare`: the sandbox is a fork of the prepared one (no clone), or it prepares itself.
    const prepared = p.prepare;
    const rebuild = branchState?.stepRebuild;
    const { baseSha } = branchState && rebuild
      ? await sandbox.rebuildBranch(branchState, rebuild.replay, (session) => (rebuild.files ? layStepFiles(session, this.#store, rebuild.files) : Promise.resolve()))
      : branchState
      ? await sandbox.adoptBranch(branchState)
      : prepared?.mode === "forked" && prepared.baseSha
        ? await sandbox.adoptPrepared(prepared.commands, prepared.baseSha)
        : await sandbox.clone(forkTimeoutMs);
    if (prepared?.mode === "per_fork" && !branchState) await sandbox.prepare(prepared.commands, forkTimeoutMs);
    return { sandbox, baseSha };
  }

  /** A continuation instance: the fork's sandbox under its lease as it stood (no clone), its deadline as it was. */
  async #resume(state: ContinuationState): Promise<{ sandbox: ForkSandbox; baseSha: string }> {
    const { params: p, config, step, steps, instanceId } = this.#job;
    const sandbox = new ForkSandbox({ params: p, config, step, steps, pool: this.#pool, instanceId, taskEnv: this.#taskEnv });
    if (state.rebuild && p.continuation) {
      // After a budget stop ended the fork (its sandbox released): a new sandbox, the workspace rebuilt from the journal.
      // The sandbox time of the instances before was theirs to report (each continued life books its own).
      const { remainingMs } = state.rebuild;
      sandbox.resumeFrom({ ...state, releasedSeconds: 0 });
      this.#sandbox = sandbox;
      await sandbox.rebuild(p.continuation.k, (acquiredAt) => steps.setDeadline(acquiredAt + remainingMs, p.timeoutSeconds));
      this.outcome.sandboxId = sandbox.sandboxId;
      return { sandbox, baseSha: state.baseSha };
    }
    sandbox.resumeFrom(state);
    await sandbox.acquire();
    this.outcome.sandboxId = sandbox.sandboxId;
    steps.setDeadline(state.deadline ?? Number.POSITIVE_INFINITY, p.timeoutSeconds);
    this.#sandbox = sandbox;
    await sandbox.health();
    return { sandbox, baseSha: state.baseSha };
  }

  async #task(ctx: ForkContext, task: Task): Promise<void> {
    const p = this.#job.params;
    if ("commands" in task) return runCommandsTask(ctx, task.commands, this.outcome.commands);
    // A merge fork's agent gets the chosen forks' patches (a continuation goes on with the prompt it had).
    const prompt = p.merge && !ctx.continued ? await mergeTaskPrompt(ctx, p.merge, task.prompt) : task.prompt;
    const model = p.branch?.model ?? p.merge?.model ?? task.model ?? resolveModel();
    if (task.runtime === "claude-code") this.outcome.agent = await runClaudeCodeTask(ctx, { ...task, prompt: p.branch?.prompt ?? prompt, model });
    else this.outcome.agent = await runAgentTask(ctx, { ...task, prompt, model });
  }

  /** The fork's verified result (check, diff, patch, push: fork-verification.ts), then its artifacts. */
  async #collect(ctx: ForkContext, baseSha: string): Promise<void> {
    const p = this.#job.params;
    if (!p.verify) return this.#collectInSandbox(ctx, baseSha);
    const verification = new ForkVerification(ctx, this.#job.instanceId, baseSha);
    this.#verification = verification;
    // From the fork's own sandbox: its files (staged in R2) and its artifacts; then it is released,
    // so a fork never holds two sandboxes (no deadlock at the Pool's cap).
    await verification.export();
    const files = await this.#artifactFiles(ctx);
    await this.#releaseOwn();
    const verified = await verification.run();
    const outcome = this.outcome;
    if (verified.check) outcome.check = verified.check;
    outcome.diff = verified.diff;
    if (verified.pushed) outcome.pushed = verified.pushed;
    this.#setArtifacts(files, verified);
  }

  /** Instances launched before verification: check, collect and push in the fork's own sandbox (as they recorded them). */
  async #collectInSandbox(ctx: ForkContext, baseSha: string): Promise<void> {
    const { params: p, config, steps } = this.#job;
    const { sandbox, store } = ctx;
    const retries = config.RETRY_POLICIES;
    const outcome = this.outcome;
    if (p.check) {
      const checkCommand = p.check;
      outcome.check = await sandbox.step(STEP.check, stepConfig("check", retries, p.timeoutSeconds * 1000), async ({ remainingMs }) =>
        runCheck(await sandbox.envd(), checkCommand, { timeoutMs: remainingMs, envs: ctx.taskEnv, stallMs: stallMs(p) }),
      );
    }
    const collected = await sandbox.step(STEP.collect, stepConfig("collect", retries), async () =>
      collectWork({ store, runId: p.runId, n: p.n, session: await sandbox.envd(), baseSha, message: `forkyard: run ${p.runId} fork ${p.n}`, maxPatchBytes: config.ARTIFACT_MAX_BYTES }),
    );
    // A checkpoint from before collect stored patches holds the bare diff stats.
    const stored: StoredWork = "diff" in collected ? collected : { diff: collected as DiffStats };
    const diff = stored.diff;
    outcome.diff = diff;
    this.#setArtifacts(await this.#artifactFiles(ctx), stored);
    if (p.push && diff.files > 0) outcome.pushed = await runPushStep({ steps, config, envd: () => sandbox.envd(), params: p, baseSha });
  }

  /** The files matching the run's globs, from the fork's sandbox. */
  async #artifactFiles(ctx: ForkContext): Promise<Omit<ArtifactsView, "patch"> | undefined> {
    const { params: p, config } = this.#job;
    const { sandbox, store } = ctx;
    if (!p.artifacts) return undefined;
    const globs = p.artifacts;
    return sandbox.step(STEP.artifacts, stepConfig("artifacts", config.RETRY_POLICIES), async ({ remainingMs }) =>
      collectArtifacts({ store, runId: p.runId, n: p.n, session: await sandbox.envd(), globs, maxBytes: config.ARTIFACT_MAX_BYTES, timeoutMs: Math.min(remainingMs, STEP_KINDS.artifacts.timeoutMs) }),
    );
  }

  /** The fork's artifacts view: its files, and its patch's reference. */
  /** The run's artifacts and the fork's patch (or why it was not stored: over ARTIFACT_MAX_BYTES). */
  #setArtifacts(files: Omit<ArtifactsView, "patch"> | undefined, { patch, patchOmitted }: Omit<StoredWork, "diff">): void {
    const work = { ...(patch ? { patch } : {}), ...(patchOmitted ? { patchOmitted } : {}) };
    if (files) this.outcome.artifacts = { ...files, ...work };
    else if (patch || patchOmitted) this.outcome.artifacts = { files: 0, bytes: 0, skipped: [], skippedCount: 0, ...work };
  }

  /** The verification sandbox released (whatever happened), its seconds; undefined when there was none. */
  async #releaseVerification(): Promise<number | undefined> {
    const verification = this.#verification;
    if (!verification?.started) return undefined;
    const p = this.#job.params;
    return verification.release().catch((err) => {
      // The Pool and the reaper still know the lease: a run's end or cancel releases it.
      log("warn", "fork.verify_release_failed", { runId: p.runId, fork: p.n, ...errorFields(err) });
      return 0;
    });
  }

  failed(error: { code: string; message: string }): ForkOutcome {
    this.outcome.status = statusForErrorCode(error.code);
    this.outcome.error = error;
    return this.outcome;
  }

  /**
   * release-sandbox (the fork's own sandbox, or keep it paused for a session): once, whether early
   * (before verification) or in the `finally`. Its time, with that of sandboxes lost along the way.
   */
  #releaseOwn(): Promise<{ keptUntil: number | null; aliveSeconds: number }> {
    this.#ownReleased ??= this.#releaseOwnOnce();
    return this.#ownReleased;
  }

  async #releaseOwnOnce(): Promise<{ keptUntil: number | null; aliveSeconds: number }> {
    const { params: p, config, steps } = this.#job;
    const { outcome } = this;
    const sandbox = this.#sandbox;
    const leaseKey = sandbox?.leaseKey ?? p.leaseKey;
    // A kept sandbox (keepSandboxes) is paused instead, for a session to continue; a cancelled fork's never is.
    const keep = p.keepSandbox && outcome.status !== "cancelled" && sandbox?.sandboxId;
    // What a branch of the kept fork starts from (its workspace's journal, its conversation).
    // An agent fork's, kept or not, without step snapshots: a branch at an earlier step replays its journal from there.
    const branchable = keep || (this.#branching?.isAgent && p.snapshots !== "steps");
    if (branchable && this.#branching) await this.#branching.storeEndState().catch((err) => log("warn", "fork.branch_state_failed", { runId: p.runId, fork: p.n, ...errorFields(err) }));
    const pool = this.#pool;
    const released = await steps.run(
      STEP.releaseSandbox,
      stepConfig("cleanup", config.RETRY_POLICIES),
      async () => (keep ? unwrap(await pool.keep(leaseKey, config.KEEP_SANDBOX_SECONDS)) : { ...unwrap(await pool.release(leaseKey)), keptUntil: null }),
      { gated: false },
    );
    if (released.keptUntil) outcome.kept = { leaseKey, until: new Date(released.keptUntil).toISOString() };
    return released;
  }

  /** verify-release and release-sandbox, then report: whatever happened before. */
  async finish(): Promise<ForkOutcome> {
    const { params: p, config, steps } = this.#job;
    const { outcome } = this;
    // The fork went on in a new instance: its sandbox, verification and report are that instance's.
    if (this.#continuedIn) return outcome;
    const sandbox = this.#sandbox;
    outcome.recoveries = sandbox?.recoveries ?? 0;
    if (sandbox?.sandboxId) outcome.sandboxId = sandbox.sandboxId;
    const verificationSeconds = await this.#releaseVerification();
    const released = await this.#releaseOwn();
    // With the time of sandboxes lost along the way (their leases were released when replaced).
    outcome.sandboxSeconds = released.aliveSeconds + (sandbox?.releasedSeconds ?? 0);
    outcome.costUsd.sandbox = sandboxCostUsd(config, outcome.sandboxSeconds, p.sandboxRate);
    if (verificationSeconds !== undefined) {
      outcome.verificationSeconds = verificationSeconds;
      outcome.costUsd.verification = sandboxCostUsd(config, verificationSeconds, p.sandboxRate);
    }
    // The command results went to the Orchestrator with each command's step: the report leaves
    // them out (the instance's output keeps them for the reconciler, should the report be lost).
    await steps.run(STEP.report, stepConfig("control", config.RETRY_POLICIES), async ({ record }) => unwrap(await this.#orchestrator.forkFinished({ ...outcome, commands: [] }, record())), {
      gated: false,
      recordedByBody: true,
    });
    return outcome;
  }
}
