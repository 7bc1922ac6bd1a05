import { DurableObject } from "cloudflare:workers";
import { evalLinks, type CreateEvalRequest, type EvalResults, type EvalView } from "../../api/evals";
import { judgesWithModel, TERMINAL_RUN_STATUSES, type RunView } from "../../api/runs";
import { createRun } from "../../actions/create-run";
import type { Env } from "../../core/env";
import { loadConfig } from "../../core/env";
import { asResult, type Result } from "../../core/errors";
import { evalRunBody, evalRunKey, nextRunBudget } from "../../evals/plan";
import { evalResults } from "../../evals/results";
import { errorFields, log } from "../../observability/log";
import { createInstanceOnce } from "../../protocol/create-instance";
import { evalCheckInstanceId, type EvalCheckOutcome, type EvalCheckParams } from "../../protocol/eval-check";
import { runIdForIdempotencyKey } from "../../protocol/run-ids";
import { EventChannel } from "../shared/event-channel";
import { migrate } from "../shared/migrations";
import { EvalStore, type EvalFork, type EvalRecord, type EvalRunRow } from "./eval-store";
import { EVAL_MIGRATIONS } from "./schema";
import { deleteEvalState, type EvalWiped } from "./eval-deletion";
import { evalSummaryOf, upsertEvalSummary } from "../../d1-index/eval-index";

/** A hidden check's sandbox time limit. */
export const HIDDEN_CHECK_TIMEOUT_SECONDS = 1800;

/**
 * Evaluation Durable Object, one per eval (`idFromName(evalId)`): the suite (tasks, configs, hidden
 * checks) and its progress in SQLite. Its alarm (every RECONCILE_INTERVAL_SECONDS while it runs)
 * launches task × config runs through POST /v1/runs's own code (src/actions/create-run.ts) while
 * fewer than `maxConcurrent` are in flight and the eval's budget lasts, watches them end, then
 * starts one hidden-check Workflow per fork that succeeded (src/workflows/eval-check-workflow.ts)
 * and keeps their verdicts. Every step of it is idempotent: a run's id and budget are fixed in
 * storage before it is created (its idempotency key makes a retry the same run), a check's instance
 * id is fixed per fork; so a restart simply runs the alarm again.
 */
export class Evaluation extends DurableObject<Env> {
  readonly #store: EvalStore;
  /** Progress events (eval.*), replayed and followed by GET /v1/evals/:id/events. */
  readonly #events: EventChannel;
  #ticking: Promise<void> | undefined;
  #again = false;
  /** The row last written to D1's evals index (GET /v1/evals), to write only what changed. */
  #indexed = "";

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrate(ctx.storage, EVAL_MIGRATIONS);
    this.#store = new EvalStore(ctx.storage.sql);
    this.#events = new EventChannel(ctx.storage.sql, "eval");
  }

  /** GET /events: the eval's event log from after Last-Event-ID, then live events until it ends. */
  override async fetch(request: Request): Promise<Response> {
    const record = this.#store.record();
    if (request.method !== "GET" || new URL(request.url).pathname !== "/events" || !record) return new Response("not found", { status: 404 });
    return this.#events.response(request, this.#open().length > 0);
  }

  #open(): EvalRunRow[] {
    return this.#store.runs().filter((r) => r.status === "queued" || r.status === "running" || r.status === "checking");
  }

  create(input: { id: string; request: CreateEvalRequest }): Promise<Result<EvalView>> {
    return asResult(async () => {
      if (!this.#store.record()) {
        const now = new Date().toISOString();
        this.#store.saveRecord({ id: input.id, name: input.request.name, request: input.request, status: "running", createdAt: now, updatedAt: now });
        this.#store.insertRuns(input.request.configs.flatMap((c) => input.request.tasks.map((t) => ({ task: t.id, config: c.name }))));
        this.#events.emit("eval.created", null, { runs: input.request.tasks.length * input.request.configs.length });
        await this.ctx.storage.setAlarm(Date.now());
      }
      await this.#index();
      return this.#view()!;
    });
  }

  async view(): Promise<EvalView | null> {
    return this.#view();
  }

  async results(): Promise<EvalResults | null> {
    const record = this.#store.record();
    if (!record) return null;
    return evalResults(record.id, record.status, record.request, this.#store.runs(), this.#store.checks());
  }

  /** Stops launching runs and cancels those in flight; the ones already checked keep their figures. */
  cancel(): Promise<Result<EvalView>> {
    return asResult(async () => {
      const record = this.#store.record();
      if (!record) throw new Error("no eval");
      if (record.status === "running") {
        this.#setStatus(record, "cancelled");
        this.#events.emit("eval.cancelled", null, {});
        for (const row of this.#store.runs()) {
          if (row.status === "queued") this.#store.setStatus(row.seq, "skipped");
          else if (row.status === "running" && row.runId) await this.env.ORCHESTRATOR.getByName(row.runId).cancel();
        }
      }
      await this.#index();
      return this.#view()!;
    });
  }

  /** DELETE /v1/evals/:id (an ended eval): its storage, alarm and eval_runs rows (eval-deletion.ts). */
  deleteState(): Promise<Result<EvalWiped | null>> {
    return asResult(() => deleteEvalState(this.ctx, this.env.DB, this.#store, this.#events));
  }

  /** A hidden check's verdict (src/workflows/eval-check-workflow.ts); a repeated report changes nothing. */
  async checkDone(runId: string, n: number, outcome: EvalCheckOutcome): Promise<void> {
    // The next pass (maybe the eval's end) runs now, without holding up the check's report step.
    if (!this.#store.checkDone(runId, n, outcome)) return;
    const row = this.#store.runs().find((r) => r.runId === runId);
    this.#events.emit("eval.checked", n, { task: row?.task, config: row?.config, runId, passed: outcome.passed, ...(outcome.error ? { error: outcome.error } : {}) });
    this.ctx.waitUntil(this.#tick());
  }

  override async alarm(): Promise<void> {
    await this.#tick();
  }

  /** One pass at a time; a pass asked for meanwhile runs right after. */
  async #tick(): Promise<void> {
    if (this.#ticking) {
      this.#again = true;
      return this.#ticking;
    }
    this.#ticking = (async () => {
      do {
        this.#again = false;
        await this.#pass().then(() => this.#index()).catch(async (err) => {
          log("warn", "eval.tick_failed", { evalId: this.#store.record()?.id, ...errorFields(err) });
          // Tried again on the next alarm (every step of a pass is safe to repeat).
          await this.ctx.storage.setAlarm(Date.now() + loadConfig(this.env).RECONCILE_INTERVAL_SECONDS * 1000);
        });
      } while (this.#again);
    })().finally(() => (this.#ticking = undefined));
    return this.#ticking;
  }

  async #pass(): Promise<void> {
    const record = this.#store.record();
    if (!record) return;
    for (const row of this.#store.runs()) {
      if (row.status === "running" && row.runId) await this.#observe(record, row);
      else if (row.status === "checking") await this.#watchChecks(record, row);
    }
    if (record.status === "running") await this.#launch(record);
    if (this.#open().length === 0) {
      if (record.status === "running") this.#setStatus(record, this.#store.runs().some((r) => r.status === "skipped") ? "budget_exceeded" : "completed");
      if (!record.finishedAt) {
        record.finishedAt = new Date().toISOString();
        this.#store.saveRecord(record);
        this.#events.emit("eval.finished", null, { status: record.status });
      }
      this.#events.closeAll();
      await this.ctx.storage.deleteAlarm();
      return;
    }
    await this.ctx.storage.setAlarm(Date.now() + loadConfig(this.env).RECONCILE_INTERVAL_SECONDS * 1000);
  }

  /** A run in flight: its cost so far; once it ended (and its judging with it), its forks' hidden checks start. */
  async #observe(record: EvalRecord, row: EvalRunRow): Promise<void> {
    const orchestrator = this.env.ORCHESTRATOR.getByName(row.runId!);
    const view = await orchestrator.view();
    if (!view) return;
    this.#store.setCost(row.seq, view.totals.costUsd.total);
    // The eval does not raise a run's budget: a run that spent its share ends there.
    if (view.status === "budget_exceeded") await orchestrator.cancel();
    if (!runEnded(view)) return;
    const scores = new Map((view.judging?.status === "done" ? view.judging.scores : []).map((s) => [s.n, s.score]));
    const forks: EvalFork[] = view.forks.map((f) => ({ n: f.n, status: f.status, ...(scores.has(f.n) ? { score: scores.get(f.n)! } : {}) }));
    const finished = Math.max(...view.forks.map((f) => (f.finishedAt ? Date.parse(f.finishedAt) : 0)), Date.parse(view.updatedAt));
    const picks = view.judging?.selected?.rankedBy === "tournament" ? { selected: { pointwise: view.judging.selected.pointwise, tournament: view.judging.selected.tournament } } : {};
    this.#store.ended(row.seq, { costUsd: view.totals.costUsd.total, durationMs: Math.max(0, finished - Date.parse(view.createdAt)), winner: view.winner ?? null, forks, ...picks }, row.runId!);
    this.#events.emit("eval.run_ended", null, { task: row.task, config: row.config, runId: row.runId, status: view.status, winner: view.winner ?? null });
    // A cancelled eval starts no more hidden checks: its runs' forks stay unchecked.
    if (record.status === "cancelled") for (const f of forks) this.#store.checkDone(row.runId!, f.n, { passed: null, error: "eval_cancelled", costUsd: 0 });
    else await this.#startChecks(record, row.runId!, view);
    this.#settleChecks({ ...row, status: "checking" });
  }

  /** One hidden-check instance per fork that succeeded (fixed ids: a repeat finds them). */
  async #startChecks(record: EvalRecord, runId: string, view: RunView): Promise<void> {
    const row = this.#store.runs().find((r) => r.runId === runId)!;
    const task = record.request.tasks.find((t) => t.id === row.task)!;
    for (const check of this.#store.checks().filter((c) => c.runId === runId && c.status === "pending")) {
      const params: EvalCheckParams = {
        evalId: record.id,
        runId,
        n: check.n,
        repo: view.request.repo,
        branch: view.request.branch,
        ...(view.request.commit ? { commit: view.request.commit } : {}),
        template: view.sandbox.templateId,
        sandboxRate: { vcpu: view.sandbox.vcpu, memoryGib: view.sandbox.memoryGib },
        ...(task.prepare ? { prepare: task.prepare } : {}),
        hiddenCheck: task.hiddenCheck,
        ...(task.hiddenPatch ? { hiddenPatch: task.hiddenPatch } : {}),
        timeoutSeconds: HIDDEN_CHECK_TIMEOUT_SECONDS,
      };
      await createInstanceOnce(this.env.EVAL_CHECK_WORKFLOW, evalCheckInstanceId(record.id, runId, check.n), params);
    }
  }

  /**
   * A run's pending checks: an instance that ended without its report (its report step gave up)
   * is settled from its own status; one that is missing (lost before it was created) is created.
   */
  async #watchChecks(record: EvalRecord, row: EvalRunRow): Promise<void> {
    for (const check of this.#store.checks().filter((c) => c.runId === row.runId && c.status === "pending")) {
      const instance = await this.env.EVAL_CHECK_WORKFLOW.get(evalCheckInstanceId(record.id, row.runId!, check.n)).catch(() => undefined);
      if (!instance) {
        const view = await this.env.ORCHESTRATOR.getByName(row.runId!).view();
        if (view) await this.#startChecks(record, row.runId!, view);
        return;
      }
      const status = await instance.status();
      if (status.status === "complete" && status.output) this.#store.checkDone(row.runId!, check.n, status.output as EvalCheckOutcome);
      else if (status.status === "errored" || status.status === "terminated") this.#store.checkDone(row.runId!, check.n, { passed: null, error: `hidden check ${status.status}`, costUsd: 0 });
    }
    this.#settleChecks(row);
  }

  #settleChecks(row: EvalRunRow): void {
    if (!this.#store.checks().some((c) => c.runId === row.runId && c.status === "pending")) this.#store.setStatus(row.seq, "done");
  }

  /**
   * Launches queued runs while fewer than maxConcurrent are in flight and the budget lasts: each
   * one's id and budget fixed in storage first (in order: each budget counts those before it),
   * then all of them created at once.
   */
  async #launch(record: EvalRecord): Promise<void> {
    const batch: EvalRunRow[] = [];
    for (;;) {
      const runs = this.#store.runs();
      const inFlight = runs.filter((r) => r.status === "running" || (r.status === "queued" && r.runId)).length;
      const next = runs.find((r) => r.status === "queued" && !r.runId);
      if (!next || inFlight >= record.request.maxConcurrent) break;
      const budget = this.#nextBudget(record, runs);
      if (budget === 0) {
        for (const r of runs.filter((r) => r.status === "queued" && !r.runId)) this.#store.setStatus(r.seq, "skipped", "the eval's budget is spent");
        break;
      }
      this.#store.assign(next.seq, await runIdForIdempotencyKey(evalRunKey(record.id, next.task, next.config)), budget);
    }
    // Assigned but not created yet: this pass's, and any a restart left.
    batch.push(...this.#store.runs().filter((r) => r.status === "queued" && r.runId));
    await Promise.all(batch.map((row) => this.#createRun(record, row)));
  }

  /** Creates an assigned run (its idempotency key makes a repeat the same run). */
  async #createRun(record: EvalRecord, row: EvalRunRow): Promise<void> {
    const { request } = record;
    const runId = row.runId!;
    const task = request.tasks.find((t) => t.id === row.task)!;
    const config = request.configs.find((c) => c.name === row.config)!;
    try {
      // Kept from retention while the eval exists (migrations/0008_eval_runs.sql).
      await this.env.DB.prepare("INSERT OR IGNORE INTO eval_runs (run_id, eval_id, created_at) VALUES (?, ?, ?)").bind(runId, record.id, new Date().toISOString()).run();
      await createRun(this.env, evalRunBody(record.id, task, config, row.budgetUsd), { idempotencyKey: evalRunKey(record.id, row.task, row.config) });
      this.#store.setStatus(row.seq, "running");
      this.#events.emit("eval.run_started", null, { task: row.task, config: row.config, runId, budgetUsd: row.budgetUsd });
    } catch (err) {
      log("warn", "eval.run_not_created", { evalId: record.id, task: row.task, config: row.config, ...errorFields(err) });
      this.#store.setStatus(row.seq, "failed", err instanceof Error ? err.message.slice(0, 500) : String(err));
    }
  }

  /** What is spent or reserved: ended runs' costs, in-flight (or assigned) runs' budgets (or costs so far), hidden checks. */
  #nextBudget(record: EvalRecord, runs: EvalRunRow[]): number | null {
    const budget = record.request.budgetUsd ?? null;
    if (budget === null) return null;
    const reserved = (r: EvalRunRow) => r.status === "running" || (r.status === "queued" && r.runId !== null);
    const committed = runs.reduce((s, r) => s + (reserved(r) ? Math.max(r.budgetUsd ?? 0, r.costUsd) : r.costUsd), 0) + this.#store.checks().reduce((s, c) => s + c.costUsd, 0);
    return nextRunBudget(budget, committed, runs.filter((r) => r.status === "queued" && r.runId === null).length);
  }

  /** Writes the eval's row of D1's evals index when it changed (a failed write is tried again on the next pass). */
  async #index(): Promise<void> {
    const view = this.#view();
    if (!view) return;
    const summary = evalSummaryOf(view);
    const key = JSON.stringify(summary);
    if (key === this.#indexed) return;
    try {
      await upsertEvalSummary(this.env.DB, summary);
      this.#indexed = key;
    } catch (err) {
      log("warn", "eval.index_failed", { evalId: view.id, ...errorFields(err) });
    }
  }

  #setStatus(record: EvalRecord, status: EvalRecord["status"]): void {
    record.status = status;
    record.updatedAt = new Date().toISOString();
    this.#store.saveRecord(record);
  }

  #view(): EvalView | null {
    const record = this.#store.record();
    if (!record) return null;
    const runs = this.#store.runs();
    const count = (s: EvalRunRow["status"]) => runs.filter((r) => r.status === s).length;
    const spent = runs.reduce((s, r) => s + r.costUsd, 0) + this.#store.checks().reduce((s, c) => s + c.costUsd, 0);
    const { request } = record;
    return {
      id: record.id,
      name: record.name,
      status: record.status,
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
      maxConcurrent: request.maxConcurrent,
      budgetUsd: request.budgetUsd ?? null,
      spentUsd: spent,
      configs: request.configs.map((c) => ({ name: c.name, model: c.model, forks: c.forks, ...(c.judge ? { judge: c.judge } : {}), ...(c.strategy ? { strategy: c.strategy } : {}) })),
      tasks: request.tasks.map((t) => ({ id: t.id, repo: t.repo, ...(t.ref ? { ref: t.ref } : {}), ...(t.commit ? { commit: t.commit } : {}) })),
      progress: { runs: runs.length, queued: count("queued"), running: count("running"), checking: count("checking"), done: count("done"), failed: count("failed"), skipped: count("skipped") },
      links: evalLinks(record.id),
    };
  }
}

/** Ended for the eval: a final status, and no judging still to come. */
function runEnded(view: RunView): boolean {
  if (!TERMINAL_RUN_STATUSES.includes(view.status) || view.judging?.status === "running") return false;
  const awaitsJudging = view.status === "completed" && judgesWithModel(view.request.judge) && !view.judging && view.forks.some((f) => f.status === "succeeded");
  return !awaitsJudging;
}
