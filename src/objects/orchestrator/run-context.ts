import type { RunStatus } from "../../api/runs";
import type { Env } from "../../core/env";
import type { ForkParams } from "../../protocol/fork-params";
import type { ForkRow, RunRecord, RunStore } from "./run-store";

/**
 * What the parts of a run that live beside its Orchestrator (branching, preparing, judging) use of
 * it: its state, its event log, and the moves that keep the run going. The Orchestrator Durable
 * Object is the only implementation; the parts hold no state of their own beyond their tables.
 */
export interface RunContext {
  readonly env: Env;
  readonly store: RunStore;
  /** The run (throws not_found when the object holds none). */
  run(): RunRecord;
  event(type: string, fork: number | null, data: Record<string, unknown>): void;
  /** Stops losers, launches what may launch, ends the run when every fork has ended, indexes soon. */
  afterForkChange(): Promise<void>;
  setStatus(status: RunStatus): Promise<void>;
  armAlarm(): Promise<void>;
  /** What fork `fork`'s Workflow instance is created with. */
  forkParams(fork: ForkRow): ForkParams;
  /** Books a cost once per key. */
  addCost(key: string, n: number, kind: "sandbox" | "llm", usd: number): void;
  /** Releases fork n's sandbox lease (and books its time). */
  releaseLease(n: number): Promise<void>;
  syncIndex(): Promise<void>;
  reportToGitHub(): Promise<void>;
  /** Keeps the object alive for work that finishes after the call that started it answered. */
  waitUntil(promise: Promise<unknown>): void;
}
