import type { RunPick } from "../../api/pick-responses";
import type { CommandResult, CreateRunRequest, ForkStatus, ForkView, PreparedView, RunSandbox, RunStatus, RunTotals, RunView } from "../../api/runs";
import type { RunEvent } from "../shared/event-hub";
import { EventLog } from "../shared/event-log";
import { BudgetLedger } from "../shared/budget-ledger";
import { ForkTranscriptStore } from "./fork-transcript-store";
import type { ForkOutcome } from "../../runs/fork-outcome";
import type { TournamentResult } from "../../runs/tournament";
import type { WaveState } from "../../runs/adaptive";
import { RunViews, TERMINAL_SQL, type ForkExport } from "./run-views";
import { sandboxCostKey } from "../../core/costs";
import { LEGACY_CODE_VERSION, type CodeVersionRecord } from "../../protocol/code-version";

export type { ForkExport };

interface RunRow extends Record<string, SqlStorageValue> {
  id: string;
  request: string;
  request_hash: string;
  idempotency_key: string | null;
  status: RunStatus;
  created_at: string;
  updated_at: string;
  stop_pending: number;
  winner: number | null;
  judging: string | null;
  prepared: string | null;
  sandbox: string | null;
  picked: string | null;
  code_version: string | null;
  waves: string | null;
}

/**
 * A fork's stored status: the API's plus `budget_wait` (stopped for budget with its sandbox paused,
 * continuing if the budget is raised; shown as `budget_exceeded`) and `branch_wait` (a branched
 * fork waiting for its parent to be forked; shown as `queued`).
 */
export type StoredForkStatus = ForkStatus | "budget_wait" | "branch_wait";

export interface ForkRow extends Record<string, SqlStorageValue> {
  n: number;
  status: StoredForkStatus;
  branch: string;
  instance_id: string | null;
  launches: number;
  launched_at: number | null;
  sandbox_id: string | null;
  sandbox_at: number | null;
  paused_at: number | null;
  paused_ms: number;
  started_at: string | null;
  finished_at: string | null;
  outcome: string | null;
  error: string | null;
  /** A branched fork's parent and where it stood (branch-store.ts). */
  parent: number | null;
  parent_turn: number | null;
  branched_from: string | null;
  /** A merge fork's sources (merging.ts); null for any other fork. */
  merged_from: string | null;
  /** How many times a budget raise continued the fork after a budget stop ended it (schema version 8). */
  budget_resumes: number;
}

export interface RunRecord {
  id: string;
  request: CreateRunRequest;
  requestHash: string;
  idempotencyKey: string | null;
  status: RunStatus;
  createdAt: string;
  updatedAt: string;
  /** The sandbox its forks get, resolved when it was created. */
  sandbox: RunSandbox;
  /** Cancelled, with its sandboxes still to be stopped. */
  stopPending?: boolean;
  /** The fork that stopped the run (stopWhen: first_check_pass). */
  winner?: number;
  /** The latest LLM judging: its number (1, 2, … per POST …/judge), status and model. */
  judging?: JudgingRecord;
  /** Runs with `prepare`: where the prepared workspace stands. */
  prepared?: PreparedView;
  /** The latest pick of a fork (src/actions/pick.ts). */
  picked?: RunPick;
  /** The code it started on (a run stored before runs recorded it: version 1); its forks' instances carry it. */
  codeVersion: CodeVersionRecord;
  /** strategy adaptive: its waves (absent until the first decision: wave 1 launched, searching). */
  waves?: WaveState;
}

export interface JudgingRecord {
  k: number;
  status: "running" | "done" | "failed";
  model: string;
  rubric?: string;
  /** judge.mode "tournament": pairwise matches after the scores, within this many judge calls. */
  mode?: "tournament";
  maxComparisons?: number;
  /** The tournament's matches and standings (once done). */
  tournament?: TournamentResult;
  error?: { code: string; message: string };
}

/**
 * The SQLite state of one run inside its Orchestrator: the run row, its forks, their steps and
 * command results; beside them its cost ledger (BudgetLedger) and its views (run-views.ts). The
 * schema is orchestrator/schema.ts (the object migrates it; the store runs no DDL). All writes are
 * guarded so that late or repeated callbacks are harmless.
 */
/** What POST /v1/runs (src/actions/create-run.ts) fixed about a run before asking its Orchestrator to create it. */
export interface CreateRunInput {
  id: string;
  request: CreateRunRequest;
  requestHash: string;
  idempotencyKey: string | null;
  branches: string[];
  sandbox: RunSandbox;
  /** The code the run starts on (what the Worker that accepted it runs). */
  codeVersion: CodeVersionRecord;
}

export class RunStore {
  readonly #sql: SqlStorage;
  /** The run's costs and the reservations of its model calls in flight. */
  readonly ledger: BudgetLedger;
  /** Agent forks' transcripts (recorded by their steps). */
  readonly transcript: ForkTranscriptStore;
  /**
   * The run row, cached: this object is the only writer of its storage, and every fork callback
   * reads it (O(1) per callback instead of a parse).
   */
  #run: RunRecord | null | undefined;
  readonly #events: EventLog;
  readonly #views: RunViews;

  /** The sandbox of a run stored before runs recorded theirs: its template as given, the global rates. */
  readonly #legacySandbox: (request: CreateRunRequest) => RunSandbox;

  constructor(sql: SqlStorage, legacySandbox: (request: CreateRunRequest) => RunSandbox) {
    this.#sql = sql;
    this.#legacySandbox = legacySandbox;
    this.ledger = new BudgetLedger(sql, "fork");
    this.transcript = new ForkTranscriptStore(sql);
    this.#events = new EventLog(sql);
    this.#views = new RunViews(sql, this);
  }

  markExported(forks: number[]): void {
    for (const n of forks) this.#sql.exec("UPDATE forks SET exported = 1 WHERE n = ?", n);
  }

  run(): RunRecord | null {
    if (this.#run !== undefined) return this.#run;
    const row = this.#sql.exec<RunRow>("SELECT * FROM run LIMIT 1").toArray()[0];
    if (!row) return null;
    const request = JSON.parse(row.request) as CreateRunRequest;
    this.#run = {
      id: row.id,
      request,
      sandbox: row.sandbox ? (JSON.parse(row.sandbox) as RunSandbox) : this.#legacySandbox(request),
      requestHash: row.request_hash,
      idempotencyKey: row.idempotency_key,
      status: row.status,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      stopPending: row.stop_pending === 1,
      ...(row.winner !== null && row.winner !== undefined ? { winner: row.winner } : {}),
      ...(row.judging ? { judging: JSON.parse(row.judging) as JudgingRecord } : {}),
      ...(row.prepared ? { prepared: JSON.parse(row.prepared) as PreparedView } : {}),
      ...(row.picked ? { picked: JSON.parse(row.picked) as RunPick } : {}),
      codeVersion: row.code_version ? (JSON.parse(row.code_version) as CodeVersionRecord) : { code: LEGACY_CODE_VERSION },
      ...(row.waves ? { waves: JSON.parse(row.waves) as WaveState } : {}),
    };
    return this.#run;
  }

  /** Forgets the cached run row (its storage was deleted). */
  forget(): void {
    this.#run = undefined;
  }

  insertRun(record: RunRecord, branches: string[]): void {
    this.#sql.exec(
      "INSERT INTO run (id, request, sandbox, request_hash, idempotency_key, status, created_at, updated_at, code_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      record.id,
      JSON.stringify(record.request),
      JSON.stringify(record.sandbox),
      record.requestHash,
      record.idempotencyKey,
      record.status,
      record.createdAt,
      record.updatedAt,
      JSON.stringify(record.codeVersion),
    );
    branches.forEach((branch, i) => this.#sql.exec("INSERT INTO forks (n, status, branch) VALUES (?, 'queued', ?)", i + 1, branch));
    this.#run = undefined;
  }

  setBudget(budgetUsd: number, now: string): void {
    const run = this.run();
    if (!run) return;
    const request = { ...run.request, budgetUsd };
    this.#sql.exec("UPDATE run SET request = ?, updated_at = ?", JSON.stringify(request), now);
    this.#run = { ...run, request, updatedAt: now };
  }

  /** Moves a fork between two non-terminal statuses; returns whether it was in `from`. */
  transition(n: number, from: StoredForkStatus, to: StoredForkStatus): boolean {
    return this.#sql.exec("UPDATE forks SET status = ? WHERE n = ? AND status = ?", to, n, from).rowsWritten > 0;
  }

  setRunStatus(status: RunStatus, now: string): void {
    this.#sql.exec("UPDATE run SET status = ?, updated_at = ?", status, now);
    const run = this.run();
    if (run) this.#run = { ...run, status, updatedAt: now };
  }

  /** Records the fork that won (the first to pass its check); false when there was one already. */
  setWinner(n: number): boolean {
    const run = this.run();
    if (!run || run.winner !== undefined) return false;
    this.#sql.exec("UPDATE run SET winner = ? WHERE winner IS NULL", n);
    this.#run = { ...run, winner: n };
    return true;
  }

  setPrepared(prepared: PreparedView): void {
    this.#sql.exec("UPDATE run SET prepared = ?", JSON.stringify(prepared));
    const run = this.run();
    if (run) this.#run = { ...run, prepared };
  }

  /** Records the latest pick (it replaces an earlier one; the event log keeps each). */
  setPicked(picked: RunPick): void {
    this.#sql.exec("UPDATE run SET picked = ?", JSON.stringify(picked));
    const run = this.run();
    if (run) this.#run = { ...run, picked };
  }

  setWaves(waves: WaveState): void {
    this.#sql.exec("UPDATE run SET waves = ?", JSON.stringify(waves));
    const run = this.run();
    if (run) this.#run = { ...run, waves };
  }

  setJudging(judging: JudgingRecord): void {
    this.#sql.exec("UPDATE run SET judging = ?", JSON.stringify(judging));
    const run = this.run();
    if (run) this.#run = { ...run, judging };
  }

  saveScores(k: number, scores: { n: number; score: number | null; reason: string }[]): void {
    for (const s of scores) this.#sql.exec("INSERT OR REPLACE INTO scores (judging, n, score, reason) VALUES (?, ?, ?, ?)", k, s.n, s.score, s.reason);
  }

  scores(k: number): { n: number; score: number | null; reason: string }[] {
    return this.#sql.exec<{ n: number; score: number | null; reason: string }>("SELECT n, score, reason FROM scores WHERE judging = ? ORDER BY n", k).toArray();
  }

  setStopPending(pending: boolean): void {
    this.#sql.exec("UPDATE run SET stop_pending = ?", pending ? 1 : 0);
    const run = this.run();
    if (run) this.#run = { ...run, stopPending: pending };
  }

  touchRun(now: string): void {
    this.#sql.exec("UPDATE run SET updated_at = ?", now);
    const run = this.run();
    if (run) this.#run = { ...run, updatedAt: now };
  }

  fork(n: number): ForkRow | undefined {
    return this.#sql.exec<ForkRow>("SELECT * FROM forks WHERE n = ?", n).toArray()[0];
  }

  forksWithStatus(status: StoredForkStatus, limit = 1000): ForkRow[] {
    return this.#sql.exec<ForkRow>("SELECT * FROM forks WHERE status = ? ORDER BY n LIMIT ?", status, limit).toArray();
  }

  countForks(status: StoredForkStatus): number {
    return this.#sql.exec<{ c: number }>("SELECT COUNT(*) AS c FROM forks WHERE status = ?", status).one().c;
  }

  countUnfinished(): number {
    return this.#sql.exec<{ c: number }>(`SELECT COUNT(*) AS c FROM forks WHERE status NOT IN (${TERMINAL_SQL})`).one().c;
  }

  /** Merge forks added to the run (POST …/merge: merging.ts). */
  countMerges(): number {
    return this.#sql.exec<{ c: number }>("SELECT COUNT(*) AS c FROM forks WHERE merged_from IS NOT NULL").one().c;
  }

  /**
   * A fork that a budget stop ended goes on as instance `instanceId` (RunBudget): running again, its
   * sandbox time counted afresh (under its next life's cost key). True when this call reopened it.
   */
  reopenForBudget(n: number, instanceId: string, now: number): boolean {
    return this.#sql.exec(
      `UPDATE forks SET status = 'running', instance_id = ?, launched_at = ?, finished_at = NULL, error = NULL, sandbox_at = NULL, paused_at = NULL, paused_ms = 0,
       exported = 0, budget_resumes = budget_resumes + 1 WHERE n = ? AND status = 'budget_exceeded'`,
      instanceId,
      now,
      n,
    ).rowsWritten > 0;
  }

  /** Fork n's sandbox cost key for its current life (a fork continued after a budget stop books each life apart). */
  sandboxCostKey(n: number): string {
    return sandboxCostKey(n, this.fork(n)?.budget_resumes ?? 0);
  }

  markLaunched(n: number, instanceId: string, now: number): void {
    this.#sql.exec(
      "UPDATE forks SET status = 'running', instance_id = ?, launches = launches + 1, launched_at = ? WHERE n = ? AND status = 'queued'",
      instanceId,
      now,
      n,
    );
  }

  /** Puts a launched fork back in the queue (its instance could not be created or vanished). */
  requeue(n: number): void {
    this.#sql.exec("UPDATE forks SET status = 'queued' WHERE n = ? AND status = 'running'", n);
  }

  /** Fork n goes on in instance `to` (its continuation), if it still runs as `from`; true when it does now. */
  continueInstance(n: number, from: string, to: string): boolean {
    return this.#sql.exec("UPDATE forks SET instance_id = ? WHERE n = ? AND instance_id = ?", to, n, from).rowsWritten > 0;
  }

  markStarted(n: number, now: string): void {
    this.#sql.exec("UPDATE forks SET started_at = COALESCE(started_at, ?) WHERE n = ?", now, n);
  }

  setSandbox(n: number, sandboxId: string, now: number): void {
    this.#sql.exec("UPDATE forks SET sandbox_id = ?, sandbox_at = COALESCE(sandbox_at, ?) WHERE n = ?", sandboxId, now, n);
  }

  /** The fork's sandbox is paused (waiting for budget) from now: that time is not billed. */
  markPaused(n: number, now: number): void {
    this.#sql.exec("UPDATE forks SET paused_at = COALESCE(paused_at, ?) WHERE n = ?", now, n);
  }

  markUnpaused(n: number, now: number): void {
    this.#sql.exec("UPDATE forks SET paused_ms = paused_ms + (? - paused_at), paused_at = NULL WHERE n = ? AND paused_at IS NOT NULL", now, n);
  }

  /** Seconds the fork's sandbox has run so far (0 before it has one). */
  sandboxSeconds(fork: ForkRow, now: number): number {
    if (fork.sandbox_at === null) return 0;
    const paused = (fork.paused_ms as number) + (fork.paused_at !== null ? now - (fork.paused_at as number) : 0);
    return Math.max(0, (now - (fork.sandbox_at as number) - paused) / 1000);
  }

  /** Ends a fork unless it already ended; returns whether this call ended it. */
  finishFork(n: number, status: ForkStatus, now: string, error?: { code: string; message: string }): boolean {
    const cursor = this.#sql.exec(
      `UPDATE forks SET status = ?, finished_at = ?, error = ? WHERE n = ? AND status NOT IN (${TERMINAL_SQL})`,
      status,
      now,
      error ? JSON.stringify(error) : null,
      n,
    );
    return cursor.rowsWritten > 0;
  }

  /** Keeps a fork's final outcome (results, diff, check); the status is decided by finishFork. */
  /** A fork's final outcome. Its command results live in `commands` only (stored once). */
  saveOutcome(outcome: ForkOutcome): void {
    const { commands, ...rest } = outcome;
    commands.forEach((result, index) => this.#sql.exec("INSERT OR IGNORE INTO commands (fork, idx, result) VALUES (?, ?, ?)", outcome.n, index, JSON.stringify(result)));
    this.#sql.exec("UPDATE forks SET outcome = ?, sandbox_id = COALESCE(?, sandbox_id) WHERE n = ?", JSON.stringify(rest), outcome.sandboxId, outcome.n);
  }

  /** A step attempt started at `at` (epoch ms); the step's start is its first attempt's. */
  stepStarted(fork: number, name: string, attempt: number, at: number): void {
    this.#sql.exec(
      `INSERT INTO steps (fork, name, seq, status, attempts, started_at) VALUES (?, ?, (SELECT COUNT(*) FROM steps WHERE fork = ?), 'running', ?, ?)
       ON CONFLICT (fork, name) DO UPDATE SET status = 'running', attempts = MAX(attempts, excluded.attempts), started_at = COALESCE(started_at, excluded.started_at), ended_at = NULL`,
      fork,
      name,
      fork,
      attempt,
      at,
    );
  }

  /** Is this attempt of the step recorded as running? */
  /** The fork's step that started and has not ended, if any (the latest). */
  runningStep(fork: number): string | null {
    return this.#sql.exec<{ name: string }>("SELECT name FROM steps WHERE fork = ? AND status = 'running' ORDER BY seq DESC LIMIT 1", fork).toArray()[0]?.name ?? null;
  }

  stepRunning(fork: number, name: string, attempt: number): boolean {
    return this.#sql.exec("SELECT 1 FROM steps WHERE fork = ? AND name = ? AND status = 'running' AND attempts >= ?", fork, name, attempt).toArray().length > 0;
  }

  /** When fork `fork`'s step `name` last reported its end (epoch ms), if it did. */
  stepEndedAt(fork: number, name: string): number | undefined {
    const row = this.#sql.exec<{ ended_at: number | null }>("SELECT ended_at FROM steps WHERE fork = ? AND name = ?", fork, name).toArray()[0];
    return row?.ended_at ?? undefined;
  }

  /** A step attempt ended at `at` (epoch ms). */
  stepFinished(fork: number, name: string, attempt: number, ok: boolean, durationMs: number, at: number): void {
    this.#sql.exec(
      "UPDATE steps SET status = ?, attempts = MAX(attempts, ?), duration_ms = ?, ended_at = ?, started_at = COALESCE(started_at, ?) WHERE fork = ? AND name = ?",
      ok ? "succeeded" : "failed",
      attempt,
      durationMs,
      at,
      at - durationMs,
      fork,
      name,
    );
  }

  commandCount(fork: number): number {
    return this.#sql.exec<{ c: number }>("SELECT COUNT(*) AS c FROM commands WHERE fork = ?", fork).one().c;
  }

  saveCommand(fork: number, index: number, result: CommandResult): void {
    this.#sql.exec("INSERT OR REPLACE INTO commands (fork, idx, result) VALUES (?, ?, ?)", fork, index, JSON.stringify(result));
  }

  /** The run with all its forks (run-views.ts). */
  view(): RunView | null {
    return this.#views.view();
  }

  /** One fork with its commands' whole tails. */
  forkView(n: number): ForkView | null {
    return this.#views.forkView(n);
  }

  totals(): RunTotals {
    return this.#views.totals();
  }

  unexportedForks(): ForkExport[] {
    return this.#views.unexportedForks();
  }

  /** The event log after `seq` (what the events stream replays). */
  eventsAfter(seq: number): Generator<RunEvent> {
    return this.#events.after(seq);
  }
}
