import { DurableObject } from "cloudflare:workers";
import type { RunPick } from "../../api/pick-responses";
import type { BranchRequest, BranchResponse, CommandResult, CreateRunRequest, ForkView, JudgeRequest, PreparedView, RunSandbox, RunStatus, RunView } from "../../api/runs";
import type { JudgeInput, Judgement } from "../../runs/judging";
import type { PrepareInfo } from "../../workflows/prepare-workflow";
import { DEFAULT_STALL_SECONDS, TERMINAL_FORK_STATUSES, TERMINAL_RUN_STATUSES } from "../../api/runs";
import type { Env } from "../../core/env";
import { loadConfig } from "../../core/env";
import { asResult, BudgetExceededError, ConflictError, ForkCancelledError, InvalidInputError, NotFoundError, resultOf, unwrap, type Result } from "../../core/errors";
import { errorFields, log } from "../../observability/log";
import type { ForkOutcome } from "../../runs/fork-outcome";
import { sandboxCostKey, sandboxCostUsd } from "../../core/costs";
import { legacyRunSandbox } from "../../runs/run-sandbox";
import { forkInstanceId, forkLeaseKey } from "../../protocol/run-ids";
import { branchSourceOf, type BranchMark, type ClaimedBranch } from "./branch-store";
import { RunBranching } from "./branching";
import { RunPreparing } from "./preparing";
import { RunJudging } from "./run-judging";
import type { RunContext } from "./run-context";
import { exportForkResults, upsertRunSummary } from "../../d1-index/run-index";
import { EventHub, eventsAfterOf, eventStreamResponse } from "../shared/event-hub";
import { RunStore, type ForkRow, type StoredForkStatus } from "./run-store";
import { forkLeaseRequest, type ForkParams } from "../../protocol/fork-params";
import type { LeaseRequest } from "../pool/pool";
import { POOL_NAME } from "../../protocol/events";
import { judgeInstanceId, prepareInstanceId, reportInstanceId } from "../../protocol/instance-ids";
import { launchGitHubReport } from "../../protocol/report-launch";
import { BUDGET_RAISED_EVENT, WAKE_EVENT } from "../../protocol/events";
import type { StepRecord, StepReport } from "../../protocol/step-reports";
import { isInstanceAlreadyExists, isInstanceNotFound } from "../../protocol/engine-errors";

export interface CreateRunInput {
  id: string;
  request: CreateRunRequest;
  requestHash: string;
  idempotencyKey: string | null;
  branches: string[];
  sandbox: RunSandbox;
}

/** A launched instance that the engine does not know after this long is launched again. */
const LOST_INSTANCE_GRACE_MS = 30_000;
/** Alarm cadence while a run is active: how soon a runtime restart is noticed (reconciling is rarer). */
export const RESTART_CHECK_MS = 2_000;
/** When the alarm retries stopping a cancelled run's sandboxes (normally done by then). */
const STOP_RETRY_MS = 10_000;
/** Instances the reconciler asks for their status per round, at most. */
const RECONCILE_BATCH = 10;
/**
 * A fork waiting in the Pool's queue is quiet by design (the Pool tells it when its turn comes, and
 * again if the notice is lost): the reconciler asks after it this rarely, not every round.
 */
const QUEUED_RECHECK_MS = 5 * 60_000;
/**
 * A gated step's start is written this long after it is reported, in one batch with the others, or
 * with the step's end if that comes first (most steps are shorter): a commit per step, not two.
 */
const START_WRITE_DELAY_MS = 1_000;
/** Sandbox time is booked at step starts, at most this often per fork (a cent's fraction at most). */
const SANDBOX_ACCRUAL_MS = 5_000;
/** The D1 index of a run lags its forks' changes by at most this (its end is written at once). */
const INDEX_COALESCE_MS = 1_000;
/** How long launching waits after the Pool started a launch's sandboxes, for their create requests to leave. */
const CREATE_HEAD_START_MS = 2;
/** Calls to fork instances (wake, terminate) made at once. */
const INSTANCE_CALLS_AT_ONCE = 25;

const isTerminalFork = (status: StoredForkStatus) => (TERMINAL_FORK_STATUSES as readonly string[]).includes(status);
const isTerminalRun = (status: RunStatus) => TERMINAL_RUN_STATUSES.includes(status);

/**
 * Orchestrator Durable Object, one per run (named by the run id). It launches fork Workflow
 * instances while fewer than maxConcurrent run and the run is neither paused nor over budget,
 * takes the forks' step callbacks (RPC made inside their steps), and keeps an alarm while the run
 * is active that reconciles with the instances' real status.
 */
export class Orchestrator extends DurableObject<Env> {
  readonly #store: RunStore;
  readonly #branching: RunBranching;
  readonly #preparing: RunPreparing;
  readonly #judging: RunJudging;
  readonly #events = new EventHub();
  /** Expected costs of model calls in flight, by ledger key (memory only: a lost one just frees up). */
  readonly #reservations = new Map<string, number>();
  /**
   * Memory only, so false in a new object: an alarm finding a new object with forks underway may
   * follow a runtime restart, which leaves Workflow instances idle; it wakes them all at once.
   */
  #awake = false;
  #nextReconcileAt = 0;
  /**
   * When each fork last called in (memory only, not a write per callback). A new object knows
   * none: it counts from its own start or the fork's launch, whichever is later.
   */
  readonly #lastHeard = new Map<number, number>();
  readonly #bornAt = Date.now();
  /** When the reconciler last asked each fork's instance for its status. */
  readonly #askedAt = new Map<number, number>();
  /** When each fork's sandbox time was last booked (at most every SANDBOX_ACCRUAL_MS). */
  readonly #accruedAt = new Map<number, number>();
  /** Forks whose last step left them in the Pool's queue (memory only: a new object asks them as usual). */
  readonly #queued = new Set<number>();
  /** Forks poked for silence since they were last heard from: still silent next time, they are restarted. */
  readonly #poked = new Set<number>();
  /** Step starts reported but not yet written (see START_WRITE_DELAY_MS): a fork runs one step at a time. */
  readonly #unwrittenStarts = new Map<number, { name: string; attempt: number; at: number }>();
  #startsTimer: ReturnType<typeof setTimeout> | undefined;
  #indexTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#store = new RunStore(ctx.storage.sql, (request) => legacyRunSandbox(request, loadConfig(env)));
    const run: RunContext = {
      env,
      store: this.#store,
      run: () => this.#requireRun(),
      event: (type, fork, data) => this.#event(type, fork, data),
      afterForkChange: () => this.#afterForkChange(),
      setStatus: (status) => this.#setStatus(status),
      armAlarm: () => this.#armAlarm(),
      forkParams: (fork) => this.#forkParams(fork),
      addCost: (key, n, kind, usd) => this.#addCost(key, n, kind, usd),
      releaseLease: (n) => this.#releaseLease(n),
      syncIndex: () => this.#syncIndex(),
      reportToGitHub: () => this.#reportToGitHub(),
      waitUntil: (promise) => ctx.waitUntil(promise),
    };
    this.#branching = new RunBranching(run, ctx.storage.sql);
    this.#preparing = new RunPreparing(run);
    this.#judging = new RunJudging(run);
  }

  // ---- API-facing methods -------------------------------------------------------------------

  /**
   * Creates the run, or returns it when it exists (same Idempotency-Key, same request). Crash-safe:
   * the run row and its alarm are written together before anything else, so a crash at any later
   * point leaves a run the alarm drives; a replay of the request also drives it again at once
   * (launching is idempotent: instance ids are fixed per fork and launch).
   */
  create(input: CreateRunInput): Promise<Result<{ view: RunView; created: boolean }>> {
    return asResult(async () => {
      const existing = this.#store.run();
      if (existing) {
        if (existing.requestHash !== input.requestHash) {
          throw new ConflictError("idempotency_key_reused", "This Idempotency-Key was already used with a different request body.", { runId: existing.id });
        }
        if (!isTerminalRun(existing.status)) await this.#drive();
        return { view: this.#view(), created: false };
      }
      this.#awake = true;
      const now = new Date().toISOString();
      this.#store.insertRun(
        { id: input.id, request: input.request, sandbox: input.sandbox, requestHash: input.requestHash, idempotencyKey: input.idempotencyKey, status: "running", createdAt: now, updatedAt: now },
        input.branches,
      );
      this.#event("run.created", null, { forks: input.request.forks });
      await this.#armAlarm();
      log("info", "run.created", { runId: input.id, forks: input.request.forks, maxConcurrent: input.request.maxConcurrent });
      await this.#launch();
      await this.#syncIndex();
      return { view: this.#view(), created: true };
    });
  }

  /** Makes sure an unfinished run is driven: alarm armed, launched forks' instances exist, queued ones launched. */
  async #drive(): Promise<void> {
    await this.#armAlarm();
    await this.#relaunchLaunched();
    await this.#afterForkChange();
  }

  /**
   * Re-creates the instances of launched forks under the ids they were given (a crash may have come
   * between recording a launch and creating its instance); existing instances are left alone.
   */
  async #relaunchLaunched(): Promise<void> {
    const launched = this.#store.forksWithStatus("running").filter((fork) => fork.instance_id);
    if (launched.length === 0) return;
    const instances = launched.map((fork) => ({ id: fork.instance_id!, params: this.#forkParams(fork) }));
    try {
      const result = await this.env.FORK_WORKFLOW.createBatch({ instances });
      const created = instances.length - result.errors.length;
      if (created > 0) log("info", "orchestrator.instances_recreated", { runId: this.#requireRun().id, count: created });
    } catch (err) {
      log("warn", "orchestrator.relaunch_failed", { runId: this.#requireRun().id, ...errorFields(err) });
    }
  }

  view(): RunView | null {
    this.#writeStarts();
    return this.#store.view();
  }

  /** One fork with its commands' whole tails. */
  forkView(n: number): Result<ForkView> {
    return resultOf(() => {
      const run = this.#requireRun();
      this.#writeStarts();
      const fork = this.#store.forkView(n);
      if (!fork) throw new NotFoundError("fork", `${run.id}/${n}`);
      return fork;
    });
  }

  /** An ended fork's kept sandbox (runs with keepSandboxes): its lease, for a session to take over. */
  keptSandbox(n: number): Result<{ leaseKey: string; until: string } | null> {
    return resultOf(() => {
      const run = this.#requireRun();
      const fork = this.#store.fork(n);
      if (!fork) throw new NotFoundError("fork", `${run.id}/${n}`);
      if (!isTerminalFork(fork.status)) throw new ConflictError("fork_running", `Fork ${n} has not ended yet (${fork.status}).`);
      const outcome = fork.outcome ? (JSON.parse(fork.outcome) as ForkOutcome) : null;
      return outcome?.kept ?? null;
    });
  }

  pause(): Promise<Result<RunView>> {
    return asResult(async () => {
      const status = this.#requireRun().status;
      if (status === "paused") return this.#view();
      if (status !== "running") throw new ConflictError("run_not_running", `The run is ${status}; only a running run can be paused.`);
      await this.#setStatus("paused");
      return this.#view();
    });
  }

  resume(): Promise<Result<RunView>> {
    return asResult(async () => {
      const status = this.#requireRun().status;
      if (status === "running") return this.#view();
      if (status !== "paused") throw new ConflictError("run_not_paused", `The run is ${status}; only a paused run can be resumed.`);
      await this.#setStatus("running");
      await this.#launch();
      await this.#maybeFinishRun();
      await this.#armAlarm();
      return this.#view();
    });
  }

  cancel(): Promise<Result<RunView>> {
    return asResult(async () => {
      const status = this.#requireRun().status;
      if (status === "cancelled") return this.#view();
      if (isTerminalRun(status)) throw new ConflictError("run_finished", `The run already ended (${status}).`);
      // Forks end first, then the run: watchers see every fork's end before the run's.
      const now = new Date().toISOString();
      const active = [...this.#store.forksWithStatus("running"), ...this.#store.forksWithStatus("budget_wait")];
      for (const fork of [...this.#store.forksWithStatus("queued"), ...this.#store.forksWithStatus("branch_wait"), ...active]) {
        if (this.#store.finishFork(fork.n, "cancelled", now, { code: "cancelled", message: "The run was cancelled." })) this.#event("fork.finished", fork.n, { status: "cancelled" });
      }
      await this.#setStatus("cancelled", { indexNow: false });
      // The answer does not wait for the sandboxes: their kills, the index and the instances follow
      // at once in the background; the alarm retries what a lost object left undone.
      this.#store.setStopPending(true);
      await this.ctx.storage.setAlarm(Date.now() + STOP_RETRY_MS);
      this.ctx.waitUntil(this.#stopCancelledRun());
      return this.#view();
    });
  }

  /**
   * Kills every sandbox of a cancelled run in one call to the Pool and books their time (these
   * forks never report); their instances stop at their next step (it is refused) and are terminated.
   */
  async #stopCancelledRun(): Promise<void> {
    const runId = this.#requireRun().id;
    const released = await this.env.POOL.getByName(POOL_NAME).releaseRun(runId);
    if (released.ok) {
      const config = loadConfig(this.env);
      for (const lease of released.value) this.#addCost(sandboxCostKey(lease.fork), lease.fork, "sandbox", sandboxCostUsd(config, lease.aliveSeconds, this.#requireRun().sandbox));
    } else {
      log("warn", "orchestrator.release_failed", { runId, errorCode: released.error.code, errorMessage: released.error.message });
      await this.ctx.storage.setAlarm(Date.now() + STOP_RETRY_MS);
      return;
    }
    await this.#syncIndex();
    await this.#terminateInstances(this.#store.forksWithStatus("cancelled").filter((fork) => fork.instance_id));
    if (this.#requireRun().prepared?.status === "preparing") {
      await this.env.PREPARE_WORKFLOW.get(prepareInstanceId(runId)).then((i) => i.terminate()).catch(() => undefined);
    }
    this.#store.setStopPending(false);
  }

  cancelFork(n: number): Promise<Result<RunView>> {
    return asResult(async () => {
      const run = this.#requireRun();
      const fork = this.#store.fork(n);
      if (!fork) throw new NotFoundError("fork", `${run.id}/${n}`);
      if (isTerminalFork(fork.status)) throw new ConflictError("fork_finished", `Fork ${n} already ended (${fork.status}).`);
      if (fork.status === "queued" || fork.status === "branch_wait") {
        this.#store.finishFork(n, "cancelled", new Date().toISOString(), { code: "cancelled", message: "The fork was cancelled." });
        this.#event("fork.finished", n, { status: "cancelled" });
        // A branched fork may hold its forked sandbox already.
        if (fork.parent !== null) await this.#releaseLease(n);
      } else {
        await this.#cancelRunningFork(fork, "The fork was cancelled.");
      }
      await this.#afterForkChange();
      return this.#view();
    });
  }

  // ---- Fork callbacks (called from inside Workflow steps; each may arrive more than once) ------

  /** The budget step: may this fork start? Returns the fork's stable start time. */
  forkBegin(n: number, instanceId: string, step?: StepRecord): Promise<Result<{ startedAt: number }>> {
    return asResult(async () => {
      const run = this.#requireRun();
      const fork = this.#store.fork(n);
      if (!fork || fork.status === "cancelled" || run.status === "cancelled") throw new ForkCancelledError();
      const budget = run.request.budgetUsd;
      if (budget !== undefined && this.#store.spentUsd() >= budget) {
        throw new BudgetExceededError(`The run's budget of $${budget} is spent.`, { budgetUsd: budget });
      }
      const now = new Date();
      this.#store.markStarted(n, now.toISOString());
      this.#heard(n, now.getTime());
      this.#event("fork.started", n, { instanceId });
      if (step) this.#recordStepEnd(n, step);
      const startedAt = this.#store.fork(n)?.started_at ?? now.toISOString();
      return { startedAt: Date.parse(startedAt) };
    });
  }

  /**
   * Records a step attempt and books the fork's sandbox time so far. `proceed` is false once the
   * fork or its run was cancelled; `budgetSpent` once the run's budget is (sandbox time included).
   */
  stepStarted(n: number, name: string, attempt: number): { proceed: boolean; budgetSpent: boolean; branch?: boolean } {
    const run = this.#store.run();
    const fork = this.#store.fork(n);
    if (!run || !fork) return { proceed: false, budgetSpent: false };
    const now = Date.now();
    this.#heard(n, now);
    this.#queued.delete(n);
    this.#writeStart(n);
    this.#unwrittenStarts.set(n, { name, attempt, at: now });
    this.#startsTimer ??= setTimeout(() => this.#writeStarts(), START_WRITE_DELAY_MS);
    if (!isTerminalFork(fork.status) && now - (this.#accruedAt.get(n) ?? 0) >= SANDBOX_ACCRUAL_MS) {
      const usd = sandboxCostUsd(loadConfig(this.env), this.#store.sandboxSeconds(fork, now), this.#requireRun().sandbox);
      if (usd > 0) {
        this.#store.accrueCost(sandboxCostKey(n), n, "sandbox", usd, new Date(now).toISOString());
        this.#accruedAt.set(n, now);
      }
    }
    const budget = run.request.budgetUsd;
    return {
      proceed: fork.status !== "cancelled" && run.status !== "cancelled",
      budgetSpent: budget !== undefined && this.#store.spentUsd() >= budget,
      ...(this.#branching.waitingFor(n) ? { branch: true } : {}),
    };
  }

  /** A long step's heartbeat: its instance is alive (memory only, no write). */
  forkAlive(n: number): void {
    this.#heard(n, Date.now());
  }

  /** The fork was heard from (a step report or a heartbeat): it is alive. */
  #heard(n: number, at: number): void {
    this.#lastHeard.set(n, at);
    this.#poked.delete(n);
  }

  stepFinished(n: number, name: string, report: StepReport): { branch?: boolean } {
    const now = Date.now();
    this.#heard(n, now);
    const { findings = [], startedAt, ...step } = report;
    this.#writeStart(n);
    // An ungated step's start, or one whose report this object lost (it was restarted meanwhile).
    if (startedAt !== undefined && !this.#store.stepRunning(n, name, step.attempt)) this.#recordStepStart(n, name, step.attempt, startedAt);
    for (const finding of findings) {
      if (finding.kind === "sandbox") {
        this.#store.setSandbox(n, finding.sandboxId, now);
      } else if (finding.kind === "queued") {
        this.#queued.add(n);
        this.#event("fork.queued", n, { position: finding.position });
      } else {
        const { index, result } = finding;
        this.#store.saveCommand(n, index, result);
        // The output itself is stored once, with the fork (GET /v1/runs/:id), not in the event log.
        this.#event("command.finished", n, { index, command: result.command, exitCode: result.exitCode, durationMs: result.durationMs });
      }
    }
    this.#store.stepFinished(n, name, step.attempt, step.ok, step.durationMs);
    this.#event("step.finished", n, { step: name, ...step });
    return this.#branching.waitingFor(n) ? { branch: true } : {};
  }

  /** A successful step whose body's own call to this object records it (StepBodyContext.record). */
  #recordStepEnd(n: number, step: StepRecord): void {
    this.stepFinished(n, step.name, { attempt: step.attempt, ok: true, durationMs: Date.now() - step.startedAt, startedAt: step.startedAt });
  }

  /** Writes fork n's reported step start, if it is not written yet. */
  #writeStart(n: number): void {
    const start = this.#unwrittenStarts.get(n);
    if (!start) return;
    this.#unwrittenStarts.delete(n);
    this.#recordStepStart(n, start.name, start.attempt, start.at);
  }

  /** Writes every reported step start (steps still running after START_WRITE_DELAY_MS), in one commit. */
  #writeStarts(): void {
    if (this.#startsTimer) clearTimeout(this.#startsTimer);
    this.#startsTimer = undefined;
    for (const n of [...this.#unwrittenStarts.keys()]) this.#writeStart(n);
  }

  #recordStepStart(n: number, name: string, attempt: number, at: number): void {
    this.#store.stepStarted(n, name, attempt);
    this.#event("step.started", n, { step: name, attempt }, at);
  }

  /**
   * Before each model call: does its expected cost fit the budget? Calls in flight hold a
   * reservation, so concurrent forks cannot all spend the last dollar. Throws BudgetExceededError.
   */
  reserveModelCall(n: number, key: string, expectedUsd: number): Result<void> {
    return resultOf(() => {
      const run = this.#requireRun();
      const budget = run.request.budgetUsd;
      if (budget === undefined) return;
      this.#reservations.delete(key);
      const reserved = [...this.#reservations.values()].reduce((sum, usd) => sum + usd, 0);
      const spent = this.#store.spentUsd();
      if (spent + reserved + expectedUsd > budget) {
        throw new BudgetExceededError(`The next model call (about $${expectedUsd.toFixed(4)}) does not fit the run's budget of $${budget} ($${spent.toFixed(4)} spent).`, {
          budgetUsd: budget,
          spentUsd: spent,
          fork: n,
        });
      }
      this.#reservations.set(key, expectedUsd);
    });
  }

  /** A model call that failed (or never happened) gives its reservation back. */
  releaseReservation(key: string): void {
    this.#reservations.delete(key);
  }

  /** A model call's real cost, once per key (fork, step, attempt); it settles the reservation. */
  recordModelCost(n: number, key: string, usd: number): void {
    this.#reservations.delete(key);
    this.#addCost(key, n, "llm", usd);
    this.#heard(n, Date.now());
  }

  /** A fork stopped for budget: its sandbox is paused and it waits for the budget to be raised. */
  async forkAwaitingBudget(n: number): Promise<void> {
    if (this.#store.transition(n, "running", "budget_wait")) {
      this.#store.markPaused(n, Date.now());
      this.#event("fork.budget_exceeded", n, { spentUsd: this.#store.spentUsd() });
      const run = this.#requireRun();
      if (run.status === "running") await this.#setStatus("budget_exceeded");
      this.#indexSoon();
    }
  }

  /** A fork that waited for budget continues. */
  forkContinues(n: number): void {
    if (this.#store.transition(n, "budget_wait", "running")) {
      this.#store.markUnpaused(n, Date.now());
      this.#event("fork.resumed", n, {});
    }
  }

  /** Raises the run's budget; forks stopped for budget continue where they stopped. */
  // ---- Branches, prepare, judging: branching.ts, preparing.ts, run-judging.ts beside it --------

  /** New forks from fork n as it is now (POST …/forks/:n/branch, a /refork comment). */
  branch(n: number, request: BranchRequest, idempotencyKey?: string): Promise<Result<BranchResponse>> {
    return asResult(() => this.#branching.request(n, request, idempotencyKey));
  }

  /** Fork n at a step boundary takes its waiting branches: their new forks' leases, to fork its sandbox under. */
  branchClaim(n: number, mark: BranchMark): Result<(ClaimedBranch & { leases: LeaseRequest[] })[]> {
    return resultOf(() => this.#branching.claim(n, mark));
  }

  branchDeferred(k: number): void {
    this.#branching.deferred(k);
  }

  branchForked(k: number, turn: number, stateKey: string): Promise<Result<void>> {
    return asResult(() => this.#branching.forked(k, turn, stateKey));
  }

  branchFailed(k: number, error: { code: string; message: string }): Promise<Result<void>> {
    return asResult(() => this.#branching.failed(k, error));
  }

  prepareInfo(): Result<PrepareInfo> {
    return resultOf(() => this.#preparing.info());
  }

  prepareStepStarted(name: string, attempt: number): { proceed: boolean; budgetSpent: boolean } {
    return this.#preparing.stepStarted(name, attempt);
  }

  prepareStepFinished(name: string, report: StepReport): void {
    this.#preparing.stepFinished(name, report);
  }

  prepared(outcome: PreparedView, sandboxSeconds: number): Promise<Result<void>> {
    return asResult(() => this.#preparing.prepared(outcome, sandboxSeconds));
  }

  /** An LLM judging of the ended run's forks that succeeded (POST …/judge). */
  judge(request?: JudgeRequest): Promise<Result<RunView>> {
    return asResult(async () => {
      await this.#judging.start(request ?? this.#requireRun().request.judge ?? { llm: {} });
      return this.#view();
    });
  }

  judgeInput(k: number): Result<JudgeInput> {
    return resultOf(() => this.#judging.input(k));
  }

  judged(k: number, scores: Judgement[]): Promise<Result<void>> {
    return asResult(() => this.#judging.judged(k, scores));
  }

  judgeFailed(k: number, error: { code: string; message: string }): Promise<void> {
    return this.#judging.failed(k, error);
  }

  /** Judging k's step reports and heartbeats (the judge Workflow's StepTracker). */
  judgeStepFinished(k: number, name: string, report: StepReport): void {
    this.#judging.stepFinished(k, name, report);
  }

  judgeAlive(k: number): void {
    this.#judging.alive(k);
  }

  /**
   * Records a pick (POST …/forks/:n/pick, a `/pick` comment): src/actions/pick.ts checked the fork
   * and opened its pull request. The latest pick is the run's `picked`; `winner` stays the ranking's.
   */
  recordPick(picked: RunPick): Result<void> {
    return resultOf(() => {
      this.#requireRun();
      this.#store.setPicked(picked);
      const { n, at: _at, ...rest } = picked;
      this.#event("run.picked", n, rest);
    });
  }

  raiseBudget(budgetUsd: number): Promise<Result<RunView>> {
    return asResult(async () => {
      const run = this.#requireRun();
      if (isTerminalRun(run.status)) throw new ConflictError("run_finished", `The run already ended (${run.status}).`);
      const current = run.request.budgetUsd;
      if (current !== undefined && budgetUsd <= current) {
        throw new InvalidInputError(`budgetUsd: must be more than the current budget of $${current}.`, { field: "budgetUsd" });
      }
      this.#store.setBudget(budgetUsd, new Date().toISOString());
      this.#event("run.budget", null, { budgetUsd });
      if (run.status === "budget_exceeded") await this.#setStatus("running");
      for (const fork of this.#store.forksWithStatus("budget_wait")) {
        if (!fork.instance_id) continue;
        try {
          await (await this.env.FORK_WORKFLOW.get(fork.instance_id)).sendEvent({ type: BUDGET_RAISED_EVENT, payload: { budgetUsd } });
        } catch (err) {
          log("warn", "orchestrator.budget_event_failed", { runId: run.id, fork: fork.n, ...errorFields(err) });
        }
      }
      await this.#afterForkChange();
      await this.#armAlarm();
      return this.#view();
    });
  }

  /** The report step: the fork's final outcome (and the step's own record, when given). */
  forkFinished(outcome: ForkOutcome, step?: StepRecord): Promise<Result<void>> {
    return asResult(async () => {
      this.#writeStart(outcome.n);
      if (step) this.#recordStepEnd(outcome.n, step);
      this.#applyOutcome(outcome);
      await this.#afterForkChange();
    });
  }

  // ---- Reconciliation -------------------------------------------------------------------------

  override async alarm(): Promise<void> {
    const run = this.#store.run();
    if (!run) return;
    if (run.stopPending) await this.#stopCancelledRun();
    const config = loadConfig(this.env);
    const now = Date.now();
    if (!this.#awake) {
      this.#awake = true;
      await this.#wakeRunningForks();
      await this.#eachSideInstance((instance) => instance.sendEvent({ type: WAKE_EVENT, payload: {} }).then(() => undefined));
    }
    if (now >= this.#nextReconcileAt) {
      this.#nextReconcileAt = now + config.RECONCILE_INTERVAL_SECONDS * 1000;
      await this.#eachSideInstance((instance, kind) => this.#reconcileSideInstance(instance, kind));
      // A fork heard from since the last round is evidently running: only quiet ones are asked, at
      // most RECONCILE_BATCH a round, the longest unasked first (forks waiting in the Pool's queue
      // are quiet too, and a round must not cost O(forks)).
      const quietSince = now - config.RECONCILE_INTERVAL_SECONDS * 1000;
      const quiet = [...this.#store.forksWithStatus("running"), ...this.#store.forksWithStatus("budget_wait")]
        .filter((fork) => this.#lastHeardAt(fork) < (this.#queued.has(fork.n) ? now - QUEUED_RECHECK_MS : quietSince))
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
      await this.#afterForkChange();
    }
    await this.#armAlarm();
  }

  /** Calls the run's prepare instance (while preparing) and judge instance (while judging); one that fails is logged. */
  async #eachSideInstance(call: (instance: WorkflowInstance, kind: "prepare" | "judge") => Promise<void>): Promise<void> {
    const run = this.#requireRun();
    const side: [string, Workflow, "prepare" | "judge"][] = [];
    if (run.prepared?.status === "preparing") side.push([prepareInstanceId(run.id), this.env.PREPARE_WORKFLOW, "prepare"]);
    if (run.judging?.status === "running") side.push([judgeInstanceId(run.id, run.judging.k), this.env.JUDGE_WORKFLOW, "judge"]);
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
      if (status.status === "complete" && status.output) unwrap(await this.prepared(status.output as PreparedView, 0));
      else if (ended) unwrap(await this.prepared({ status: "failed", error }, 0));
      return;
    }
    const k = this.#requireRun().judging!.k;
    if (status.status === "complete" && Array.isArray(status.output) && status.output.length > 0) unwrap(await this.judged(k, status.output as Judgement[]));
    else if (ended) await this.judgeFailed(k, error);
  }

  /** Sends every running fork's instance an event no step waits for: an idle instance resumes. */
  async #wakeRunningForks(): Promise<void> {
    const forks = this.#store.forksWithStatus("running").filter((fork) => fork.instance_id);
    if (forks.length === 0) return;
    log("info", "orchestrator.waking_forks", { runId: this.#requireRun().id, forks: forks.length });
    await this.#eachInstance(forks, "wake", (instance) => instance.sendEvent({ type: WAKE_EVENT, payload: {} }));
  }

  async #reconcileFork(fork: ForkRow, now: number, staleMs: number): Promise<void> {
    if (!fork.instance_id) return;
    let status: InstanceStatus;
    let instance: WorkflowInstance;
    try {
      instance = await this.env.FORK_WORKFLOW.get(fork.instance_id);
      status = await instance.status();
    } catch (err) {
      if (isInstanceNotFound(err) && now - (fork.launched_at ?? now) > LOST_INSTANCE_GRACE_MS) {
        log("warn", "orchestrator.instance_lost", { runId: this.#requireRun().id, fork: fork.n, instanceId: fork.instance_id });
        this.#store.requeue(fork.n);
      }
      return;
    }
    switch (status.status) {
      case "complete":
        if (isForkOutcome(status.output)) this.#applyOutcome(status.output);
        return;
      case "errored":
      case "terminated": {
        const message = status.error?.message ?? `The fork's workflow instance ${status.status}.`;
        if (this.#store.finishFork(fork.n, "failed", new Date(now).toISOString(), { code: "workflow_failed", message })) {
          this.#event("fork.finished", fork.n, { status: "failed", error: message });
        }
        await this.#releaseLease(fork.n);
        return;
      }
      default: {
        if (fork.status !== "running" || now - this.#lastHeardAt(fork) <= staleMs) return;
        const runId = this.#requireRun().id;
        // A step that runs sends heartbeats, so a silent fork inside a step is stuck. First it is
        // poked (a restarted local runtime leaves instances idle until something calls into them);
        // still silent a stale period later, it is restarted from that step (earlier steps' results are kept).
        const step = this.#store.runningStep(fork.n);
        this.#lastHeard.set(fork.n, now);
        if (this.#poked.has(fork.n) && (step || status.status === "paused")) {
          this.#poked.delete(fork.n);
          // From the stuck step; from the start if the instance does not know it (every step is safe to run again).
          const from = step ? await instance.restart({ from: { name: step } }).then(() => step, () => null) : null;
          if (from === null) await instance.restart();
          this.#event("fork.restarted", fork.n, { step: from });
          log("warn", "orchestrator.fork_restarted", { runId, fork: fork.n, instanceId: fork.instance_id, step: from });
          return;
        }
        this.#poked.add(fork.n);
        await instance.sendEvent({ type: WAKE_EVENT, payload: {} });
        log("info", "orchestrator.fork_woken", { runId, fork: fork.n, instanceId: fork.instance_id });
      }
    }
  }

  // ---- Internals ------------------------------------------------------------------------------

  #lastHeardAt(fork: ForkRow): number {
    return this.#lastHeard.get(fork.n) ?? Math.max(this.#bornAt, fork.launched_at ?? 0);
  }

  #applyOutcome(outcome: ForkOutcome): void {
    const now = new Date().toISOString();
    this.#store.saveOutcome(outcome);
    this.#addCost(sandboxCostKey(outcome.n), outcome.n, "sandbox", outcome.costUsd.sandbox);
    if (this.#store.finishFork(outcome.n, outcome.status, now, outcome.error)) {
      this.#event("fork.finished", outcome.n, { status: outcome.status, costUsd: outcome.costUsd });
      const stopWhen = this.#requireRun().request.stopWhen;
      if (stopWhen === "first_check_pass" && outcome.status === "succeeded" && outcome.check?.passed && this.#store.setWinner(outcome.n)) {
        this.#event("run.winner", outcome.n, { stopWhen });
      }
      log("info", "fork.finished", { runId: this.#requireRun().id, fork: outcome.n, status: outcome.status, sandboxId: outcome.sandboxId, errorCode: outcome.error?.code });
    }
  }

  /** Records a cost once per key (a re-run step cannot count twice) and announces it. */
  #addCost(key: string, n: number, kind: "sandbox" | "llm", usd: number): void {
    if (this.#store.addCost(key, n, kind, usd, new Date().toISOString())) {
      this.#event("cost.recorded", n, { kind, usd, spentUsd: this.#store.spentUsd() });
    }
  }

  async #cancelRunningFork(fork: ForkRow, message: string): Promise<void> {
    if (this.#store.finishFork(fork.n, "cancelled", new Date().toISOString(), { code: "cancelled", message })) {
      this.#event("fork.finished", fork.n, { status: "cancelled" });
    }
    await this.#releaseLease(fork.n);
    await this.#terminateInstances([fork]);
  }

  #terminateInstances(forks: ForkRow[]): Promise<void> {
    return this.#eachInstance(forks, "terminate", (instance) => instance.terminate());
  }

  /** Calls each fork's instance, a few at once; one that fails (gone, already ended) is logged and skipped. */
  async #eachInstance(forks: ForkRow[], what: string, call: (instance: WorkflowInstance) => Promise<unknown>): Promise<void> {
    const runId = this.#requireRun().id;
    const launched = forks.filter((fork) => fork.instance_id);
    for (let i = 0; i < launched.length; i += INSTANCE_CALLS_AT_ONCE) {
      await Promise.all(
        launched.slice(i, i + INSTANCE_CALLS_AT_ONCE).map(async (fork) => {
          try {
            await call(await this.env.FORK_WORKFLOW.get(fork.instance_id!));
          } catch (err) {
            log("info", `orchestrator.${what}_skipped`, { runId, fork: fork.n, ...errorFields(err) });
          }
        }),
      );
    }
  }

  async #releaseLease(n: number): Promise<void> {
    const runId = this.#requireRun().id;
    const result = await this.env.POOL.getByName(POOL_NAME).releaseFork(runId, n);
    if (!result.ok) {
      log("warn", "orchestrator.release_failed", { runId, fork: n, errorCode: result.error.code, errorMessage: result.error.message });
      return;
    }
    // A fork stopped from here (cancelled, or its instance failed) never reports its sandbox time.
    this.#addCost(sandboxCostKey(n), n, "sandbox", sandboxCostUsd(loadConfig(this.env), result.value.aliveSeconds, this.#requireRun().sandbox));
  }

  async #afterForkChange(): Promise<void> {
    this.#branching.settleEndedParents();
    await this.#stopLosers();
    await this.#launch();
    await this.#maybeFinishRun();
    this.#indexSoon();
  }

  /** Once a fork has won (stopWhen: first_check_pass), every other fork is cancelled and its sandbox released. */
  async #stopLosers(): Promise<void> {
    const run = this.#requireRun();
    if (run.winner === undefined) return;
    const message = `Fork ${run.winner} passed its check first (stopWhen: first_check_pass).`;
    const now = new Date().toISOString();
    for (const fork of [...this.#store.forksWithStatus("queued"), ...this.#store.forksWithStatus("branch_wait")]) {
      if (this.#store.finishFork(fork.n, "cancelled", now, { code: "cancelled", message })) this.#event("fork.finished", fork.n, { status: "cancelled" });
    }
    for (const status of ["running", "budget_wait"] as const) {
      for (const fork of this.#store.forksWithStatus(status)) await this.#cancelRunningFork(fork, message);
    }
  }

  /** Launches queued forks while fewer than maxConcurrent run and the run is running. */
  async #launch(): Promise<void> {
    const run = this.#requireRun();
    if (run.status !== "running") return;
    if (run.request.prepare && !(await this.#preparing.readyToLaunch())) return;
    const budget = run.request.budgetUsd;
    if (budget !== undefined && this.#store.spentUsd() >= budget) {
      if (this.#store.countForks("queued") > 0) await this.#setStatus("budget_exceeded");
      return;
    }
    // Forks branched from a running fork hold their forked sandbox already: they start at once.
    const branched = this.#branching.readyForks();
    const free = run.request.maxConcurrent - this.#store.countForks("running") - branched.length;
    const others = free > 0 ? this.#store.forksWithStatus("queued", Math.min(free + branched.length, 100)).filter((fork) => !branched.some((b) => b.n === fork.n)).slice(0, free) : [];
    const queued = [...branched, ...others];
    if (queued.length === 0) return;

    const now = Date.now();
    const instances = queued.map((fork) => {
      const id = forkInstanceId(run.id, fork.n, fork.launches + 1);
      this.#store.markLaunched(fork.n, id, now);
      return { id, params: this.#forkParams(fork), first: fork.launches === 0 };
    });
    // The Pool starts the first launch's sandboxes while the engine starts their instances. Its
    // create requests get a moment to leave first: where the Pool, this object and the engine share
    // a thread (workerd locally), the engine's burst of instance starts would hold them back ~35 ms.
    await this.env.POOL.getByName(POOL_NAME)
      .prepare(instances.filter((i) => i.first && !i.params.branch).map((i) => forkLeaseRequest(i.params, i.id)))
      .catch((err) => log("warn", "orchestrator.prepare_failed", { runId: run.id, ...errorFields(err) }));
    await scheduler.wait(CREATE_HEAD_START_MS);
    try {
      const result = await this.env.FORK_WORKFLOW.createBatch({ instances: instances.map(({ id, params }) => ({ id, params })) });
      for (const error of result.errors) {
        if (isInstanceAlreadyExists(error.message)) continue;
        const fork = queued[error.index];
        if (fork) this.#store.requeue(fork.n);
        log("warn", "orchestrator.launch_failed", { runId: run.id, fork: fork?.n, errorMessage: error.message });
      }
    } catch (err) {
      for (const fork of queued) this.#store.requeue(fork.n);
      log("warn", "orchestrator.launch_failed", { runId: run.id, ...errorFields(err) });
      return;
    }
    for (const { id } of instances) log("info", "fork.launched", { runId: run.id, instanceId: id });
  }

  #forkParams(fork: ForkRow): ForkParams {
    const { id, request, sandbox } = this.#requireRun();
    const params: ForkParams = {
      runId: id,
      n: fork.n,
      forks: request.forks,
      repo: request.repo,
      baseBranch: request.branch,
      workBranch: fork.branch,
      task: request.task,
      timeoutSeconds: request.timeoutSeconds,
      stallSeconds: request.stallSeconds ?? DEFAULT_STALL_SECONDS,
      template: sandbox.templateId,
      sandboxRate: { vcpu: sandbox.vcpu, memoryGib: sandbox.memoryGib },
      leaseKey: forkLeaseKey(id, fork.n),
    };
    if (request.check) params.check = request.check;
    if (request.push) params.push = true;
    if (request.keepSandboxes) params.keepSandbox = true;
    const prepared = this.#requireRun().prepared;
    if (request.prepare && (prepared?.status === "forked" || prepared?.status === "per_fork")) {
      params.prepare = { mode: prepared.status, commands: request.prepare.commands, ...(prepared.baseSha ? { baseSha: prepared.baseSha } : {}) };
    }
    if (request.artifacts) params.artifacts = request.artifacts;
    const branch = branchSourceOf(fork);
    if (branch) {
      params.branch = branch;
      params.forks = this.#branching.lastFork();
    }
    return params;
  }

  async #maybeFinishRun(): Promise<void> {
    const run = this.#requireRun();
    if (isTerminalRun(run.status) || this.#store.countUnfinished() > 0) return;
    if (run.status === "budget_exceeded") {
      // Every fork ended but the run waits for a budget raise: a GitHub run reports now.
      await this.#reportToGitHub();
      return;
    }
    const status: RunStatus = this.#store.countForks("succeeded") > 0 ? "completed" : "failed";
    await this.#setStatus(status);
  }

  /** A run's end is indexed at once (unless the caller does it: `indexNow: false`), other changes soon. */
  async #setStatus(status: RunStatus, { indexNow = isTerminalRun(status) } = {}): Promise<void> {
    const run = this.#requireRun();
    if (run.status === status) return;
    this.#store.setRunStatus(status, new Date().toISOString());
    this.#event(isTerminalRun(status) ? "run.finished" : "run.status", null, { status });
    log("info", "run.status", { runId: run.id, status });
    if (indexNow) await this.#syncIndex();
    else this.#indexSoon();
    // A judged run (judge.llm) reports to GitHub once its judging ended: the report ranks with the scores.
    let judging = false;
    if (status === "completed" && run.request.judge?.llm) {
      judging = await this.#judging.start(run.request.judge).then(
        () => true,
        (err) => (log("warn", "orchestrator.judging_not_started", { runId: run.id, ...errorFields(err) }), false),
      );
    }
    if (isTerminalRun(status) && !judging) await this.#reportToGitHub();
  }

  /**
   * A GitHub run reports when it ends: once, and once more each time it ends again after forks
   * were branched from it (their own report instance; the summary comment is updated in place).
   */
  async #reportToGitHub(): Promise<void> {
    const run = this.#requireRun();
    if (!run.request.github) return;
    const branches = this.#branching.count();
    await launchGitHubReport(this.env, run.id, branches === 0 ? reportInstanceId(run.id) : `${reportInstanceId(run.id)}-branch-${branches}`);
  }

  async #armAlarm(): Promise<void> {
    const run = this.#store.run();
    if (!run) return;
    if (this.#store.countUnfinished() === 0 && run.judging?.status !== "running") return;
    const interval = Math.min(loadConfig(this.env).RECONCILE_INTERVAL_SECONDS * 1000, RESTART_CHECK_MS);
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > Date.now() + interval) await this.ctx.storage.setAlarm(Date.now() + interval);
  }

  /** Coalesces index writes while forks change: at most one per INDEX_COALESCE_MS. */
  #indexSoon(): void {
    this.#indexTimer ??= setTimeout(() => void this.#syncIndex(), INDEX_COALESCE_MS);
  }

  /** Writes the run's summary and its newly ended forks to the D1 index now. */
  async #syncIndex(): Promise<void> {
    if (this.#indexTimer) clearTimeout(this.#indexTimer);
    this.#indexTimer = undefined;
    const run = this.#requireRun();
    this.#store.touchRun(new Date().toISOString());
    try {
      const touched = this.#requireRun();
      await upsertRunSummary(this.env.DB, { ...touched, totals: this.#store.totals() }, run.requestHash, run.idempotencyKey);
      const ended = this.#store.unexportedForks();
      await exportForkResults(this.env.DB, run.id, ended);
      this.#store.markExported(ended.map((f) => f.n));
    } catch (err) {
      log("error", "orchestrator.index_failed", { runId: run.id, ...errorFields(err) });
    }
  }

  #event(type: string, fork: number | null, data: Record<string, unknown>, at = Date.now()): void {
    this.#events.publish(this.#store.appendEvent(type, fork, data, new Date(at).toISOString()));
    if (type === "run.finished") this.#events.closeAll();
  }

  /** GET /events: the run's event log from after Last-Event-ID, then live events until the run ends. */
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (request.method !== "GET" || url.pathname !== "/events") return new Response("not found", { status: 404 });
    const run = this.#store.run();
    if (!run) return new Response("not found", { status: 404 });
    return eventStreamResponse(this.#events, this.#store.eventsAfter(eventsAfterOf(request)), this.#store.countUnfinished() > 0, "run");
  }

  #requireRun() {
    const run = this.#store.run();
    // Routes answer this with the run id they asked for (routes/runs.ts).
    if (!run) throw new NotFoundError("run", "");
    return run;
  }

  #view(): RunView {
    this.#writeStarts();
    const view = this.#store.view();
    if (!view) throw new NotFoundError("run", "(uninitialised orchestrator)");
    return view;
  }
}


function isForkOutcome(value: unknown): value is ForkOutcome {
  return typeof value === "object" && value !== null && "n" in value && "status" in value && "costUsd" in value;
}
