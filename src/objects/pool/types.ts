import type { SandboxHandle } from "../../sandbox/handle";
import type { PoolTemplateStatus } from "../../api/pool";
import type { NetworkPolicy } from "../../api/network-policy";

/** A sandbox forked for a lease; `forkedNow` false when this call found it forked already. */
export interface ForkedChild {
  key: string;
  sandboxId: string;
  handle: SandboxHandle;
  forkedNow: boolean;
}

export interface LeaseRequest {
  /** Holder identity; one lease (and one sandbox) per key, whatever the number of attempts. */
  key: string;
  runId: string;
  fork: number;
  template: string;
  timeoutSeconds: number;
  /** The holder's Workflow instance: told (CAPACITY_EVENT) when its turn for capacity comes. */
  instanceId?: string;
  /** A session's sandbox lives as long as the session (no max age); a run's, as long as its fork. */
  holder?: LeaseHolder;
  /** The Workflow `instanceId` belongs to (default: a fork's, or a session's for a session holder). */
  workflow?: HolderWorkflow;
  /** Outbound network rules the sandbox is created with (never a warm one: those have the default). */
  network?: NetworkPolicy;
  /** `background` (an eval's runs): waits for capacity behind every interactive holder. Default interactive. */
  priority?: LeasePriority;
}

export type LeasePriority = "interactive" | "background";

/** A priority's rank in the queue: lower goes first. */
export const priorityRank = (priority: LeasePriority | undefined): number => (priority === "background" ? 1 : 0);

export type HolderWorkflow = "fork" | "session" | "prepare" | "eval";

export type LeaseHolder = "run" | "session";

export type AcquireOutcome =
  | { status: "acquired"; sandboxId: string; acquiredAt: number; adopted: boolean; handle: SandboxHandle }
  | { status: "wait"; retryAfterMs: number; reason: "capacity" | "rate" | "provider_rate_limit"; position?: number };

export interface ReleaseOutcome {
  sandboxId: string | null;
  aliveSeconds: number;
  killed: boolean;
  /** The kill failed: the Pool retries it (its alarm and the reaper) until the sandbox is gone. */
  killPending?: boolean;
}

export interface ReapedSandbox {
  sandboxId: string;
  runId: string | null;
  reason: "no_lease" | "run_finished" | "max_age" | "keep_expired";
}

/** A lease the reaper settled: its sandbox was gone (capacity freed) or a failed kill now succeeded. */
export interface FreedLease {
  key: string;
  sandboxId: string | null;
  reason: "sandbox_gone" | "kill_retried";
}

export interface ReapReport {
  killed: ReapedSandbox[];
  freed: FreedLease[];
}

export type LeaseState = "creating" | "active" | "paused" | "released";

export interface PoolStatus {
  maxLiveSandboxes: number;
  createRatePerSecond: number;
  live: number;
  creating: number;
  paused: number;
  /** Holders waiting for capacity, in arrival order. */
  waiting: number;
  reapedTotal: number;
  /** The warm pool per template: its config, warm sandboxes, hits and misses, acquire latency, overhead. */
  templates: Record<string, PoolTemplateStatus>;
  leases: { key: string; runId: string; fork: number; sandboxId: string | null; state: LeaseState; acquiredAt: string | null }[];
}

export interface LeaseRow extends Record<string, SqlStorageValue> {
  key: string;
  run_id: string;
  fork: number;
  sandbox_id: string | null;
  state: LeaseState;
  created_at: number;
  acquired_at: number | null;
  released_at: number | null;
  paused_at: number | null;
  paused_ms: number;
  /** 1 when the lease was released but killing its sandbox failed: retried, and still counted live. */
  kill_pending: number;
  /** The sandbox's SandboxHandle (JSON), so a holder asking again needs no control-plane call. */
  handle: string | null;
  holder: LeaseHolder;
  /** A finished fork's sandbox kept (paused) until then, for a session to continue it; null otherwise. */
  kept_until: number | null;
}

/** A holder queued for capacity (first come, first served across runs). */
export interface WaiterRow extends Record<string, SqlStorageValue> {
  seq: number;
  key: string;
  run_id: string;
  instance_id: string | null;
  enqueued_at: number;
  notified_at: number | null;
  /** The Workflow its instance belongs to: `run` (a fork's), `session` or `prepare`. */
  holder: string;
  /** priorityRank of its request: the queue is ordered by priority, then arrival. */
  priority: number;
}

/** Seconds a lease's sandbox ran (billed by E2B): from acquisition to release, minus paused time. */
export function billableSeconds(lease: LeaseRow, now: number): number {
  if (!lease.acquired_at) return 0;
  const end = lease.released_at ?? now;
  const paused = lease.paused_ms + (lease.paused_at !== null && lease.released_at === null ? now - lease.paused_at : 0);
  return Math.max(0, (end - lease.acquired_at - paused) / 1000);
}
