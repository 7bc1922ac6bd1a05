/**
 * The roles a Durable Object plays for the Workflows it launches: the RPC methods their steps call
 * back (types only; the objects implement them, and a workflow can type its stub against just the
 * role it needs). Names and behaviour are stable: instances in flight call them across deploys, so
 * a method is only ever added, never renamed or repurposed. Every callback may arrive more than
 * once (a step body may run again) and is harmless when it does.
 */
import type { PreparedView, Task } from "../api/runs";
import type { Exchange, ModelTurn, ToolTurn } from "../agent/conversation";
import type { ToolCall } from "../agent/tools";
import type { Result } from "../core/errors";
import type { ForkOutcome } from "../runs/fork-outcome";
import type { TranscriptRecord } from "../runs/fork-transcript";
import type { JudgeInput, Judgement } from "../runs/judging";
import type { TournamentResult } from "../runs/tournament";
import type { SandboxHandle } from "../sandbox/handle";
import type { BranchMark, ClaimedBranch } from "../objects/orchestrator/branch-store";
import type { LeaseRequest } from "../objects/pool/pool";
import type { PrepareInfo } from "../workflows/prepare-workflow";
import type { RebuildPlan, SetupInfo, SetupOutcome, TurnContinuationRef, TurnOutcome, TurnStart } from "./session-job";
import type { OutputChunk } from "./live-output";
import type { StepRecord, StepReport } from "./step-reports";
import type { ForkContinuationRef } from "./fork-params";

export type { ForkContinuationRef };

/** A step's gate: whether it may run (not cancelled) and whether the budget is spent. */
export interface StepGate {
  proceed: boolean;
  budgetSpent: boolean;
}

/** What a model call asks of the object that holds the budget (a run or a session). */
export interface BudgetHolder {
  /** Before a model call: reserves its expected cost, or fails with budget_exceeded when it does not fit. */
  reserveModelCall(owner: number, key: string, expectedUsd: number): Result<void> | Promise<Result<void>>;
  /** A model call that failed (or never happened) gives its reservation back. */
  releaseReservation(key: string): void | Promise<void>;
}

/** What forkBegin answers. */
export interface ForkBegun {
  startedAt: number;
  task?: Task;
}

/** A fork's Workflow (src/workflows/fork-workflow.ts) reporting to its run's Orchestrator. */
export interface ForkReports extends BudgetHolder {
  /**
   * The budget step: may this fork start? Its stable start time; with `withTask`, the run's task
   * (instances launched since tasks are passed by reference have none in their params).
   */
  forkBegin(n: number, instanceId: string, step?: StepRecord, withTask?: boolean): Promise<Result<ForkBegun>>;
  stepStarted(n: number, name: string, attempt: number): StepGate & { branch?: boolean };
  /** A long step's heartbeat: books sandbox time; answers whether the step's command may go on. */
  forkAlive(n: number): StepGate | void;
  /** A running step's live output (coalesced; live only, not logged; `final`: its command ended): answers the interval the fork should keep to. */
  forkOutput(n: number, chunks: OutputChunk[], final?: boolean): { nextInMs: number };
  stepFinished(n: number, name: string, report: StepReport): { branch?: boolean };
  /**
   * Near its instance's step limit, fork n (running as instance `from`) goes on in its continuation
   * instance: the Orchestrator points the fork at it and creates it (once: a fixed id per fork and k).
   */
  forkContinue(n: number, from: string, next: ForkContinuationRef): Promise<Result<{ instanceId: string }>>;
  /** A model call's real cost, once per key. */
  recordModelCost(n: number, key: string, usd: number): void;
  /** An agent step's transcript records, as the step ends (keyed by step name: a re-run replaces). */
  recordTranscript(n: number, records: TranscriptRecord[]): void;
  /** Stopped for budget: the fork waits for a raise with its sandbox paused. */
  forkAwaitingBudget(n: number): Promise<void>;
  forkContinues(n: number): void;
  /** The report step: the fork's final outcome. */
  forkFinished(outcome: ForkOutcome, step?: StepRecord): Promise<Result<void>>;
}

/** A fork at a step boundary taking the branches asked of it (src/workflows/fork-branching.ts). */
export interface BranchReports {
  branchClaim(n: number, mark: BranchMark): Result<(ClaimedBranch & { leases: LeaseRequest[] })[]>;
  /**
   * What fork n's step `afterStep` was answered when it reported its end: whether a branch of the
   * fork waited then (still not taken). Asked at a boundary after a replayed step, whose answer is lost.
   */
  branchWaiting(n: number, afterStep: string): Result<boolean>;
  branchDeferred(k: number): void;
  branchForked(k: number, turn: number, stateKey: string): Promise<Result<void>>;
  branchFailed(k: number, error: { code: string; message: string }): Promise<Result<void>>;
}

/** A run's prepare Workflow (src/workflows/prepare-workflow.ts). */
export interface PrepareReports {
  prepareInfo(): Result<PrepareInfo>;
  prepareStepStarted(name: string, attempt: number): StepGate;
  prepareStepFinished(name: string, report: StepReport): void;
  prepared(outcome: PreparedView, sandboxSeconds: number): Promise<Result<void>>;
}

/** A run's judge Workflow (src/workflows/judge-workflow.ts). */
export interface JudgeReports extends BudgetHolder {
  judgeInput(k: number): Result<JudgeInput>;
  recordModelCost(n: number, key: string, usd: number): void;
  judged(k: number, scores: Judgement[], tournament?: TournamentResult): Promise<Result<void>>;
  judgeFailed(k: number, error: { code: string; message: string }): Promise<void>;
  judgeStepFinished(k: number, name: string, report: StepReport): void;
  judgeAlive(k: number): void;
}

/** A session's setup and turn Workflow (src/workflows/session-turn-workflow.ts) reporting to its Session. */
export interface SessionTurnReports extends BudgetHolder {
  setupInfo(): Result<SetupInfo>;
  setupFinished(outcome: SetupOutcome): Promise<Result<void>>;
  beginTurn(n: number, instanceId: string): Promise<Result<TurnStart>>;
  /** Step `step` of running turn n (a tool call, the work branch, a fork at a step boundary, a budget wait's resume) found the sandbox gone: how the turn rebuilds it (its finished calls replayed too). */
  rebuildDuringTurn(n: number, step: string): Promise<Result<RebuildPlan>>;
  history(n: number): Result<Exchange[]>;
  stepStarted(turn: number, name: string, attempt: number): StepGate;
  /** Answers `branch` when new sessions wait for the running turn's next step boundary. */
  stepFinished(turn: number, name: string, report: StepReport): { branch?: boolean };
  /** A running step's heartbeat (every third of STALE_FORK_SECONDS): the turn's instance is alive. */
  turnAlive(turn?: number): StepGate | void;
  /** At a step boundary of turn n: makes the new sessions asked for meanwhile (`lost`: the sandbox is gone; rebuilt, the turn asks again). */
  forkAtBoundary(n: number): Promise<{ sessions: string[]; lost?: true }>;
  /** A forked session's first turn checked out its own work branch. */
  branchSwitched(): void;
  /** Turn n's instance `from` nears its step limit: the turn goes on in instance `<base>-c<k>`, launched here. */
  continueTurn(n: number, from: string, next: TurnContinuationRef): Promise<Result<{ instanceId: string }>>;
  recordModelCall(turn: number, k: number, key: string, model: ModelTurn, usd: number): void;
  recordToolCall(turn: number, k: number, index: number, call: ToolCall & { id: string }, result: ToolTurn): void;
  awaitBudget(turn: number): Promise<Result<void>>;
  resumeForTurn(turn: number): Promise<Result<SandboxHandle>>;
  turnFinished(outcome: TurnOutcome): Promise<Result<void>>;
}
