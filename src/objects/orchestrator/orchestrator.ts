import { DurableObject } from "cloudflare:workers";
import type { RunPick } from "../../api/pick-responses";
import type { BranchRequest, BranchResponse, ForkView, JudgeRequest, MergeRequest, MergeResponse, PreparedView, RunView } from "../../api/runs";
import type { JudgeInput, Judgement } from "../../runs/judging";
import type { TournamentResult } from "../../runs/tournament";
import type { PrepareInfo } from "../../workflows/prepare-workflow";
import { loadConfig, type Env } from "../../core/env";
import { asResult, ConflictError, notFound, resultOf, type Result } from "../../core/errors";
import { errorFields, log } from "../../observability/log";
import type { ForkOutcome } from "../../runs/fork-outcome";
import type { ForkTranscriptPage, TranscriptRecord } from "../../runs/fork-transcript";
import { legacyRunSandbox } from "../../runs/run-sandbox";
import type { BranchMark, ClaimedBranch } from "./branch-store";
import { RunBranching } from "./branching";
import { RunControl } from "./run-control";
import { RunMerging } from "./merging";
import { RunPreparing } from "./preparing";
import { RunJudging } from "./run-judging";
import type { RunContext } from "./run-context";
import { RunStore, type CreateRunInput } from "./run-store";
import { RunDeletion, type DeleteReason, type RunWiped } from "./run-deletion";
import type { LeaseRequest } from "../pool/pool";
import type { OutputChunk } from "../../protocol/live-output";
import type { BranchReports, ForkBegun, ForkContinuationRef, ForkReports, JudgeReports, PrepareReports, StepGate } from "../../protocol/roles";
import type { StepRecord, StepReport } from "../../protocol/step-reports";
import { EventChannel } from "../shared/event-channel";
import { IndexSync } from "../shared/index-sync";
import { InstanceWatch } from "../shared/instance-watch";
import { migrate } from "../shared/migrations";
import { ForkReporting, keptLease } from "./fork-reports";
import { RunLaunching } from "./launching";
import { RunLiveOutput } from "./live-output";
import { RunReconciling } from "./reconciling";
import { RUN_MIGRATIONS } from "./schema";
import { RunStopping } from "./stopping";
import { RunBudget } from "./run-budget";
import { RunWaves } from "./waves";
import { isTerminalRun, RunStatusMachine } from "./run-status";

/** Orchestrator Durable Object, one per run (named by the run id). Its public RPC is the run's API; its Workflows'
 * callbacks go through typed roles (src/protocol/roles.ts) to its parts: ForkReporting, RunLaunching, RunStopping, RunWaves,
 * RunReconciling (alarm), RunBranching, RunMerging, RunPreparing, RunJudging, RunDeletion, RunControl, RunBudget, RunStore (ledger, transcripts), watch, events, index. */
export class Orchestrator extends DurableObject<Env> implements ForkReports, BranchReports, PrepareReports, JudgeReports {
  readonly #store: RunStore;
  readonly #events: EventChannel;
  readonly #watch: InstanceWatch;
  readonly #index: IndexSync;
  readonly #reports: ForkReporting;
  readonly #launching: RunLaunching;
  readonly #stopping: RunStopping;
  readonly #reconciling: RunReconciling;
  readonly #branching: RunBranching;
  readonly #preparing: RunPreparing;
  readonly #judging: RunJudging;
  readonly #status: RunStatusMachine;
  readonly #deletion: RunDeletion;
  readonly #live: RunLiveOutput;
  readonly #control: RunControl;
  readonly #merging: RunMerging;
  readonly #budget: RunBudget;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrate(ctx.storage, RUN_MIGRATIONS);
    this.#store = new RunStore(ctx.storage.sql, (request) => legacyRunSandbox(request, loadConfig(env)));
    this.#events = new EventChannel(ctx.storage.sql, "run");
    this.#watch = new InstanceWatch(ctx.storage, () => loadConfig(env).RECONCILE_INTERVAL_SECONDS * 1000);
    this.#index = new IndexSync(() => this.#status.writeIndex(), (err) => log("error", "orchestrator.index_failed", { runId: this.#store.run()?.id, ...errorFields(err) }));
    const run: RunContext = {
      env,
      store: this.#store,
      watch: this.#watch,
      index: this.#index,
      run: () => this.#requireRun(),
      event: (type, fork, data, at) => this.#event(type, fork, data, at),
      afterForkChange: () => this.#afterForkChange(),
      setStatus: (status, options) => this.#status.set(status, options),
      armAlarm: () => this.#armAlarm(),
      forkParams: (fork) => this.#launching.forkParams(fork),
      addCost: (key, n, kind, usd) => this.#reports.addCost(key, n, kind, usd),
      applyOutcome: (outcome) => this.#reports.applyOutcome(outcome),
      releaseLease: (n) => this.#stopping.releaseLease(n),
      reportToGitHub: () => this.#status.reportToGitHub(),
      waitUntil: (promise) => ctx.waitUntil(promise),
    };
    this.#branching = new RunBranching(run, ctx.storage.sql);
    this.#preparing = new RunPreparing(run);
    this.#judging = new RunJudging(run);
    this.#status = new RunStatusMachine(run, this.#branching, this.#judging);
    this.#reports = new ForkReporting(run, this.#branching);
    this.#launching = new RunLaunching(run, { branching: this.#branching, preparing: this.#preparing, waves: new RunWaves(run, this.#judging) });
    this.#stopping = new RunStopping(run, ctx.storage);
    this.#deletion = new RunDeletion(run, ctx, this.#events);
    this.#budget = new RunBudget(run, { stopping: this.#stopping, launching: this.#launching });
    this.#reconciling = new RunReconciling(run, { reports: this.#reports, stopping: this.#stopping, preparing: this.#preparing, judging: this.#judging });
    this.#control = new RunControl(run, { status: this.#status, launching: this.#launching, stopping: this.#stopping, view: () => this.#view() });
    this.#merging = new RunMerging(run, ctx.storage.sql);
    this.#live = new RunLiveOutput(this.#events, this.#store, () => loadConfig(env).LIVE_OUTPUT_INTERVAL_MS);
  }

  // ---- The run's API ----------------------------------------------------------------------------
  /**
   * Creates the run, or returns it when it exists (same Idempotency-Key, same request); refused once deleted. Crash-safe:
   * run row and alarm are written first, so the alarm drives it whatever crashes later; a replay drives it again.
   */
  create(input: CreateRunInput): Promise<Result<{ view: RunView; created: boolean }>> {
    return asResult(async () => {
      const existing = this.#store.run();
      if (existing) {
        if (existing.requestHash !== input.requestHash) {
          throw new ConflictError("idempotency_key_reused", "This Idempotency-Key was already used with a different request body.", { runId: existing.id });
        }
        if (!isTerminalRun(existing.status)) {
          // Makes sure an unfinished run is driven: alarm armed, launched forks' instances exist, queued ones launched.
          await this.#armAlarm();
          await this.#launching.relaunchLaunched();
          await this.#afterForkChange();
        }
        return { view: this.#view(), created: false };
      }
      await this.#deletion.refuseDeleted(input.id);
      this.#watch.markAwake();
      const now = new Date().toISOString();
      this.#store.insertRun(
        { id: input.id, request: input.request, sandbox: input.sandbox, requestHash: input.requestHash, idempotencyKey: input.idempotencyKey, status: "running", createdAt: now, updatedAt: now, codeVersion: input.codeVersion },
        input.branches,
      );
      this.#event("run.created", null, { forks: input.request.forks });
      await this.#armAlarm();
      log("info", "run.created", { runId: input.id, forks: input.request.forks, maxConcurrent: input.request.maxConcurrent });
      await this.#launching.launch();
      await this.#index.now();
      return { view: this.#view(), created: true };
    });
  }

  /** DELETE /v1/runs/:id (an ended run): tombstone, storage, alarm (run-deletion.ts); R2 and the index row: actions/delete-run.ts. */
  deleteRun(id: string, reason: DeleteReason): Promise<Result<RunWiped>> {
    return asResult(() => this.#deletion.delete(id, reason));
  }

  view(): RunView | null {
    this.#reports.writeStarts();
    return this.#store.view();
  }

  /** One fork with its commands' whole tails. */
  forkView(n: number): Result<ForkView> {
    return resultOf(() => {
      this.#reports.writeStarts();
      return this.#store.forkView(this.#requireFork(n).n) ?? notFound("fork", `${this.#requireRun().id}/${n}`);
    });
  }

  /** An agent fork's transcript, paged (GET …/forks/:n/transcript); its steps record it as they end. */
  forkTranscript(n: number, after: number, limit: number): Result<ForkTranscriptPage> {
    return resultOf(() => this.#store.transcript.page(this.#requireFork(n).n, after, limit));
  }

  /** An ended fork's kept sandbox (runs with keepSandboxes): its lease, for a session to take over. */
  keptSandbox(n: number): Result<{ leaseKey: string; until: string } | null> {
    return resultOf(() => keptLease(this.#requireFork(n)));
  }

  pause(): Promise<Result<RunView>> {
    return asResult(() => this.#control.pause());
  }

  resume(): Promise<Result<RunView>> {
    return asResult(() => this.#control.resume());
  }

  cancel(): Promise<Result<RunView>> {
    return asResult(() => this.#control.cancel());
  }

  cancelFork(n: number): Promise<Result<RunView>> {
    return asResult(() => this.#control.cancelFork(n));
  }

  /** Raises the run's budget; forks stopped for budget continue where they stopped (run-budget.ts). */
  raiseBudget(budgetUsd: number): Promise<Result<RunView>> {
    return asResult(async () => (await this.#budget.raise(budgetUsd), this.#view()));
  }

  /** Records a pick (…/pick, a `/pick` comment: actions/pick.ts opened its PR); `winner` stays the ranking's. */
  recordPick(picked: RunPick): Result<void> {
    return resultOf(() => {
      this.#requireRun();
      this.#store.setPicked(picked);
      const { n, at: _at, ...rest } = picked;
      this.#event("run.picked", n, rest);
    });
  }

  /** New forks from fork n as it is now (POST …/forks/:n/branch, a /refork comment). */
  branch(n: number, request: BranchRequest, idempotencyKey?: string): Promise<Result<BranchResponse>> {
    return asResult(() => this.#branching.request(n, request, idempotencyKey));
  }

  /** A new fork from the base whose agent combines the chosen forks' patches (POST …/merge: merging.ts). */
  merge(request: MergeRequest, idempotencyKey?: string): Promise<Result<MergeResponse>> {
    return asResult(() => this.#merging.request(request, idempotencyKey));
  }

  /** An LLM judging of the ended run's forks that succeeded (POST …/judge). */
  judge(request?: JudgeRequest): Promise<Result<RunView>> {
    return asResult(async () => {
      await this.#judging.start(request ?? this.#requireRun().request.judge ?? { llm: {} });
      return this.#view();
    });
  }

  /** GET /events: the run's event log from after Last-Event-ID, then live events until the run ends. */
  override async fetch(request: Request): Promise<Response> {
    if (request.method !== "GET" || new URL(request.url).pathname !== "/events" || !this.#store.run()) return new Response("not found", { status: 404 });
    return this.#events.response(request, this.#store.countUnfinished() > 0, () => this.#live.snapshot());
  }

  // ---- ForkReports: a fork's Workflow (fork-reports.ts) -------------------------------------------

  forkBegin(n: number, instanceId: string, step?: StepRecord, withTask?: boolean): Promise<Result<ForkBegun>> {
    return asResult(async () => this.#reports.forkBegin(n, instanceId, step, withTask));
  }

  stepStarted(n: number, name: string, attempt: number): { proceed: boolean; budgetSpent: boolean; branch?: boolean } {
    return this.#reports.stepStarted(n, name, attempt);
  }

  forkAlive(n: number): StepGate {
    return this.#reports.forkAlive(n);
  }

  stepFinished(n: number, name: string, report: StepReport): { branch?: boolean } {
    return this.#reports.stepFinished(n, name, report);
  }

  /** A running step's output: to watchers as `command.output` (not logged), bounded per fork and run. */
  forkOutput(n: number, chunks: OutputChunk[], final?: boolean): { nextInMs: number } {
    return this.#live.accept(n, chunks, final);
  }

  reserveModelCall(n: number, key: string, expectedUsd: number, call?: { maxTokens: number; inputTokensEstimate: number }): Result<void> {
    return resultOf(() => this.#reports.reserveModelCall(n, key, expectedUsd, call));
  }

  releaseReservation(key: string): void {
    this.#store.ledger.release(key);
  }

  recordModelCost(n: number, key: string, usd: number): void {
    this.#reports.recordModelCost(n, key, usd);
  }

  recordTranscript(n: number, records: TranscriptRecord[]): void {
    this.#store.transcript.record(n, records, new Date().toISOString());
  }

  forkAwaitingBudget(n: number): Promise<void> {
    return this.#budget.forkAwaiting(n);
  }

  forkContinues(n: number): void {
    this.#budget.forkContinues(n);
  }

  forkContinue(n: number, from: string, next: ForkContinuationRef): Promise<Result<{ instanceId: string }>> {
    return asResult(() => this.#launching.continueFork(n, from, next));
  }

  forkFinished(outcome: ForkOutcome, step?: StepRecord): Promise<Result<void>> {
    return asResult(() => this.#reports.forkFinished(outcome, step));
  }

  // ---- BranchReports, PrepareReports, JudgeReports: branching.ts, preparing.ts, run-judging.ts ----
  /** Fork n at a step boundary takes its waiting branches: their new forks' leases, to fork its sandbox under. */
  branchClaim(n: number, mark: BranchMark): Result<(ClaimedBranch & { leases: LeaseRequest[] })[]> {
    return resultOf(() => this.#branching.claim(n, mark));
  }

  branchWaiting(n: number, afterStep: string): Result<boolean> {
    return resultOf(() => this.#branching.waitingAfter(n, afterStep));
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

  judgeInput(k: number): Result<JudgeInput> {
    return resultOf(() => this.#judging.input(k));
  }

  judged(k: number, scores: Judgement[], tournament?: TournamentResult): Promise<Result<void>> {
    return asResult(() => this.#judging.judged(k, scores, tournament));
  }

  judgeFailed(k: number, error: { code: string; message: string }): Promise<void> {
    return this.#judging.failed(k, error);
  }

  judgeStepFinished(k: number, name: string, report: StepReport): void {
    this.#judging.stepFinished(k, name, report);
  }

  judgeAlive(k: number): void {
    this.#judging.alive(k);
  }

  // ---- The alarm (reconciling.ts) and the run's state machine --------------------------------------
  override async alarm(): Promise<void> {
    const run = this.#store.run();
    if (!run) return;
    if (run.stopPending) await this.#stopping.stopCancelledRun();
    await this.#reconciling.round();
    await this.#armAlarm();
  }

  async #armAlarm(): Promise<void> {
    const run = this.#store.run();
    if (!run) return;
    if (this.#store.countUnfinished() === 0 && run.judging?.status !== "running") return;
    await this.#watch.armActive();
  }

  async #afterForkChange(): Promise<void> {
    this.#branching.settleEndedParents();
    await this.#stopping.stopLosers();
    await this.#launching.launch();
    await this.#status.maybeFinish();
    this.#index.soon();
  }

  #event(type: string, fork: number | null, data: Record<string, unknown>, at = Date.now()): void {
    this.#events.emit(type, fork, data, at);
    if (type === "run.finished") this.#events.closeAll();
  }

  #requireRun() {
    // Routes answer this with the run id they asked for (routes/runs.ts).
    return this.#store.run() ?? notFound("run", "");
  }

  #requireFork(n: number) {
    return this.#store.fork(n) ?? notFound("fork", `${this.#requireRun().id}/${n}`);
  }

  #view(): RunView {
    this.#reports.writeStarts();
    return this.#store.view() ?? notFound("run", "(uninitialised orchestrator)");
  }
}
