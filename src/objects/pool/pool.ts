import { DurableObject } from "cloudflare:workers";
import type { Env } from "../../core/env";
import { loadConfig } from "../../core/env";
import { asResult, type Result } from "../../core/errors";
import { TERMINAL_RUN_STATUSES } from "../../api/runs";
import { deploymentNetwork } from "../../api/network-policy";
import type { PoolTemplateConfig, PoolTemplateStatus } from "../../api/pool";
import { sandboxCostUsd } from "../../core/costs";
import { PROFILE_NAMES, resolveProfiles, type ProfileName } from "../../core/sandbox-profiles";
import { e2bSandboxBackend, type SandboxBackend, type SandboxBackendFactory } from "../../sandbox/backend";
import type { SandboxHandle } from "../../sandbox/handle";
import { gatedBackend } from "../../sandbox/connection-gate";
import { TemplateAliases } from "../../sandbox/template-aliases";
import { CAPACITY_EVENT } from "../../protocol/events";
import { CreationSchedule } from "../../protocol/creation-pacer";
import { migrate } from "../shared/migrations";
import type { PoolHost, PoolSettings } from "./core";
import { PoolLogic } from "./logic";
import { POOL_MIGRATIONS } from "./schema";
import type { AcquireOutcome, ForkedChild, LeaseRequest, PoolStatus, ReapReport, ReleaseOutcome, WaiterRow } from "./types";

export type { AcquireOutcome, ForkedChild, FreedLease, HolderWorkflow, LeaseHolder, LeasePriority, LeaseRequest, PoolStatus, ReapedSandbox, ReapReport, ReleaseOutcome } from "./types";

/**
 * Pool Durable Object: the only creator of sandboxes. It keeps the lease table (sandbox ->
 * holder), enforces the live-sandbox cap and the creation rate, honours the provider's 429s, makes
 * acquisition idempotent, and keeps warm sandboxes per template. The object is the thin owner —
 * storage (migrated once per wake), alarm, RPC — of PoolLogic, which it builds with the sandbox
 * backend the factory makes from the Worker's config, the wall clock, and itself as the host.
 * RPC method names are called by in-flight Workflows: they stay.
 */
export class Pool extends DurableObject<Env> {
  /** Makes the sandbox backend from the config (the e2b SDK's). */
  static backendFactory: SandboxBackendFactory = e2bSandboxBackend;
  readonly #logic: PoolLogic;
  #backend: SandboxBackend | undefined;
  /** Every run's fork-instance creations, under WORKFLOW_CREATE_RATE_PER_SECOND together (in memory). */
  #workflowCreations: CreationSchedule | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrate(ctx.storage, POOL_MIGRATIONS);
    this.#logic = new PoolLogic({
      sql: ctx.storage.sql,
      // Its control-plane calls, at most CONNECTIONS_PER_INVOCATION at once (connection-gate.ts).
      backend: () => (this.#backend ??= gatedBackend(Pool.backendFactory(loadConfig(this.env)))),
      clock: { now: () => Date.now(), sleep: (ms) => scheduler.wait(ms) },
      settings: () => this.#settings(),
      host: this.#host(),
    });
  }

  #settings(): PoolSettings {
    const config = loadConfig(this.env);
    return { maxLiveSandboxes: config.MAX_LIVE_SANDBOXES, createRatePerSecond: config.SANDBOX_CREATE_RATE_PER_SECOND, reaperMaxAgeSeconds: config.REAPER_MAX_AGE_SECONDS, reaperGoneGraceMs: config.REAPER_GONE_GRACE_SECONDS * 1000, defaultNetwork: deploymentNetwork(config.PUBLIC_URL) };
  }

  #host(): PoolHost {
    return {
      waitUntil: (promise) => this.ctx.waitUntil(promise),
      armAlarmWithin: async (ms) => {
        const current = await this.ctx.storage.getAlarm();
        if (current === null || current > Date.now() + ms) await this.ctx.storage.setAlarm(Date.now() + ms);
      },
      notify: (waiter) => this.#notify(waiter),
      finishedRuns: (runIds) => this.#finishedRuns(runIds),
      resolveEntries: (entries) => this.#resolveEntries(entries),
      costOf: (seconds) => sandboxCostUsd(loadConfig(this.env), seconds),
    };
  }

  async #notify(waiter: WaiterRow): Promise<void> {
    const workflows: Record<string, Workflow<unknown>> = { session: this.env.SESSION_WORKFLOW, prepare: this.env.PREPARE_WORKFLOW, eval: this.env.EVAL_CHECK_WORKFLOW };
    const workflow = workflows[waiter.holder] ?? this.env.FORK_WORKFLOW;
    await (await workflow.get(waiter.instance_id!)).sendEvent({ type: CAPACITY_EVENT, payload: {} });
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

  /** Entries name a template id, an alias (its active version now) or a profile (its template, maybe an alias). */
  async #resolveEntries(entries: string[]): Promise<Map<string, string>> {
    const profiles = resolveProfiles(loadConfig(this.env).PROFILES);
    const aliases = new TemplateAliases(this.env.DB);
    const resolved = await Promise.all(
      entries.map(async (entry) => {
        const name = (PROFILE_NAMES as readonly string[]).includes(entry) ? profiles[entry as ProfileName].template : entry;
        return [entry, (await aliases.resolve(name)).templateId] as const;
      }),
    );
    return new Map(resolved);
  }

  /** Acquire a sandbox for a holder, or be told how long to wait for capacity. Idempotent per key. */
  acquire(request: LeaseRequest): Promise<Result<AcquireOutcome>> {
    return this.#logic.acquirer.acquire(request);
  }

  /**
   * Creates sandboxes ahead of their holders' acquire (a run's newly launched forks), as far as
   * they would be admitted now; returns how many were started.
   */
  createAhead(requests: LeaseRequest[]): number {
    return this.#logic.acquirer.createAhead(requests);
  }

  /**
   * Books `count` fork-instance creations (at most WORKFLOW_CREATE_RATE_PER_SECOND) in the schedule
   * every run's launches share: answers how many milliseconds until they may be made.
   */
  bookWorkflowCreations(count: number): number {
    this.#workflowCreations ??= new CreationSchedule(loadConfig(this.env).WORKFLOW_CREATE_RATE_PER_SECOND);
    const now = Date.now();
    return this.#workflowCreations.book(Math.min(count, this.#workflowCreations.ratePerSecond), now) - now;
  }

  /** Releases a holder's lease and kills its sandbox. Idempotent; unknown keys are a no-op. */
  release(key: string): Promise<Result<ReleaseOutcome>> {
    return asResult(() => this.#logic.core.release(key));
  }

  /** Whether `key` is that run's fork's lease on a running sandbox now (the model proxy's revocation check). */
  leaseHeld(key: string, runId: string, fork: number): boolean {
    const lease = this.#logic.core.leases.get(key);
    return lease !== undefined && lease.state === "active" && lease.run_id === runId && lease.fork === fork;
  }

  /** Releases every lease of a run at once (cancellation): nothing of it is left running. */
  releaseRun(runId: string): Promise<Result<{ fork: number; aliveSeconds: number }[]>> {
    return asResult(() => this.#logic.holders.releaseRun(runId));
  }

  /** Releases every lease a fork holds; answers their sandbox time. */
  releaseFork(runId: string, fork: number): Promise<Result<{ aliveSeconds: number }>> {
    return asResult(() => this.#logic.holders.releaseFork(runId, fork));
  }

  /** Forks a holder's sandbox into new ones, one lease per child (see Holders.fork). */
  forkSandbox(sourceKey: string, children: LeaseRequest[], opts: { partial?: boolean } = {}): Promise<Result<ForkedChild[]>> {
    return asResult(() => this.#logic.holders.fork(sourceKey, children, opts));
  }

  /** Keeps a finished fork's sandbox paused for `seconds` instead of killing it. Idempotent. */
  keep(key: string, seconds: number): Promise<Result<ReleaseOutcome & { keptUntil: number | null }>> {
    return asResult(() => this.#logic.holders.keep(key, seconds));
  }

  /** Hands a kept sandbox over to a new holder (a session continuing a fork). */
  adopt(keptKey: string, holder: LeaseRequest): Promise<Result<{ sandboxId: string }>> {
    return asResult(async () => this.#logic.holders.adopt(keptKey, holder));
  }

  /** Pauses a holder's sandbox (not billed, not live). Idempotent. */
  suspend(key: string): Promise<Result<{ sandboxId: string }>> {
    return asResult(() => this.#logic.holders.suspend(key));
  }

  /** Resumes a suspended holder's sandbox, optionally with a new timeout. Idempotent. */
  resume(key: string, timeoutSeconds?: number): Promise<Result<{ sandboxId: string; handle: SandboxHandle; resumed: boolean }>> {
    return asResult(() => this.#logic.holders.resume(key, timeoutSeconds));
  }

  /** Replaces the warm-pool configuration; the pool refills and trims at once. */
  configure(templates: Record<string, PoolTemplateConfig>): Promise<Result<Record<string, PoolTemplateStatus>>> {
    return asResult(() => this.#logic.warm.configure(templates));
  }

  /** Kills orphaned, finished, expired and over-age sandboxes; retries failed kills; frees leases whose sandbox is gone. */
  reap(): Promise<Result<ReapReport>> {
    return asResult(() => this.#logic.reap());
  }

  status(): PoolStatus {
    return this.#logic.status();
  }

  /** The Pool's alarm: retries failed kills, tells waiters again, and looks after the warm pool. */
  override async alarm(): Promise<void> {
    const next = await this.#logic.alarm();
    if (next !== null) await this.ctx.storage.setAlarm(Date.now() + next);
  }
}
