import type { PoolTemplateConfig, PoolTemplateStatus } from "../../api/pool";
import { InvalidInputError, RateLimitedError } from "../../core/errors";
import { errorFields, log } from "../../observability/log";
import type { SandboxHandle } from "../../sandbox/handle";
import { sandboxMetadata } from "../../sandbox/metadata";
import { MAX_INLINE_RATE_WAIT_MS } from "./create-rate";
import { networkOf, type PoolCore } from "./core";
import type { AcquireOutcome, LeaseRequest } from "./types";
import { planWarmRefill, planWarmTrim, warmTarget } from "./warm-plan";

/** How often the alarm looks after the warm pool while it has a config or sandboxes. */
export const WARM_CHECK_MS = 5_000;
/** A warm sandbox's E2B timeout beyond its idle time: E2B itself kills one the Pool lost track of. */
const WARM_TTL_MARGIN_SECONDS = 120;

/**
 * The warm pool: sandboxes kept ready per template (WarmStore), handed out before creating,
 * refilled and trimmed by one pass at a time (after a hand-out, a config change, the alarm).
 */
export class WarmPool {
  readonly #core: PoolCore;
  #maintaining: Promise<void> | undefined;
  /** Each warm-pool entry (template id, alias or profile) resolved to a template id at the last pass. */
  #entryIds = new Map<string, string>();

  constructor(core: PoolCore) {
    this.#core = core;
  }

  /**
   * Replaces the warm-pool configuration. Running warm sandboxes count against the live cap, so
   * their minimums together must leave room under it. The pool refills and trims at once.
   */
  async configure(templates: Record<string, PoolTemplateConfig>): Promise<Record<string, PoolTemplateStatus>> {
    const core = this.#core;
    const cap = core.settings().maxLiveSandboxes;
    const running = Object.entries(templates).filter(([, c]) => c.mode === "running");
    const total = running.reduce((sum, [, c]) => sum + c.min, 0);
    if (total > cap) {
      const field = `templates.${running.find(([, c]) => c.min > 0)?.[0] ?? ""}.min`;
      throw new InvalidInputError(`${field}: running warm sandboxes (${total} in all) must fit under MAX_LIVE_SANDBOXES (${cap}).`, { field });
    }
    core.warm.configure(templates);
    log("info", "pool.configured", { templates: Object.keys(templates).length, runningMin: total });
    await core.host.armAlarmWithin(0);
    this.maintainSoon();
    return core.warm.status(core.now(), core.host.costOf);
  }

  /** The warm-pool entry whose sandboxes a holder of this template id takes (the id itself if none). */
  entryOf(templateId: string): string {
    for (const [entry, id] of this.#entryIds) if (id === templateId) return entry;
    return templateId;
  }

  /**
   * Hands the holder a warm sandbox of its template, if there is one: a running one at once (its
   * timeout set to the holder's), a paused one resumed (only when there is room for it). Null on
   * a miss, or when the warm sandbox turned out to be gone (then the holder gets a cold one).
   */
  async handOut(request: LeaseRequest): Promise<AcquireOutcome | null> {
    const core = this.#core;
    const started = core.now();
    const row = core.warm.take(request.template, core.capacity.roomNow(request.priority), started);
    if (!row) {
      core.warm.miss(this.entryOf(request.template));
      return null;
    }
    // The lease takes over the sandbox in the same write that takes it out of the pool.
    core.leases.insertActive(request, row.sandbox_id!, row.handle, started);
    let handle = JSON.parse(row.handle!) as SandboxHandle;
    if (row.state === "paused") {
      try {
        handle = await core.backend.resume(row.sandbox_id!, request.timeoutSeconds);
      } catch (err) {
        log("warn", "pool.warm_unusable", { template: request.template, sandboxId: row.sandbox_id, ...errorFields(err) });
        core.leases.delete(request.key);
        core.host.waitUntil(core.backend.kill(row.sandbox_id!).catch(() => undefined));
        return null;
      }
    } else {
      // Handed out with no control-plane call on the way: its timeout (at least WARM_TTL_MARGIN
      // left) becomes the holder's right after.
      core.host.waitUntil(this.#extend(row.sandbox_id!, request.timeoutSeconds));
    }
    const now = core.now();
    core.leases.setAcquired(request.key, JSON.stringify(handle), now);
    core.warm.recordAcquire(row.template, "warm", now - started, now);
    log("info", "pool.sandbox_acquired", { leaseKey: request.key, runId: request.runId, fork: request.fork, sandboxId: row.sandbox_id, warm: row.state });
    this.maintainSoon();
    return { status: "acquired", sandboxId: row.sandbox_id!, acquiredAt: now, adopted: false, handle };
  }

  /** Refill or trim soon, without holding up the caller (after a hand-out, a config change). */
  maintainSoon(): void {
    this.#core.host.waitUntil(this.maintain().catch((err) => log("warn", "pool.warm_failed", errorFields(err))));
  }

  /**
   * One pass over the warm pool (never two at once): gives up stale creates, kills sandboxes idle
   * past idleSeconds or above the target, then creates up to each template's target — min, raised
   * by recent cold acquires up to max — within the cap and the creation rate, and only while no
   * fork waits for capacity (waiting forks come first; running warm sandboxes make room for them).
   */
  maintain(): Promise<void> {
    this.#maintaining ??= this.#maintainOnce().finally(() => (this.#maintaining = undefined));
    return this.#maintaining;
  }

  async #maintainOnce(): Promise<void> {
    const core = this.#core;
    const config = core.warm.config();
    this.#entryIds = await core.host.resolveEntries(Object.keys(config));
    const now = core.now();
    const waiting = core.leases.waiterCount();
    const targetOf = (entry: string, c: PoolTemplateConfig) => warmTarget(c, core.warm.coldSince(entry, now - c.idleSeconds * 1000));
    const { stale, doomed } = planWarmTrim({ rows: core.warm.rows(), config, entryIds: this.#entryIds, waiting, now, targetOf });
    for (const row of [...stale, ...doomed]) core.warm.remove(row, now);
    await Promise.all(doomed.map((row) => core.backend.kill(row.sandbox_id!).catch((err) => log("warn", "pool.kill_failed", { sandboxId: row.sandbox_id, ...errorFields(err) }))));
    if (doomed.length > 0) {
      log("info", "pool.warm_trimmed", { count: doomed.length });
      core.capacityFreed();
    }
    if (waiting > 0 || core.rate.blockedFor(now) > 0) return;

    const creates: Promise<void>[] = [];
    for (const [entry, missing] of planWarmRefill(config, (e) => core.warm.rows(e).length, targetOf)) {
      for (let i = 0; i < missing && core.capacity.free() > 0; i++) {
        const rateWait = core.rate.take(core.now());
        if (rateWait > MAX_INLINE_RATE_WAIT_MS) break;
        const key = `warm-${crypto.randomUUID()}`;
        const templateId = this.#entryIds.get(entry) ?? entry;
        core.warm.insertCreating(key, entry, templateId, core.now());
        creates.push(this.#createWarm(key, templateId, config[entry]!, rateWait));
      }
    }
    await Promise.all(creates);
  }

  async #createWarm(key: string, templateId: string, c: PoolTemplateConfig, rateWait: number): Promise<void> {
    const core = this.#core;
    if (rateWait > 0) await core.clock.sleep(rateWait);
    try {
      const created = await core.backend.create({ template: templateId, timeoutSeconds: c.idleSeconds + WARM_TTL_MARGIN_SECONDS, metadata: sandboxMetadata({ key, runId: "", fork: 0 }), ...networkOf(core.settings().defaultNetwork) });
      if (c.mode === "paused") await core.backend.pause(created.sandboxId);
      if (!core.warm.markReady(key, c.mode, created.sandboxId, created.handle, core.now())) {
        // Trimmed or reconfigured meanwhile: not wanted any more.
        await core.backend.kill(created.sandboxId).catch(() => undefined);
      }
    } catch (err) {
      const row = core.warm.row(key);
      if (row) core.warm.remove(row, core.now());
      if (err instanceof RateLimitedError) core.rate.block(err.retryAfterSeconds, core.now());
      log("warn", "pool.warm_create_failed", { templateId, ...errorFields(err) });
    }
  }

  async #extend(sandboxId: string, timeoutSeconds: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#core.backend.setTimeout(sandboxId, timeoutSeconds);
      } catch (err) {
        log(attempt < 3 ? "warn" : "error", "pool.timeout_failed", { sandboxId, attempt, ...errorFields(err) });
        if (attempt >= 3) return;
        await this.#core.clock.sleep(1000 * attempt);
      }
    }
  }
}
