import type { RunStatus } from "../../api/runs";
import type { Env } from "../../core/env";
import type { ForkParams } from "../../protocol/fork-params";
import type { ForkOutcome } from "../../runs/fork-outcome";
import type { CostKind } from "../shared/budget-ledger";
import type { IndexSync } from "../shared/index-sync";
import type { InstanceWatch } from "../shared/instance-watch";
import type { ForkRow, RunRecord, RunStore } from "./run-store";

/**
 * What the parts of a run that live beside its Orchestrator (reports, launching, stopping,
 * reconciling, branching, preparing, judging) use of it: its state, its event log, and the moves
 * that keep the run going. The Orchestrator Durable Object is the only implementation; the parts
 * hold no state of their own beyond their tables and what is kept in memory.
 */
export interface RunContext {
  readonly env: Env;
  readonly store: RunStore;
  /** The forks' instances: alarm, heartbeats, pokes. */
  readonly watch: InstanceWatch;
  /** The run's row in the D1 index. */
  readonly index: IndexSync;
  /** The run (throws not_found when the object holds none). */
  run(): RunRecord;
  event(type: string, fork: number | null, data: Record<string, unknown>, at?: number): void;
  /** Stops losers, launches what may launch, ends the run when every fork has ended, indexes soon. */
  afterForkChange(): Promise<void>;
  /** A run's end is indexed at once (unless `indexNow: false`: the caller does it), other changes soon. */
  setStatus(status: RunStatus, options?: { indexNow?: boolean }): Promise<void>;
  armAlarm(): Promise<void>;
  /** What fork `fork`'s Workflow instance is created with. */
  forkParams(fork: ForkRow): ForkParams;
  /** Books a cost once per key. */
  addCost(key: string, n: number, kind: CostKind, usd: number): void;
  /** A fork's final outcome (from its report, or read from its ended instance). */
  applyOutcome(outcome: ForkOutcome): void;
  /** Releases fork n's sandbox lease (and books its time). */
  releaseLease(n: number): Promise<void>;
  reportToGitHub(): Promise<void>;
  /** Keeps the object alive for work that finishes after the call that started it answered. */
  waitUntil(promise: Promise<unknown>): void;
}
