import { ConflictError, RateLimitedError, type Result } from "../../core/errors";
import { log } from "../../observability/log";
import type { SandboxHandle } from "../../sandbox/handle";
import { sandboxMetadata, SANDBOX_TAG } from "../../sandbox/metadata";
import { RENOTIFY_MS } from "./capacity";
import { networkOf, type PoolCore } from "./core";
import { MAX_INLINE_RATE_WAIT_MS } from "./create-rate";
import type { AcquireOutcome, LeaseRequest } from "./types";
import type { WarmPool } from "./warm-pool";

/**
 * Acquisition: a holder gets a warm sandbox, or a new one within the cap (first come, first
 * served), the creation rate and the provider's 429s, or is told how long to wait. Idempotent per
 * key: a holder whose earlier attempt lost the provider's answer finds that sandbox by its
 * metadata instead of creating a second one.
 */
export class Acquirer {
  readonly #core: PoolCore;
  readonly #warm: WarmPool;

  constructor(core: PoolCore, warm: WarmPool) {
    this.#core = core;
    this.#warm = warm;
  }

  acquire(request: LeaseRequest): Promise<Result<AcquireOutcome>> {
    return this.#core.inflight.get(request.key) ?? this.#core.track(request.key, () => this.#acquire(request));
  }

  async #acquire(request: LeaseRequest): Promise<AcquireOutcome> {
    const core = this.#core;
    const existing = core.leases.get(request.key);
    if (existing?.state === "active" && existing.sandbox_id) {
      const handle = existing.handle ? (JSON.parse(existing.handle) as SandboxHandle) : await core.backend.handle(existing.sandbox_id);
      return { status: "acquired", sandboxId: existing.sandbox_id, acquiredAt: existing.acquired_at ?? existing.created_at, adopted: true, handle };
    }
    if (existing?.state === "released") throw new ConflictError("lease_released", `The sandbox lease ${request.key} was already released.`);
    if (existing?.state === "paused") throw new ConflictError("lease_paused", `The sandbox of lease ${request.key} is paused; resume it first.`);

    if (existing) {
      // An earlier attempt reserved capacity and may have created the sandbox before losing the answer.
      const sandbox = (await core.backend.find({ [SANDBOX_TAG.lease]: request.key }))[0];
      if (sandbox) return core.activate(request.key, await core.backend.handle(sandbox.sandboxId), true);
    } else {
      const warm = request.network ? null : await this.#warm.handOut(request);
      if (warm) return warm;
      const wait = this.#admissionWait(request);
      if (wait) return wait;
      core.leases.insertCreating(request, core.now());
    }

    const rateWait = core.rate.take(core.now());
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
  createAhead(requests: LeaseRequest[]): number {
    const core = this.#core;
    let started = 0;
    for (const request of requests) {
      if (core.inflight.has(request.key) || core.leases.get(request.key)) continue;
      if (!request.network && core.warm.hasReady(request.template, core.capacity.roomNow(request.priority), core.now())) {
        // Handed out at once (the take happens before acquire's first await, so in this order).
        void this.acquire(request);
        started++;
        continue;
      }
      if (core.rate.blockedFor(core.now()) > 0 || !core.capacity.roomNow(request.priority)) break;
      const rateWait = core.rate.take(core.now());
      if (rateWait > MAX_INLINE_RATE_WAIT_MS) break;
      core.leases.insertCreating(request, core.now());
      core.track(request.key, () => this.#create(request, rateWait));
      started++;
    }
    if (started > 0) log("info", "pool.created_ahead", { runId: requests[0]!.runId, count: started });
    return started;
  }

  /** Creates the sandbox of a lease already reserved (state `creating`), after its rate slot. */
  async #create(request: LeaseRequest, rateWait: number): Promise<AcquireOutcome> {
    const core = this.#core;
    if (rateWait > 0) await core.clock.sleep(rateWait);
    try {
      const started = core.now();
      const created = await core.backend.create({ template: request.template, timeoutSeconds: request.timeoutSeconds, metadata: sandboxMetadata(request), ...networkOf(request.network ?? core.settings().defaultNetwork) });
      const outcome = await core.activate(request.key, created.handle, false);
      core.warm.recordAcquire(this.#warm.entryOf(request.template), "cold", core.now() - started, core.now());
      return outcome;
    } catch (err) {
      if (err instanceof RateLimitedError) {
        core.rate.block(err.retryAfterSeconds, core.now());
        return { status: "wait", retryAfterMs: err.retryAfterSeconds * 1000, reason: "provider_rate_limit" };
      }
      if (err instanceof Error && "retryable" in err && err.retryable === false) {
        // A permanent failure (e.g. bad credentials): free the reserved capacity.
        core.leases.deleteCreating(request.key);
        core.capacityFreed();
      }
      throw err;
    }
  }

  /**
   * Null when a new lease may be admitted now; otherwise how long to wait: the provider's 429
   * still holding creates back, or the holder's place in the queue for capacity (it is told when
   * its turn comes; the alarm tells it again while it waits).
   */
  #admissionWait(request: LeaseRequest): AcquireOutcome | null {
    const core = this.#core;
    const now = core.now();
    const blocked = core.rate.blockedFor(now);
    if (blocked > 0) return { status: "wait", retryAfterMs: blocked, reason: "provider_rate_limit" };
    const admission = core.capacity.admit(request, now);
    if (admission.admitted) return null;
    core.host.waitUntil(core.host.armAlarmWithin(RENOTIFY_MS));
    return { status: "wait", retryAfterMs: RENOTIFY_MS, reason: "capacity", position: admission.position };
  }
}
