import type { NetworkPolicy } from "../../api/network-policy";
import { asResult, ConflictError, type Result } from "../../core/errors";
import { errorFields, log } from "../../observability/log";
import type { SandboxBackend } from "../../sandbox/backend";
import type { SandboxHandle } from "../../sandbox/handle";
import { Capacity } from "./capacity";
import { CreateRate } from "./create-rate";
import { LeaseStore } from "./lease-store";
import { billableSeconds, type AcquireOutcome, type FreedLease, type LeaseRow, type ReleaseOutcome, type WaiterRow } from "./types";
import { WarmStore } from "./warm-store";

/** How soon the Pool's alarm retries kills that failed. */
export const KILL_RETRY_MS = 30_000;

/** Time as the Pool's logic sees it: injected, so tests drive it without waiting. */
export interface PoolClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export interface PoolSettings {
  maxLiveSandboxes: number;
  createRatePerSecond: number;
  reaperMaxAgeSeconds: number;
  /** A lease whose sandbox the provider no longer lists is freed if it was acquired this long before the listing (REAPER_GONE_GRACE_SECONDS). */
  reaperGoneGraceMs: number;
  /** The rules of sandboxes whose holder gives none, warm ones included (api/network-policy.ts deploymentNetwork). */
  defaultNetwork?: NetworkPolicy;
}

/** What the Pool's logic needs from the Durable Object around it (and from the rest of the Worker). */
export interface PoolHost {
  /** Keeps the object alive for work that outlasts the call. */
  waitUntil(promise: Promise<unknown>): void;
  /** Makes sure the object's alarm fires within `ms`. */
  armAlarmWithin(ms: number): Promise<void>;
  /** Tells a waiter's Workflow instance its turn for capacity came; throws when the instance is gone. */
  notify(waiter: WaiterRow): Promise<void>;
  /** Which of these runs have finished. */
  finishedRuns(runIds: string[]): Promise<Set<string>>;
  /** Warm-pool entries (template ids, aliases, profiles) to the template ids they name now. */
  resolveEntries(entries: string[]): Promise<Map<string, string>>;
  /** The price of this many sandbox-seconds. */
  costOf(seconds: number): number;
}

export interface PoolDeps {
  sql: SqlStorage;
  backend: () => SandboxBackend;
  clock: PoolClock;
  settings: () => PoolSettings;
  host: PoolHost;
}

/**
 * What the Pool's parts share: its stores, the cap and queue, the creation rate, the acquisitions
 * in flight, and the steps several of them take (activate a lease, release one, tell waiters).
 */
export class PoolCore {
  readonly leases: LeaseStore;
  readonly warm: WarmStore;
  readonly capacity: Capacity;
  readonly rate: CreateRate;
  readonly inflight = new Map<string, Promise<Result<AcquireOutcome>>>();
  readonly clock: PoolClock;
  readonly host: PoolHost;
  readonly settings: () => PoolSettings;
  readonly #backend: () => SandboxBackend;

  constructor(deps: PoolDeps) {
    this.leases = new LeaseStore(deps.sql);
    this.warm = new WarmStore(deps.sql);
    this.capacity = new Capacity(this.leases, this.warm, () => deps.settings().maxLiveSandboxes);
    this.rate = new CreateRate(() => deps.settings().createRatePerSecond);
    this.clock = deps.clock;
    this.host = deps.host;
    this.settings = deps.settings;
    this.#backend = deps.backend;
  }

  get backend(): SandboxBackend {
    return this.#backend();
  }

  now(): number {
    return this.clock.now();
  }

  /** Runs one holder's acquisition; a second ask for the same key meanwhile joins it. */
  track(key: string, work: () => Promise<AcquireOutcome>): Promise<Result<AcquireOutcome>> {
    const attempt = asResult(work).finally(() => this.inflight.delete(key));
    this.inflight.set(key, attempt);
    this.host.waitUntil(attempt);
    return attempt;
  }

  requireLease(key: string): LeaseRow {
    const lease = this.leases.get(key);
    if (!lease || !lease.sandbox_id || lease.state === "released" || lease.state === "creating") {
      throw new ConflictError("lease_not_active", `No sandbox is held under lease ${key}.`);
    }
    return lease;
  }

  /** A reserved lease gets its sandbox; one released meanwhile (a cancelled fork) has it killed instead. */
  async activate(key: string, handle: SandboxHandle, adopted: boolean): Promise<AcquireOutcome> {
    const sandboxId = handle.sandboxId;
    const lease = this.leases.get(key);
    if (!lease || lease.state === "released") {
      await this.backend.kill(sandboxId).catch((err) => log("warn", "pool.kill_failed", { sandboxId, ...errorFields(err) }));
      throw new ConflictError("lease_released", `The sandbox lease ${key} was released while its sandbox was being created.`);
    }
    const now = this.now();
    this.leases.activate(key, sandboxId, JSON.stringify(handle), now);
    log("info", "pool.sandbox_acquired", { leaseKey: key, runId: lease.run_id, fork: lease.fork, sandboxId, adopted });
    return { status: "acquired", sandboxId, acquiredAt: now, adopted, handle };
  }

  /** Releases a holder's lease and kills its sandbox. Idempotent; unknown keys are a no-op. */
  async release(key: string): Promise<ReleaseOutcome> {
    const lease = this.leases.get(key);
    if (!lease) return { sandboxId: null, aliveSeconds: 0, killed: false };
    const aliveSeconds = billableSeconds(lease, this.now());
    if (lease.state === "released") return { sandboxId: lease.sandbox_id, aliveSeconds, killed: false };
    let killed = false;
    let killPending = false;
    if (lease.sandbox_id) {
      try {
        killed = await this.backend.kill(lease.sandbox_id);
      } catch (err) {
        // The holder is done either way; the Pool owns the kill from here (alarm, reaper), and the
        // sandbox keeps counting against the cap until it is gone.
        killPending = true;
        log("error", "pool.kill_failed", { leaseKey: key, runId: lease.run_id, fork: lease.fork, sandboxId: lease.sandbox_id, ...errorFields(err) });
      }
    }
    this.leases.leave(key, "released", this.now());
    this.leases.dequeue(key);
    this.capacityFreed();
    if (killPending) {
      this.leases.setKillPending(key, true);
      await this.host.armAlarmWithin(KILL_RETRY_MS);
    }
    log("info", "pool.sandbox_released", { leaseKey: key, runId: lease.run_id, fork: lease.fork, sandboxId: lease.sandbox_id, killed, killPending, aliveSeconds });
    return { sandboxId: lease.sandbox_id, aliveSeconds, killed, ...(killPending ? { killPending } : {}) };
  }

  /** Retries kills that failed at release; a sandbox that no longer exists counts as killed. */
  async retryKills(): Promise<FreedLease[]> {
    const freed: FreedLease[] = [];
    for (const lease of this.leases.killPending()) {
      try {
        if (lease.sandbox_id) await this.backend.kill(lease.sandbox_id);
        this.leases.setKillPending(lease.key, false);
        freed.push({ key: lease.key, sandboxId: lease.sandbox_id, reason: "kill_retried" });
        log("info", "pool.kill_retried", { leaseKey: lease.key, sandboxId: lease.sandbox_id });
      } catch (err) {
        log("warn", "pool.kill_failed", { leaseKey: lease.key, sandboxId: lease.sandbox_id, ...errorFields(err) });
      }
    }
    return freed;
  }

  /** Tells the waiters whose turn has come (as many as there is free capacity), first in first. */
  async notifyWaiters(): Promise<void> {
    const due = this.capacity.takeDue(this.now());
    await Promise.all(
      due.map(async (w) => {
        try {
          await this.host.notify(w);
        } catch (err) {
          // An instance that is gone (terminated, cancelled) gives up its place.
          log("info", "pool.waiter_dropped", { leaseKey: w.key, ...errorFields(err) });
          this.leases.dequeue(w.key);
        }
      }),
    );
    if (due.length > 0) log("info", "pool.waiters_notified", { count: due.length });
  }

  /** Capacity may have freed: the next waiters are told, without holding up the caller. */
  capacityFreed(): void {
    this.host.waitUntil(this.notifyWaiters().catch((err) => log("warn", "pool.notify_failed", errorFields(err))));
  }
}

/** A create's `network` field: the rules, when there are any. */
export function networkOf(rules: NetworkPolicy | undefined): { network?: NetworkPolicy } {
  return rules ? { network: rules } : {};
}
