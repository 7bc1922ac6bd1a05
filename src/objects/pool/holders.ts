import { ConflictError, RateLimitedError } from "../../core/errors";
import { errorFields, log } from "../../observability/log";
import type { SandboxHandle } from "../../sandbox/handle";
import type { PoolCore } from "./core";
import { billableSeconds, type ForkedChild, type LeaseRequest, type LeaseRow, type ReleaseOutcome } from "./types";

/** E2B forks at most this many sandboxes in one call. */
export const E2B_FORKS_PER_CALL = 100;

/**
 * What a holder does with the sandbox it holds: fork it, pause and resume it, keep it for a
 * session, hand a kept one over, and release (one lease, a fork's, a whole run's).
 */
export class Holders {
  readonly #core: PoolCore;

  constructor(core: PoolCore) {
    this.#core = core;
  }

  /**
   * Forks a holder's sandbox into new ones (E2B's sandbox fork: a copy of its files and memory),
   * one lease per child, within the live cap and the creation rate. With `partial`, as many as fit
   * now are forked (the caller asks again for the rest); otherwise all or none (429). A paused
   * source is resumed for the fork and paused again (E2B forks running sandboxes only). Children
   * that exist already (a repeated call) are answered as they are; sandboxes forked by a call that
   * lost its answer carry the source's tag and no lease of their own, so the reaper kills them.
   */
  async fork(sourceKey: string, children: LeaseRequest[], opts: { partial?: boolean }): Promise<ForkedChild[]> {
    const core = this.#core;
    const source = core.requireLease(sourceKey);
    // A child whose lease is still `creating` was left by a call that lost its answer: forked again.
    const missing = children.filter((c) => {
      const lease = core.leases.get(c.key);
      return !lease || (lease.state === "creating" && !core.inflight.has(c.key));
    });
    const room = core.capacity.free() - (source.state === "paused" ? 1 : 0);
    const batch = opts.partial ? missing.slice(0, Math.max(0, room)) : missing;
    if (missing.length > 0 && (batch.length === 0 || batch.length > room)) {
      throw new RateLimitedError(`No capacity for ${missing.length} more sandboxes (MAX_LIVE_SANDBOXES); try again when some are released.`, 5);
    }
    if (batch.length > 0) await this.#forkBatch(source, batch);
    return children.flatMap((c) => {
      const lease = core.leases.get(c.key);
      // Not forked yet (a partial call's rest).
      if (!lease || lease.state === "creating") return [];
      if (!lease.sandbox_id || lease.state === "released") throw new ConflictError("lease_released", `The sandbox lease ${c.key} was already released.`);
      return [{ key: c.key, sandboxId: lease.sandbox_id, handle: JSON.parse(lease.handle!) as SandboxHandle, forkedNow: batch.includes(c) }];
    });
  }

  async #forkBatch(source: LeaseRow, batch: LeaseRequest[]): Promise<void> {
    const core = this.#core;
    for (const child of batch) {
      core.leases.deleteCreating(child.key);
      core.leases.insertCreating(child, core.now());
    }
    const backend = core.backend;
    const wasPaused = source.state === "paused";
    try {
      // Each child counts toward the creation rate.
      const rateWait = Math.max(...batch.map(() => core.rate.take(core.now())));
      if (rateWait > 0) await core.clock.sleep(rateWait);
      if (wasPaused) await backend.resume(source.sandbox_id!);
      // E2B forks at most E2B_FORKS_PER_CALL sandboxes per call: a bigger batch is several calls.
      for (let i = 0; i < batch.length; i += E2B_FORKS_PER_CALL) {
        const calls = batch.slice(i, i + E2B_FORKS_PER_CALL);
        const forked = await backend.fork(source.sandbox_id!, calls.length, Math.max(...calls.map((c) => c.timeoutSeconds)));
        await Promise.all(forked.map((handle, j) => core.activate(calls[j]!.key, handle, false)));
      }
      log("info", "pool.sandbox_forked", { leaseKey: source.key, sandboxId: source.sandbox_id, count: batch.length });
    } catch (err) {
      for (const child of batch) core.leases.deleteCreating(child.key);
      core.capacityFreed();
      throw err;
    } finally {
      if (wasPaused) await backend.pause(source.sandbox_id!).catch((err) => log("warn", "pool.repause_failed", { sandboxId: source.sandbox_id, ...errorFields(err) }));
    }
  }

  /**
   * Keeps a finished fork's sandbox instead of killing it: paused (not billed, not live), for
   * `seconds`, after which the reaper kills it. Answers the time billed up to now. A sandbox that
   * cannot be paused is released as usual. Idempotent.
   */
  async keep(key: string, seconds: number): Promise<ReleaseOutcome & { keptUntil: number | null }> {
    const core = this.#core;
    const lease = core.leases.get(key);
    if (lease?.kept_until) return { sandboxId: lease.sandbox_id, aliveSeconds: billableSeconds(lease, core.now()), killed: false, keptUntil: lease.kept_until };
    if (lease?.state === "active") {
      try {
        await core.backend.pause(lease.sandbox_id!);
        const now = core.now();
        core.leases.pause(key, now, now + seconds * 1000);
        core.capacityFreed();
        log("info", "pool.sandbox_kept", { leaseKey: key, runId: lease.run_id, fork: lease.fork, sandboxId: lease.sandbox_id, seconds });
        return { sandboxId: lease.sandbox_id, aliveSeconds: billableSeconds(core.leases.get(key)!, now), killed: false, keptUntil: now + seconds * 1000 };
      } catch (err) {
        log("warn", "pool.keep_failed", { leaseKey: key, sandboxId: lease.sandbox_id, ...errorFields(err) });
      }
    }
    return { ...(await core.release(key)), keptUntil: null };
  }

  /**
   * Hands a kept sandbox over to a new holder (a session continuing a fork): its lease takes the
   * holder's key and identity and is no longer kept. Answers the sandbox, still paused.
   */
  adopt(keptKey: string, holder: LeaseRequest): { sandboxId: string } {
    const core = this.#core;
    const lease = core.leases.get(keptKey);
    if (!lease?.sandbox_id || lease.state !== "paused" || !lease.kept_until || lease.kept_until <= core.now()) {
      throw new ConflictError("sandbox_not_kept", "That fork's sandbox was not kept (run with keepSandboxes: true), expired, or was taken over already.");
    }
    core.leases.transfer(keptKey, holder, core.now());
    log("info", "pool.sandbox_adopted", { from: keptKey, leaseKey: holder.key, sandboxId: lease.sandbox_id });
    return { sandboxId: lease.sandbox_id };
  }

  /**
   * Pauses a holder's sandbox (no compute, files kept) — a fork waiting for more budget. Paused
   * time is not billed and a paused sandbox does not count against the live cap. Idempotent.
   */
  async suspend(key: string): Promise<{ sandboxId: string }> {
    const core = this.#core;
    const lease = core.requireLease(key);
    if (lease.state === "active") {
      await core.backend.pause(lease.sandbox_id!);
      core.leases.pause(key, core.now());
      core.capacityFreed();
      log("info", "pool.sandbox_paused", { leaseKey: key, runId: lease.run_id, fork: lease.fork, sandboxId: lease.sandbox_id });
    }
    return { sandboxId: lease.sandbox_id! };
  }

  /**
   * Resumes a suspended holder's sandbox; with `timeoutSeconds`, E2B keeps it (running) that long
   * from now, paused or not. Idempotent. Answers the sandbox's handle and whether it was paused.
   */
  async resume(key: string, timeoutSeconds?: number): Promise<{ sandboxId: string; handle: SandboxHandle; resumed: boolean }> {
    const core = this.#core;
    const lease = core.requireLease(key);
    const sandboxId = lease.sandbox_id!;
    let handle = lease.handle ? (JSON.parse(lease.handle) as SandboxHandle) : undefined;
    const resumed = lease.state === "paused";
    if (resumed) {
      if (!core.capacity.roomNow()) throw new RateLimitedError("No sandbox capacity to resume into; try again shortly.", 5);
      handle = await core.backend.resume(sandboxId, timeoutSeconds);
      core.leases.leave(key, "active", core.now());
      core.leases.setHandle(key, JSON.stringify(handle));
      log("info", "pool.sandbox_resumed", { leaseKey: key, runId: lease.run_id, fork: lease.fork, sandboxId });
    } else if (timeoutSeconds) {
      await core.backend.setTimeout(sandboxId, timeoutSeconds);
    }
    return { sandboxId, handle: handle ?? (await core.backend.handle(sandboxId)), resumed };
  }

  /**
   * Releases every lease of a run at once (cancellation): nothing of it is left running. Answers,
   * per fork that had one open, its whole sandbox time (every lease it held: its own sandbox, a
   * replacement, its verification sandbox), so one booking per fork counts them all.
   */
  async releaseRun(runId: string): Promise<{ fork: number; aliveSeconds: number }[]> {
    this.#core.leases.dequeueRun(runId);
    const leases = this.#core.leases.openKeysOfRun(runId);
    await Promise.all(leases.map(({ key }) => this.#core.release(key)));
    const forks = [...new Set(leases.map((l) => l.fork))];
    return Promise.all(forks.map(async (fork) => ({ fork, aliveSeconds: (await this.releaseFork(runId, fork)).aliveSeconds })));
  }

  /** Releases every lease a fork holds (its sandbox, and a replacement's if it lost one); answers their sandbox time. */
  async releaseFork(runId: string, fork: number): Promise<{ aliveSeconds: number }> {
    // Released ones too: the answer is the fork's whole sandbox time (release is idempotent).
    const released = await Promise.all(this.#core.leases.keysOfFork(runId, fork).map((key) => this.#core.release(key)));
    return { aliveSeconds: released.reduce((sum, r) => sum + r.aliveSeconds, 0) };
  }
}
