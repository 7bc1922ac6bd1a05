import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { loadConfig } from "../env";
import { asResult, ConflictError, InvalidInputError, RateLimitedError, type Result } from "../errors";
import { errorFields, log } from "../observability/log";
import { sandboxConnection } from "../sandbox/connection";
import { sandboxMetadata, SANDBOX_TAG } from "../sandbox/metadata";
import type { SandboxHandle } from "../sandbox/handle";
import { SandboxProvider } from "../sandbox/provider";
import { addColumnOnce } from "./sql";
import { TERMINAL_RUN_STATUSES } from "../api/runs";
import type { PoolTemplateConfig, PoolTemplateStatus } from "../api/pool";
import { sandboxCostUsd } from "../runs/costs";
import { WarmStore, type WarmRow } from "./warm-store";
import { PROFILE_NAMES, resolveProfiles, type ProfileName } from "../sandbox/profiles";
import { TemplateAliases } from "../sandbox/template-aliases";

/** The one Pool object of a deployment. */
export const POOL_NAME = "global";

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
}

export type HolderWorkflow = "fork" | "session" | "prepare";

export type LeaseHolder = "run" | "session";

/** The event a fork waiting for capacity waits on; the Pool sends it in arrival order across runs. */
export const CAPACITY_EVENT = "capacity";

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

type LeaseState = "creating" | "active" | "paused" | "released";

interface LeaseRow extends Record<string, SqlStorageValue> {
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

/** Longest a caller is kept waiting inside one acquire call for its creation-rate slot. */
const MAX_INLINE_RATE_WAIT_MS = 1500;
/** A lease stuck in `creating` this long without a sandbox is given up (its capacity freed). */
const STALE_CREATING_MS = 15 * 60_000;
/** How soon the Pool's alarm retries kills that failed. */
const KILL_RETRY_MS = 30_000;
/** A waiter told of its turn that has not come for it within this is told again (the event may be lost). */
const RENOTIFY_MS = 15_000;
/** How often the alarm looks after the warm pool while it has a config or sandboxes. */
const WARM_CHECK_MS = 5_000;
/** A warm sandbox's E2B timeout beyond its idle time: E2B itself kills one the Pool lost track of. */
const WARM_TTL_MARGIN_SECONDS = 120;
/** A warm create with no answer for this long is given up (a restarted Pool; the reaper kills what it made). */
const STALE_WARM_CREATING_MS = 5 * 60_000;

/**
 * Pool Durable Object: the only creator of sandboxes. It keeps the lease table
 * (sandbox -> holder), enforces the live-sandbox cap and the creation rate, honours the provider's
 * 429s, and makes acquisition idempotent: a holder whose earlier attempt lost the provider's answer
 * finds that sandbox by its metadata instead of creating a second one. It keeps warm sandboxes per
 * template (WarmStore): acquire hands out a warm one before creating, and the alarm refills and
 * trims them.
 */
export class Pool extends DurableObject<Env> {
  readonly #inflight = new Map<string, Promise<Result<AcquireOutcome>>>();
  #nextCreateSlot = 0;
  #blockedUntil = 0;
  readonly #warm: WarmStore;
  #maintaining: Promise<void> | undefined;
  /** Each warm-pool entry (template id, alias or profile) resolved to a template id at the last pass. */
  #entryIds = new Map<string, string>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS leases (
      key TEXT PRIMARY KEY,
      run_id TEXT NOT NULL,
      fork INTEGER NOT NULL,
      sandbox_id TEXT,
      state TEXT NOT NULL CHECK (state IN ('creating','active','paused','released')),
      created_at INTEGER NOT NULL,
      acquired_at INTEGER,
      released_at INTEGER,
      paused_at INTEGER,
      paused_ms INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX IF NOT EXISTS leases_state ON leases (state);
    CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS leases_run ON leases (run_id);`);
    addColumnOnce(ctx.storage.sql, "leases", "kill_pending INTEGER NOT NULL DEFAULT 0");
    addColumnOnce(ctx.storage.sql, "leases", "handle TEXT");
    addColumnOnce(ctx.storage.sql, "leases", "holder TEXT NOT NULL DEFAULT 'run'");
    addColumnOnce(ctx.storage.sql, "leases", "kept_until INTEGER");
    // With leases_state, the live count (state IN … OR kill_pending = 1) reads live leases only, not every lease ever held.
    ctx.storage.sql.exec("CREATE INDEX IF NOT EXISTS leases_kill_pending ON leases (kill_pending)");
    // Holders waiting for capacity, first come first served across runs (seq = arrival order).
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS waiters (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      key TEXT NOT NULL UNIQUE,
      run_id TEXT NOT NULL,
      instance_id TEXT,
      enqueued_at INTEGER NOT NULL,
      notified_at INTEGER
    )`);
    ctx.storage.sql.exec("CREATE INDEX IF NOT EXISTS leases_sandbox ON leases (sandbox_id)");
    // Which Workflow the waiter's instance belongs to: `run` (a fork's), `session` (a session's setup) or `prepare`.
    addColumnOnce(ctx.storage.sql, "waiters", "holder TEXT NOT NULL DEFAULT 'run'");
    this.#warm = new WarmStore(ctx.storage.sql);
  }

  #config() {
    return loadConfig(this.env);
  }

  #provider(): SandboxProvider {
    return new SandboxProvider(sandboxConnection(this.#config()));
  }

  #lease(key: string): LeaseRow | undefined {
    return this.ctx.storage.sql.exec<LeaseRow>("SELECT * FROM leases WHERE key = ?", key).toArray()[0];
  }

  #leaseOfSandbox(sandboxId: string): LeaseRow | undefined {
    return this.ctx.storage.sql.exec<LeaseRow>("SELECT * FROM leases WHERE sandbox_id = ? AND state != 'released'", sandboxId).toArray()[0];
  }

  /** Sandboxes that count against the cap: being created, running, or released with their kill still pending. */
  #liveCount(): number {
    return this.ctx.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM leases WHERE state IN ('creating','active') OR kill_pending = 1").one().n + this.#warm.liveCount();
  }

  #freeCapacity(): number {
    return this.#config().MAX_LIVE_SANDBOXES - this.#liveCount();
  }

  /** A new lease fits now: free capacity and nobody queued for it. */
  #hasRoomNow(): boolean {
    return this.ctx.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM waiters").one().n === 0 && this.#freeCapacity() > 0;
  }

  /** Acquire a sandbox for a holder, or be told how long to wait for capacity. Idempotent per key. */
  acquire(request: LeaseRequest): Promise<Result<AcquireOutcome>> {
    return this.#inflight.get(request.key) ?? this.#track(request.key, () => this.#acquire(request));
  }

  /** Runs one holder's acquisition; a second ask for the same key meanwhile joins it. */
  #track(key: string, work: () => Promise<AcquireOutcome>): Promise<Result<AcquireOutcome>> {
    const attempt = asResult(work).finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, attempt);
    this.ctx.waitUntil(attempt);
    return attempt;
  }

  /**
   * Hands the holder a warm sandbox of its template, if there is one: a running one at once (its
   * timeout set to the holder's), a paused one resumed (only when there is room for it). Null on
   * a miss, or when the warm sandbox turned out to be gone (then the holder gets a cold one).
   */
  async #fromWarm(request: LeaseRequest): Promise<AcquireOutcome | null> {
    const started = Date.now();
    const row = this.#warm.take(request.template, this.#hasRoomNow(), started);
    if (!row) {
      this.#warm.miss(this.#entryOf(request.template));
      return null;
    }
    // The lease takes over the sandbox in the same write that takes it out of the pool.
    this.ctx.storage.sql.exec(
      "INSERT INTO leases (key, run_id, fork, sandbox_id, state, created_at, acquired_at, handle, holder) VALUES (?, ?, ?, ?, 'active', ?, ?, ?, ?)",
      request.key,
      request.runId,
      request.fork,
      row.sandbox_id,
      started,
      started,
      row.handle,
      request.holder ?? "run",
    );
    const provider = this.#provider();
    let handle = JSON.parse(row.handle!) as SandboxHandle;
    if (row.state === "paused") {
      try {
        handle = await provider.resume(row.sandbox_id!, request.timeoutSeconds);
      } catch (err) {
        log("warn", "pool.warm_unusable", { template: request.template, sandboxId: row.sandbox_id, ...errorFields(err) });
        this.ctx.storage.sql.exec("DELETE FROM leases WHERE key = ?", request.key);
        this.ctx.waitUntil(provider.kill(row.sandbox_id!).catch(() => undefined));
        return null;
      }
    } else {
      // Handed out with no control-plane call on the way: its timeout (at least WARM_TTL_MARGIN
      // left) becomes the holder's right after.
      this.ctx.waitUntil(this.#extend(row.sandbox_id!, request.timeoutSeconds));
    }
    const now = Date.now();
    this.ctx.storage.sql.exec("UPDATE leases SET acquired_at = ?, handle = ? WHERE key = ?", now, JSON.stringify(handle), request.key);
    this.#warm.recordAcquire(row.template, "warm", now - started, now);
    log("info", "pool.sandbox_acquired", { leaseKey: request.key, runId: request.runId, fork: request.fork, sandboxId: row.sandbox_id, warm: row.state });
    this.#maintainSoon();
    return { status: "acquired", sandboxId: row.sandbox_id!, acquiredAt: now, adopted: false, handle };
  }

  async #acquire(request: LeaseRequest): Promise<AcquireOutcome> {
    const existing = this.#lease(request.key);
    if (existing?.state === "active" && existing.sandbox_id) {
      const handle = existing.handle ? (JSON.parse(existing.handle) as SandboxHandle) : await this.#provider().handle(existing.sandbox_id);
      return { status: "acquired", sandboxId: existing.sandbox_id, acquiredAt: existing.acquired_at ?? existing.created_at, adopted: true, handle };
    }
    if (existing?.state === "released") throw new ConflictError("lease_released", `The sandbox lease ${request.key} was already released.`);
    if (existing?.state === "paused") throw new ConflictError("lease_paused", `The sandbox of lease ${request.key} is paused; resume it first.`);

    const provider = this.#provider();
    if (existing) {
      // An earlier attempt reserved capacity and may have created the sandbox before losing the answer.
      const found = await provider.find({ [SANDBOX_TAG.lease]: request.key });
      const sandbox = found[0];
      if (sandbox) return this.#activate(request.key, await provider.handle(sandbox.sandboxId), true);
    } else {
      const warm = await this.#fromWarm(request);
      if (warm) return warm;
      const wait = this.#admissionWait(request);
      if (wait) return wait;
      this.#insertLease(request);
    }

    const rateWait = this.#takeCreateSlot();
    if (rateWait > MAX_INLINE_RATE_WAIT_MS) return { status: "wait", retryAfterMs: rateWait, reason: "rate" };
    return this.#create(request, rateWait);
  }

  /**
   * Starts creating the sandboxes of holders about to ask (a run's newly launched forks), so that a
   * fork's acquire step finds its sandbox made or being made instead of starting the create after
   * its instance has started. Only what would be admitted now, in order: within the cap and the
   * creation rate, never ahead of anyone queued. A request not started is left to its holder's
   * own acquire, as is one whose create fails. Returns how many creates were started.
   */
  prepare(requests: LeaseRequest[]): number {
    let started = 0;
    for (const request of requests) {
      if (this.#inflight.has(request.key) || this.#lease(request.key)) continue;
      if (this.#warm.hasReady(request.template, this.#hasRoomNow(), Date.now())) {
        // Handed out at once (the take happens before acquire's first await, so in this order).
        void this.acquire(request);
        started++;
        continue;
      }
      if (this.#blockedUntil > Date.now() || !this.#hasRoomNow()) break;
      const rateWait = this.#takeCreateSlot();
      if (rateWait > MAX_INLINE_RATE_WAIT_MS) break;
      this.#insertLease(request);
      this.#track(request.key, () => this.#create(request, rateWait));
      started++;
    }
    if (started > 0) log("info", "pool.prepared", { runId: requests[0]!.runId, count: started });
    return started;
  }

  #insertLease(request: LeaseRequest): void {
    this.ctx.storage.sql.exec(
      "INSERT INTO leases (key, run_id, fork, state, created_at, holder) VALUES (?, ?, ?, 'creating', ?, ?)",
      request.key,
      request.runId,
      request.fork,
      Date.now(),
      request.holder ?? "run",
    );
  }

  /** Creates the sandbox of a lease already reserved (state `creating`), after its rate slot. */
  async #create(request: LeaseRequest, rateWait: number): Promise<AcquireOutcome> {
    if (rateWait > 0) await scheduler.wait(rateWait);
    const provider = this.#provider();
    try {
      const started = Date.now();
      const created = await provider.create({
        template: request.template,
        timeoutSeconds: request.timeoutSeconds,
        metadata: sandboxMetadata(request),
      });
      const outcome = await this.#activate(request.key, created.handle, false);
      this.#warm.recordAcquire(this.#entryOf(request.template), "cold", Date.now() - started, Date.now());
      return outcome;
    } catch (err) {
      if (err instanceof RateLimitedError) {
        this.#blockedUntil = Date.now() + err.retryAfterSeconds * 1000;
        return { status: "wait", retryAfterMs: err.retryAfterSeconds * 1000, reason: "provider_rate_limit" };
      }
      if (err instanceof Error && "retryable" in err && err.retryable === false) {
        // A permanent failure (e.g. bad credentials): free the reserved capacity.
        this.ctx.storage.sql.exec("DELETE FROM leases WHERE key = ? AND state = 'creating'", request.key);
        this.#capacityFreed();
      }
      throw err;
    }
  }

  /**
   * Null when a new lease may be admitted now; otherwise how long to wait. Capacity goes first
   * come, first served: a holder is admitted only when there is room for everyone queued ahead of
   * it too; otherwise it joins (or keeps) its place in the queue and is told when its turn comes.
   */
  #admissionWait(request: LeaseRequest): AcquireOutcome | null {
    const now = Date.now();
    if (this.#blockedUntil > now) return { status: "wait", retryAfterMs: this.#blockedUntil - now, reason: "provider_rate_limit" };
    const sql = this.ctx.storage.sql;
    const mine = sql.exec<{ seq: number }>("SELECT seq FROM waiters WHERE key = ?", request.key).toArray()[0];
    const ahead = mine
      ? sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM waiters WHERE seq < ?", mine.seq).one().n
      : sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM waiters").one().n;
    if (ahead < this.#freeCapacity()) {
      if (mine) sql.exec("DELETE FROM waiters WHERE key = ?", request.key);
      return null;
    }
    if (!mine) {
      const workflow = request.workflow ?? (request.holder === "session" ? "session" : "run");
      sql.exec("INSERT INTO waiters (key, run_id, instance_id, enqueued_at, holder) VALUES (?, ?, ?, ?, ?)", request.key, request.runId, request.instanceId ?? null, now, workflow);
    } else if (request.instanceId) {
      // Asked again: its earlier notice (if any) was used; a new one is due when its turn comes.
      sql.exec("UPDATE waiters SET notified_at = NULL, instance_id = ? WHERE key = ?", request.instanceId, request.key);
    }
    // Renotifying is the alarm's job while anyone waits.
    this.ctx.waitUntil(this.#armAlarmWithin(RENOTIFY_MS));
    return { status: "wait", retryAfterMs: RENOTIFY_MS, reason: "capacity", position: ahead + 1 };
  }

  /** Tells the waiters whose turn has come (as many as there is free capacity), first in first. */
  async #notifyWaiters(): Promise<void> {
    const free = this.#freeCapacity();
    if (free <= 0) return;
    const now = Date.now();
    const due = this.ctx.storage.sql
      .exec<{ key: string; instance_id: string | null; notified_at: number | null; holder: string }>("SELECT key, instance_id, notified_at, holder FROM waiters ORDER BY seq LIMIT ?", free)
      .toArray()
      .filter((w) => w.instance_id && (w.notified_at === null || now - w.notified_at >= RENOTIFY_MS));
    for (const w of due) this.ctx.storage.sql.exec("UPDATE waiters SET notified_at = ? WHERE key = ?", now, w.key);
    await Promise.all(
      due.map(async (w) => {
        try {
          const workflow = w.holder === "session" ? this.env.SESSION_WORKFLOW : w.holder === "prepare" ? this.env.PREPARE_WORKFLOW : this.env.FORK_WORKFLOW;
          await (await workflow.get(w.instance_id!)).sendEvent({ type: CAPACITY_EVENT, payload: {} });
        } catch (err) {
          // An instance that is gone (terminated, cancelled) gives up its place.
          log("info", "pool.waiter_dropped", { leaseKey: w.key, ...errorFields(err) });
          this.ctx.storage.sql.exec("DELETE FROM waiters WHERE key = ?", w.key);
        }
      }),
    );
    if (due.length > 0) log("info", "pool.waiters_notified", { count: due.length });
  }

  /** Capacity may have freed: the next waiters are told, without holding up the caller. */
  #capacityFreed(): void {
    this.ctx.waitUntil(this.#notifyWaiters().catch((err) => log("warn", "pool.notify_failed", errorFields(err))));
  }

  async #armAlarmWithin(ms: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > Date.now() + ms) await this.ctx.storage.setAlarm(Date.now() + ms);
  }

  /** Reserves the next creation slot under the rate limit; returns how long until it opens. */
  #takeCreateSlot(): number {
    const now = Date.now();
    const interval = 1000 / this.#config().SANDBOX_CREATE_RATE_PER_SECOND;
    const slot = Math.max(now, this.#nextCreateSlot);
    const wait = slot - now;
    if (wait <= MAX_INLINE_RATE_WAIT_MS) this.#nextCreateSlot = slot + interval;
    return wait;
  }

  async #activate(key: string, handle: SandboxHandle, adopted: boolean): Promise<AcquireOutcome> {
    const sandboxId = handle.sandboxId;
    const lease = this.#lease(key);
    if (!lease || lease.state === "released") {
      // Released while we were creating (the fork was cancelled): the new sandbox must not live on.
      await this.#provider().kill(sandboxId).catch((err) => log("warn", "pool.kill_failed", { sandboxId, ...errorFields(err) }));
      throw new ConflictError("lease_released", `The sandbox lease ${key} was released while its sandbox was being created.`);
    }
    const now = Date.now();
    this.ctx.storage.sql.exec("UPDATE leases SET sandbox_id = ?, state = 'active', acquired_at = ?, handle = ? WHERE key = ?", sandboxId, now, JSON.stringify(handle), key);
    log("info", "pool.sandbox_acquired", { leaseKey: key, runId: lease.run_id, fork: lease.fork, sandboxId, adopted });
    return { status: "acquired", sandboxId, acquiredAt: now, adopted, handle };
  }

  /** Releases a holder's lease and kills its sandbox. Idempotent; unknown keys are a no-op. */
  release(key: string): Promise<Result<ReleaseOutcome>> {
    return asResult(() => this.#release(key));
  }

  async #release(key: string): Promise<ReleaseOutcome> {
    const lease = this.#lease(key);
    if (!lease) return { sandboxId: null, aliveSeconds: 0, killed: false };
    const aliveSeconds = billableSeconds(lease, Date.now());
    if (lease.state === "released") return { sandboxId: lease.sandbox_id, aliveSeconds, killed: false };
    let killed = false;
    let killPending = false;
    if (lease.sandbox_id) {
      try {
        killed = await this.#provider().kill(lease.sandbox_id);
      } catch (err) {
        // The holder is done either way; the Pool owns the kill from here (alarm, reaper), and the
        // sandbox keeps counting against the cap until it is gone.
        killPending = true;
        log("error", "pool.kill_failed", { leaseKey: key, runId: lease.run_id, fork: lease.fork, sandboxId: lease.sandbox_id, ...errorFields(err) });
      }
    }
    this.#leave(key, "released");
    this.ctx.storage.sql.exec("DELETE FROM waiters WHERE key = ?", key);
    this.#capacityFreed();
    if (killPending) {
      this.ctx.storage.sql.exec("UPDATE leases SET kill_pending = 1 WHERE key = ?", key);
      await this.#armKillRetry();
    }
    log("info", "pool.sandbox_released", { leaseKey: key, runId: lease.run_id, fork: lease.fork, sandboxId: lease.sandbox_id, killed, killPending, aliveSeconds });
    return { sandboxId: lease.sandbox_id, aliveSeconds, killed, ...(killPending ? { killPending } : {}) };
  }

  async #armKillRetry(): Promise<void> {
    await this.#armAlarmWithin(KILL_RETRY_MS);
  }

  /** Retries kills that failed at release; a sandbox that no longer exists counts as killed. */
  async #retryKills(): Promise<FreedLease[]> {
    const pending = this.ctx.storage.sql.exec<LeaseRow>("SELECT * FROM leases WHERE kill_pending = 1").toArray();
    const freed: FreedLease[] = [];
    for (const lease of pending) {
      try {
        if (lease.sandbox_id) await this.#provider().kill(lease.sandbox_id);
        this.ctx.storage.sql.exec("UPDATE leases SET kill_pending = 0 WHERE key = ?", lease.key);
        freed.push({ key: lease.key, sandboxId: lease.sandbox_id, reason: "kill_retried" });
        log("info", "pool.kill_retried", { leaseKey: lease.key, sandboxId: lease.sandbox_id });
      } catch (err) {
        log("warn", "pool.kill_failed", { leaseKey: lease.key, sandboxId: lease.sandbox_id, ...errorFields(err) });
      }
    }
    return freed;
  }

  /** The Pool's alarm: retries failed kills, tells waiters again, and looks after the warm pool. */
  override async alarm(): Promise<void> {
    const freed = await this.#retryKills();
    await this.#notifyWaiters();
    await this.#maintainWarm();
    const sql = this.ctx.storage.sql;
    if (freed.length > 0) log("info", "pool.alarm", { killsRetried: freed.length });
    const due = [
      sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM waiters").one().n > 0 ? RENOTIFY_MS : Infinity,
      sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM leases WHERE kill_pending = 1").one().n > 0 ? KILL_RETRY_MS : Infinity,
      this.#warm.active() ? WARM_CHECK_MS : Infinity,
    ];
    const next = Math.min(...due);
    if (next < Infinity) await this.ctx.storage.setAlarm(Date.now() + next);
  }

  /**
   * Replaces the warm-pool configuration. Running warm sandboxes count against the live cap, so
   * their minimums together must leave room under it. The pool refills and trims at once.
   */
  configure(templates: Record<string, PoolTemplateConfig>): Promise<Result<Record<string, PoolTemplateStatus>>> {
    return asResult(async () => {
      const cap = this.#config().MAX_LIVE_SANDBOXES;
      const running = Object.entries(templates).filter(([, c]) => c.mode === "running");
      const total = running.reduce((sum, [, c]) => sum + c.min, 0);
      if (total > cap) {
        const field = `templates.${running.find(([, c]) => c.min > 0)?.[0] ?? ""}.min`;
        throw new InvalidInputError(`${field}: running warm sandboxes (${total} in all) must fit under MAX_LIVE_SANDBOXES (${cap}).`, { field });
      }
      this.#warm.configure(templates);
      log("info", "pool.configured", { templates: Object.keys(templates).length, runningMin: total });
      await this.#armAlarmWithin(0);
      this.#maintainSoon();
      return this.#warm.status(Date.now(), (seconds) => sandboxCostUsd(this.#config(), seconds));
    });
  }

  /** Refill or trim soon, without holding up the caller (after a hand-out, a config change). */
  #maintainSoon(): void {
    this.ctx.waitUntil(this.#maintainWarm().catch((err) => log("warn", "pool.warm_failed", errorFields(err))));
  }

  /**
   * One pass over the warm pool (never two at once): gives up stale creates, kills sandboxes idle
   * past idleSeconds or above the target, then creates up to each template's target — min, raised
   * by recent cold acquires up to max — within the cap and the creation rate, and only while no
   * fork waits for capacity (waiting forks come first; running warm sandboxes make room for them).
   */
  #maintainWarm(): Promise<void> {
    this.#maintaining ??= this.#maintainOnce().finally(() => (this.#maintaining = undefined));
    return this.#maintaining;
  }

  /** The warm-pool entry whose sandboxes a holder of this template id takes (the id itself if none). */
  #entryOf(templateId: string): string {
    for (const [entry, id] of this.#entryIds) if (id === templateId) return entry;
    return templateId;
  }

  /** Entries name a template id, an alias (its active version now) or a profile (its template, maybe an alias). */
  async #resolveEntries(entries: string[]): Promise<Map<string, string>> {
    const profiles = resolveProfiles(this.#config().PROFILES);
    const aliases = new TemplateAliases(this.env.DB);
    const resolved = await Promise.all(
      entries.map(async (entry) => {
        const name = (PROFILE_NAMES as readonly string[]).includes(entry) ? profiles[entry as ProfileName].template : entry;
        return [entry, (await aliases.resolve(name)).templateId] as const;
      }),
    );
    return new Map(resolved);
  }

  async #maintainOnce(): Promise<void> {
    const config = this.#warm.config();
    this.#entryIds = await this.#resolveEntries(Object.keys(config));
    const now = Date.now();
    const waiting = this.ctx.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM waiters").one().n;
    const doomed: WarmRow[] = [];
    let shed = waiting;
    for (const row of this.#warm.rows()) {
      const c = config[row.template];
      if (row.state === "creating") {
        if (now - row.created_at > STALE_WARM_CREATING_MS) this.#warm.remove(row, now);
        continue;
      }
      const idle = row.ready_at !== null && now - row.ready_at > (c?.idleSeconds ?? 0) * 1000;
      const shedding = shed > 0 && row.state === "running";
      // Its alias moved or its profile changed template: no fork will ask for it any more.
      const outdated = (row.template_id ?? row.template) !== this.#entryIds.get(row.template);
      if (!c || idle || shedding || outdated) {
        if (shedding) shed--;
        this.#warm.remove(row, now);
        doomed.push(row);
      }
    }
    for (const [template, c] of Object.entries(config)) {
      for (const row of this.#warm.rows(template).filter((r) => r.state !== "creating").slice(this.#warmTarget(template, c, now))) {
        this.#warm.remove(row, now);
        doomed.push(row);
      }
    }
    const provider = this.#provider();
    await Promise.all(doomed.map((row) => provider.kill(row.sandbox_id!).catch((err) => log("warn", "pool.kill_failed", { sandboxId: row.sandbox_id, ...errorFields(err) }))));
    if (doomed.length > 0) {
      log("info", "pool.warm_trimmed", { count: doomed.length });
      this.#capacityFreed();
    }
    if (waiting > 0 || this.#blockedUntil > now) return;

    const creates: Promise<void>[] = [];
    for (const [template, c] of Object.entries(config)) {
      const target = this.#warmTarget(template, c, now);
      for (let have = this.#warm.rows(template).length; have < target; have++) {
        if (this.#freeCapacity() <= 0) break;
        const rateWait = this.#takeCreateSlot();
        if (rateWait > MAX_INLINE_RATE_WAIT_MS) break;
        const key = `warm-${crypto.randomUUID()}`;
        const templateId = this.#entryIds.get(template) ?? template;
        this.#warm.insertCreating(key, template, templateId, Date.now());
        creates.push(this.#createWarm(key, templateId, c, rateWait));
      }
    }
    await Promise.all(creates);
  }

  /** How many warm sandboxes an entry keeps: min, plus its cold acquires in the last idleSeconds, up to max. */
  #warmTarget(entry: string, c: PoolTemplateConfig, now: number): number {
    return Math.min(c.max, c.min + this.#warm.coldSince(entry, now - c.idleSeconds * 1000));
  }

  async #extend(sandboxId: string, timeoutSeconds: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#provider().setTimeout(sandboxId, timeoutSeconds);
      } catch (err) {
        log(attempt < 3 ? "warn" : "error", "pool.timeout_failed", { sandboxId, attempt, ...errorFields(err) });
        if (attempt >= 3) return;
        await scheduler.wait(1000 * attempt);
      }
    }
  }

  async #createWarm(key: string, templateId: string, c: PoolTemplateConfig, rateWait: number): Promise<void> {
    if (rateWait > 0) await scheduler.wait(rateWait);
    const provider = this.#provider();
    try {
      const created = await provider.create({ template: templateId, timeoutSeconds: c.idleSeconds + WARM_TTL_MARGIN_SECONDS, metadata: sandboxMetadata({ key, runId: "", fork: 0 }) });
      if (c.mode === "paused") await provider.pause(created.sandboxId);
      if (!this.#warm.markReady(key, c.mode, created.sandboxId, created.handle, Date.now())) {
        // Trimmed or reconfigured meanwhile: not wanted any more.
        await provider.kill(created.sandboxId).catch(() => undefined);
      }
    } catch (err) {
      const row = this.#warm.row(key);
      if (row) this.#warm.remove(row, Date.now());
      if (err instanceof RateLimitedError) this.#blockedUntil = Date.now() + err.retryAfterSeconds * 1000;
      log("warn", "pool.warm_create_failed", { templateId, ...errorFields(err) });
    }
  }

  /**
   * Pauses a holder's sandbox (no compute, files kept) — a fork waiting for more budget. Paused
   * time is not billed and a paused sandbox does not count against the live cap. Idempotent.
   */
  suspend(key: string): Promise<Result<{ sandboxId: string }>> {
    return asResult(async () => {
      const lease = this.#requireLease(key);
      if (lease.state === "active") {
        await this.#provider().pause(lease.sandbox_id!);
        this.ctx.storage.sql.exec("UPDATE leases SET state = 'paused', paused_at = ? WHERE key = ? AND state = 'active'", Date.now(), key);
        this.#capacityFreed();
        log("info", "pool.sandbox_paused", { leaseKey: key, runId: lease.run_id, fork: lease.fork, sandboxId: lease.sandbox_id });
      }
      return { sandboxId: lease.sandbox_id! };
    });
  }

  /**
   * Resumes a suspended holder's sandbox; with `timeoutSeconds`, E2B keeps it (running) that long
   * from now, paused or not. Idempotent. Answers the sandbox's handle and whether it was paused.
   */
  resume(key: string, timeoutSeconds?: number): Promise<Result<{ sandboxId: string; handle: SandboxHandle; resumed: boolean }>> {
    return asResult(async () => {
      const lease = this.#requireLease(key);
      const sandboxId = lease.sandbox_id!;
      const provider = this.#provider();
      let handle = lease.handle ? (JSON.parse(lease.handle) as SandboxHandle) : undefined;
      const resumed = lease.state === "paused";
      if (resumed) {
        if (!this.#hasRoomNow()) throw new RateLimitedError("No sandbox capacity to resume into; try again shortly.", 5);
        handle = await provider.resume(sandboxId, timeoutSeconds);
        this.#leave(key, "active");
        this.ctx.storage.sql.exec("UPDATE leases SET handle = ? WHERE key = ?", JSON.stringify(handle), key);
        log("info", "pool.sandbox_resumed", { leaseKey: key, runId: lease.run_id, fork: lease.fork, sandboxId });
      } else if (timeoutSeconds) {
        await provider.setTimeout(sandboxId, timeoutSeconds);
      }
      return { sandboxId, handle: handle ?? (await provider.handle(sandboxId)), resumed };
    });
  }

  /**
   * Forks a holder's sandbox into new ones (E2B's sandbox fork: a copy of its files and memory),
   * one lease per child, within the live cap and the creation rate. With `partial`, as many as fit
   * now are forked (the caller asks again for the rest); otherwise all or none (429). A paused
   * source is resumed for the fork and paused again (E2B forks running sandboxes only). Children
   * that exist already (a repeated call) are answered as they are; sandboxes forked by a call that
   * lost its answer carry the source's tag and no lease of their own, so the reaper kills them.
   */
  forkSandbox(sourceKey: string, children: LeaseRequest[], opts: { partial?: boolean } = {}): Promise<Result<ForkedChild[]>> {
    return asResult(async () => {
      const source = this.#requireLease(sourceKey);
      // A child whose lease is still `creating` was left by a call that lost its answer: forked again.
      const missing = children.filter((c) => {
        const lease = this.#lease(c.key);
        return !lease || (lease.state === "creating" && !this.#inflight.has(c.key));
      });
      const room = this.#freeCapacity() - (source.state === "paused" ? 1 : 0);
      const batch = opts.partial ? missing.slice(0, Math.max(0, room)) : missing;
      if (missing.length > 0 && (batch.length === 0 || batch.length > room)) {
        throw new RateLimitedError(`No capacity for ${missing.length} more sandboxes (MAX_LIVE_SANDBOXES); try again when some are released.`, 5);
      }
      if (batch.length > 0) {
        for (const child of batch) {
          this.ctx.storage.sql.exec("DELETE FROM leases WHERE key = ? AND state = 'creating'", child.key);
          this.#insertLease(child);
        }
        const provider = this.#provider();
        const wasPaused = source.state === "paused";
        try {
          // Each child counts toward the creation rate.
          const rateWait = Math.max(...batch.map(() => this.#takeCreateSlot()));
          if (rateWait > 0) await scheduler.wait(rateWait);
          if (wasPaused) await provider.resume(source.sandbox_id!);
          const forked = await provider.fork(source.sandbox_id!, batch.length, Math.max(...batch.map((c) => c.timeoutSeconds)));
          await Promise.all(forked.map((handle, i) => this.#activate(batch[i]!.key, handle, false)));
          log("info", "pool.sandbox_forked", { leaseKey: sourceKey, sandboxId: source.sandbox_id, count: batch.length });
        } catch (err) {
          for (const child of batch) this.ctx.storage.sql.exec("DELETE FROM leases WHERE key = ? AND state = 'creating'", child.key);
          this.#capacityFreed();
          throw err;
        } finally {
          if (wasPaused) await provider.pause(source.sandbox_id!).catch((err) => log("warn", "pool.repause_failed", { sandboxId: source.sandbox_id, ...errorFields(err) }));
        }
      }
      return children.flatMap((c) => {
        const lease = this.#lease(c.key);
        // Not forked yet (a partial call's rest).
        if (!lease || lease.state === "creating") return [];
        if (!lease?.sandbox_id || lease.state === "released") throw new ConflictError("lease_released", `The sandbox lease ${c.key} was already released.`);
        return [{ key: c.key, sandboxId: lease.sandbox_id, handle: JSON.parse(lease.handle!) as SandboxHandle, forkedNow: batch.includes(c) }];
      });
    });
  }

  /**
   * Keeps a finished fork's sandbox instead of killing it: paused (not billed, not live), for
   * `seconds`, after which the reaper kills it. Answers the time billed up to now. A sandbox that
   * cannot be paused is released as usual. Idempotent.
   */
  keep(key: string, seconds: number): Promise<Result<ReleaseOutcome & { keptUntil: number | null }>> {
    return asResult(async () => {
      const lease = this.#lease(key);
      if (lease?.kept_until) return { sandboxId: lease.sandbox_id, aliveSeconds: billableSeconds(lease, Date.now()), killed: false, keptUntil: lease.kept_until };
      if (lease?.state === "active") {
        try {
          await this.#provider().pause(lease.sandbox_id!);
          const now = Date.now();
          this.ctx.storage.sql.exec("UPDATE leases SET state = 'paused', paused_at = ?, kept_until = ? WHERE key = ? AND state = 'active'", now, now + seconds * 1000, key);
          this.#capacityFreed();
          log("info", "pool.sandbox_kept", { leaseKey: key, runId: lease.run_id, fork: lease.fork, sandboxId: lease.sandbox_id, seconds });
          return { sandboxId: lease.sandbox_id, aliveSeconds: billableSeconds(this.#lease(key)!, now), killed: false, keptUntil: now + seconds * 1000 };
        } catch (err) {
          log("warn", "pool.keep_failed", { leaseKey: key, sandboxId: lease.sandbox_id, ...errorFields(err) });
        }
      }
      return { ...(await this.#release(key)), keptUntil: null };
    });
  }

  /**
   * Hands a kept sandbox over to a new holder (a session continuing a fork): its lease takes the
   * holder's key and identity and is no longer kept. Answers the sandbox, still paused.
   */
  adopt(keptKey: string, holder: LeaseRequest): Promise<Result<{ sandboxId: string }>> {
    return asResult(async () => {
      const lease = this.#lease(keptKey);
      if (!lease?.sandbox_id || lease.state !== "paused" || !lease.kept_until || lease.kept_until <= Date.now()) {
        throw new ConflictError("sandbox_not_kept", "That fork's sandbox was not kept (run with keepSandboxes: true), expired, or was taken over already.");
      }
      const now = Date.now();
      this.ctx.storage.sql.exec(
        "UPDATE leases SET key = ?, run_id = ?, fork = ?, holder = ?, kept_until = NULL, acquired_at = ?, paused_at = ?, paused_ms = 0 WHERE key = ?",
        holder.key,
        holder.runId,
        holder.fork,
        holder.holder ?? "run",
        now,
        now,
        keptKey,
      );
      log("info", "pool.sandbox_adopted", { from: keptKey, leaseKey: holder.key, sandboxId: lease.sandbox_id });
      return { sandboxId: lease.sandbox_id };
    });
  }

  /** Moves a lease out of its state (to active after a pause, or released), closing any paused period. */
  #leave(key: string, to: "active" | "released"): void {
    const now = Date.now();
    this.ctx.storage.sql.exec(
      `UPDATE leases SET state = ?, released_at = CASE WHEN ? = 'released' THEN ? ELSE released_at END,
         paused_ms = paused_ms + (CASE WHEN paused_at IS NULL THEN 0 ELSE ? - paused_at END), paused_at = NULL
       WHERE key = ? AND state != 'released' AND (? = 'released' OR state = 'paused')`,
      to,
      to,
      now,
      now,
      key,
      to,
    );
  }

  #requireLease(key: string): LeaseRow {
    const lease = this.#lease(key);
    if (!lease || !lease.sandbox_id || lease.state === "released" || lease.state === "creating") {
      throw new ConflictError("lease_not_active", `No sandbox is held under lease ${key}.`);
    }
    return lease;
  }

  /** Releases every lease of a run at once (cancellation): nothing of it is left running. */
  async releaseRun(runId: string): Promise<Result<{ fork: number; aliveSeconds: number }[]>> {
    return asResult(async () => {
      this.ctx.storage.sql.exec("DELETE FROM waiters WHERE run_id = ?", runId);
      const leases = this.ctx.storage.sql.exec<{ key: string; fork: number }>("SELECT key, fork FROM leases WHERE run_id = ? AND state != 'released'", runId).toArray();
      return Promise.all(leases.map(async ({ key, fork }) => ({ fork, aliveSeconds: (await this.#release(key)).aliveSeconds })));
    });
  }

  /** Releases every lease a fork holds (its sandbox, and a replacement's if it lost one); answers their sandbox time. */
  async releaseFork(runId: string, fork: number): Promise<Result<{ aliveSeconds: number }>> {
    return asResult(async () => {
      // Released ones too: the answer is the fork's whole sandbox time (release is idempotent).
      const leases = this.ctx.storage.sql.exec<{ key: string }>("SELECT key FROM leases WHERE run_id = ? AND fork = ?", runId, fork).toArray();
      const released = await Promise.all(leases.map(({ key }) => this.#release(key)));
      return { aliveSeconds: released.reduce((sum, r) => sum + r.aliveSeconds, 0) };
    });
  }

  /**
   * Kills Forkyard-tagged sandboxes with no live lease, of finished runs, or older than the max
   * age; retries failed kills; frees leases whose sandbox no longer exists (expired, killed
   * elsewhere), so no capacity is lost for good.
   */
  reap(): Promise<Result<ReapReport>> {
    return asResult(() => this.#reap());
  }

  async #reap(): Promise<ReapReport> {
    const config = this.#config();
    const provider = this.#provider();
    const now = Date.now();
    const goneGraceMs = config.REAPER_GONE_GRACE_SECONDS * 1000;
    this.ctx.storage.sql.exec("UPDATE leases SET state = 'released', released_at = ? WHERE state = 'creating' AND created_at < ?", now, now - STALE_CREATING_MS);
    const freed = await this.#retryKills();

    const sandboxes = await provider.listTagged();
    const listed = new Set(sandboxes.map((s) => s.sandboxId));
    // Only leases acquired well before the listing began: a sandbox created meanwhile is not "gone".
    const gone = this.ctx.storage.sql
      .exec<LeaseRow>("SELECT * FROM leases WHERE state IN ('active','paused') AND sandbox_id IS NOT NULL AND acquired_at < ?", now - goneGraceMs)
      .toArray()
      .filter((lease) => !listed.has(lease.sandbox_id!));
    for (const lease of gone) {
      this.#leave(lease.key, "released");
      freed.push({ key: lease.key, sandboxId: lease.sandbox_id, reason: "sandbox_gone" });
      log("warn", "reaper.lease_freed", { leaseKey: lease.key, runId: lease.run_id, fork: lease.fork, sandboxId: lease.sandbox_id, reason: "sandbox_gone" });
    }
    // Warm sandboxes the provider no longer lists are dropped from the pool (they are refilled).
    for (const row of this.#warm.rows()) {
      if (row.sandbox_id && row.ready_at !== null && row.ready_at < now - goneGraceMs && !listed.has(row.sandbox_id)) this.#warm.remove(row, now);
    }
    const held = sandboxes.map((sandbox) => {
      const tagKey = sandbox.metadata[SANDBOX_TAG.lease];
      // A warm sandbox handed to a fork keeps its warm tag: its lease is found by sandbox id.
      // A forked sandbox carries its source's tag: its own lease is found by sandbox id first.
      const lease = this.#leaseOfSandbox(sandbox.sandboxId) ?? (tagKey ? this.#lease(tagKey) : undefined);
      return { sandbox, tagKey, lease, runId: lease?.run_id || sandbox.metadata[SANDBOX_TAG.run] || null };
    });
    const finished = await this.#finishedRuns([...new Set(held.map((h) => h.runId).filter((id): id is string => !!id))]);
    const reaped: ReapedSandbox[] = [];
    for (const { sandbox, tagKey, lease, runId } of held) {
      const leaseKey = lease?.key;
      const liveLease = lease && lease.state !== "released" && (lease.sandbox_id === null || lease.sandbox_id === sandbox.sandboxId);
      const warm = tagKey ? this.#warm.row(tagKey) : undefined;
      let reason: ReapedSandbox["reason"] | null = null;
      if (warm) {
        if (now - sandbox.startedAt.getTime() <= config.REAPER_MAX_AGE_SECONDS * 1000) continue;
        this.#warm.remove(warm, now);
        reason = "max_age";
      } else if (!liveLease) reason = "no_lease";
      else if (lease.kept_until !== null) {
        if (lease.kept_until > now) continue;
        reason = "keep_expired";
      } else if (runId && finished.has(runId)) reason = "run_finished";
      // A session's sandbox lives (mostly paused) as long as the session; deleting it releases the lease.
      else if (lease.holder !== "session" && now - sandbox.startedAt.getTime() > config.REAPER_MAX_AGE_SECONDS * 1000) reason = "max_age";
      if (!reason) continue;
      try {
        await provider.kill(sandbox.sandboxId);
      } catch (err) {
        // Tried again at the next run (and by the alarm for released leases).
        log("warn", "reaper.kill_failed", { sandboxId: sandbox.sandboxId, runId, reason, ...errorFields(err) });
        continue;
      }
      if (leaseKey && liveLease) this.ctx.storage.sql.exec("UPDATE leases SET state = 'released', released_at = ? WHERE key = ?", now, leaseKey);
      reaped.push({ sandboxId: sandbox.sandboxId, runId, reason });
      this.ctx.storage.sql.exec("INSERT INTO counters (name, value) VALUES ('reaped', 1) ON CONFLICT (name) DO UPDATE SET value = value + 1");
      log("info", "reaper.killed", { sandboxId: sandbox.sandboxId, runId, reason });
    }
    if (freed.length > 0 || reaped.length > 0) this.#capacityFreed();
    return { killed: reaped, freed };
  }

  async #finishedRuns(runIds: string[]): Promise<Set<string>> {
    const finished = new Set<string>();
    for (let i = 0; i < runIds.length; i += 50) {
      const batch = runIds.slice(i, i + 50);
      const placeholders = batch.map(() => "?").join(",");
      const statuses = TERMINAL_RUN_STATUSES.map(() => "?").join(",");
      const rows = await this.env.DB.prepare(`SELECT id FROM runs WHERE id IN (${placeholders}) AND status IN (${statuses})`)
        .bind(...batch, ...TERMINAL_RUN_STATUSES)
        .all<{ id: string }>();
      for (const row of rows.results) finished.add(row.id);
    }
    return finished;
  }

  status(): PoolStatus {
    const config = this.#config();
    const rows = this.ctx.storage.sql.exec<LeaseRow>("SELECT * FROM leases WHERE state != 'released' ORDER BY created_at").toArray();
    return {
      maxLiveSandboxes: config.MAX_LIVE_SANDBOXES,
      createRatePerSecond: config.SANDBOX_CREATE_RATE_PER_SECOND,
      live: rows.filter((r) => r.state === "active").length,
      creating: rows.filter((r) => r.state === "creating").length,
      paused: rows.filter((r) => r.state === "paused").length,
      waiting: this.ctx.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM waiters").one().n,
      reapedTotal: this.ctx.storage.sql.exec<{ value: number }>("SELECT value FROM counters WHERE name = 'reaped'").toArray()[0]?.value ?? 0,
      templates: this.#warm.status(Date.now(), (seconds) => sandboxCostUsd(config, seconds)),
      leases: rows.map((r) => ({
        key: r.key,
        runId: r.run_id,
        fork: r.fork,
        sandboxId: r.sandbox_id,
        state: r.state,
        acquiredAt: r.acquired_at ? new Date(r.acquired_at).toISOString() : null,
      })),
    };
  }
}

/** Seconds a lease's sandbox ran (billed by E2B): from acquisition to release, minus paused time. */
function billableSeconds(lease: LeaseRow, now: number): number {
  if (!lease.acquired_at) return 0;
  const end = lease.released_at ?? now;
  const paused = lease.paused_ms + (lease.paused_at !== null && lease.released_at === null ? now - lease.paused_at : 0);
  return Math.max(0, (end - lease.acquired_at - paused) / 1000);
}
