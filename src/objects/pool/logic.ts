import { log } from "../../observability/log";
import { Acquirer } from "./acquire";
import { KILL_RETRY_MS, PoolCore, type PoolDeps } from "./core";
import { RENOTIFY_MS } from "./capacity";
import { Holders } from "./holders";
import { reap } from "./reap";
import type { PoolStatus, ReapReport } from "./types";
import { WARM_CHECK_MS, WarmPool } from "./warm-pool";

/**
 * The Pool's logic without the Durable Object: its stores over the given SQL, the sandbox backend,
 * the clock and the host injected. The Pool object builds one; unit tests build one over Node's
 * SQLite with a fake backend and a fake clock.
 */
export class PoolLogic {
  readonly core: PoolCore;
  readonly warm: WarmPool;
  readonly acquirer: Acquirer;
  readonly holders: Holders;

  constructor(deps: PoolDeps) {
    this.core = new PoolCore(deps);
    this.warm = new WarmPool(this.core);
    this.acquirer = new Acquirer(this.core, this.warm);
    this.holders = new Holders(this.core);
  }

  reap(): Promise<ReapReport> {
    return reap(this.core);
  }

  /** One alarm: retries failed kills, tells waiters again, looks after the warm pool; answers when the next is due (ms from now, or null). */
  async alarm(): Promise<number | null> {
    const core = this.core;
    const freed = await core.retryKills();
    await core.notifyWaiters();
    await this.warm.maintain();
    if (freed.length > 0) log("info", "pool.alarm", { killsRetried: freed.length });
    const due = Math.min(
      core.leases.waiterCount() > 0 ? RENOTIFY_MS : Infinity,
      core.leases.killPending().length > 0 ? KILL_RETRY_MS : Infinity,
      core.warm.active() ? WARM_CHECK_MS : Infinity,
    );
    return due < Infinity ? due : null;
  }

  status(): PoolStatus {
    const core = this.core;
    const settings = core.settings();
    const rows = core.leases.open();
    return {
      maxLiveSandboxes: settings.maxLiveSandboxes,
      createRatePerSecond: settings.createRatePerSecond,
      live: rows.filter((r) => r.state === "active").length,
      creating: rows.filter((r) => r.state === "creating").length,
      paused: rows.filter((r) => r.state === "paused").length,
      waiting: core.leases.waiterCount(),
      reapedTotal: core.leases.reapedTotal(),
      templates: core.warm.status(core.now(), core.host.costOf),
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
