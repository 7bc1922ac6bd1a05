import type { RunPick } from "../../api/pick-responses";
import type { CommandResult, CreateRunRequest, ForkStatus, ForkView, PreparedView, RunSandbox, RunStatus, RunTotals, RunView, StepView } from "../../api/runs";
import { TERMINAL_FORK_STATUSES } from "../../api/runs";
import { roundUsd } from "../../core/costs";
import type { RunEvent } from "../shared/event-hub";
import { EventLog } from "../shared/event-log";
import { rankForks } from "../../runs/ranking";
import type { ForkOutcome } from "../../runs/fork-outcome";
import { parentOf } from "./branch-store";
import { addColumnOnce } from "../shared/migrations";

/**
 * The SQLite state of one run inside its Orchestrator: the run row, its forks, their steps and
 * command results, an append-only event log and a cost ledger whose keys make re-recorded costs
 * count once. All writes are guarded so that late or repeated callbacks are harmless.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS run (
  id TEXT PRIMARY KEY,
  request TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  idempotency_key TEXT,
  status TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS forks (
  n INTEGER PRIMARY KEY,
  status TEXT NOT NULL,
  branch TEXT NOT NULL,
  instance_id TEXT,
  launches INTEGER NOT NULL DEFAULT 0,
  launched_at INTEGER,
  sandbox_id TEXT,
  started_at TEXT,
  finished_at TEXT,
  outcome TEXT,
  error TEXT
);
CREATE INDEX IF NOT EXISTS forks_status ON forks (status);
CREATE TABLE IF NOT EXISTS steps (
  fork INTEGER NOT NULL,
  name TEXT NOT NULL,
  seq INTEGER NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  duration_ms INTEGER,
  PRIMARY KEY (fork, name)
);
CREATE TABLE IF NOT EXISTS commands (
  fork INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  result TEXT NOT NULL,
  PRIMARY KEY (fork, idx)
);
CREATE TABLE IF NOT EXISTS ledger (
  key TEXT PRIMARY KEY,
  fork INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('sandbox','llm')),
  usd REAL NOT NULL,
  at TEXT NOT NULL
);`;

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
}

export interface JudgingRecord {
  k: number;
  status: "running" | "done" | "failed";
  model: string;
  rubric?: string;
  error?: { code: string; message: string };
}

export interface ForkExport {
  n: number;
  status: ForkStatus;
  durationMs: number | null;
  sandboxUsd: number;
  llmUsd: number;
  model: string;
  finishedAt: string;
  steps: { name: string; attempts: number; status: string }[];
}

/** The first step of each replacement of a lost sandbox (steps.ts recoveryStep). */
const RECOVERY_START = /^recover-\d+-release$/;

const TERMINAL_SQL = TERMINAL_FORK_STATUSES.map((s) => `'${s}'`).join(",");

/** Output a run view carries in all (stdout and stderr tails of every command, in characters). */
const VIEW_TAIL_CHARS = 2 * 1024 * 1024;
/** A command's tail as stored (OUTPUT_TAIL_CHARS), and the least a big run's view keeps of one. */
const FULL_TAIL_CHARS = 4096;
const MIN_VIEW_TAIL_CHARS = 128;
/** How a cut tail starts (as TailBuffer marks one). */
const TRUNCATED_MARK = "[…truncated]\n";

export class RunStore {
  readonly #sql: SqlStorage;
  /**
   * The run row and the ledger's sum, cached: this object is the only writer of its storage, and
   * every fork callback reads both (O(1) per callback instead of a parse and a scan).
   */
  #run: RunRecord | null | undefined;
  #spentUsd: number | undefined;
  /** The event log's last sequence number (cached like the above). */
  readonly #events: EventLog;

  /** The sandbox of a run stored before runs recorded theirs: its template as given, the global rates. */
  readonly #legacySandbox: (request: CreateRunRequest) => RunSandbox;

  constructor(sql: SqlStorage, legacySandbox: (request: CreateRunRequest) => RunSandbox) {
    this.#sql = sql;
    this.#legacySandbox = legacySandbox;
    sql.exec(SCHEMA);
    this.#events = new EventLog(sql);
    addColumnOnce(sql, "forks", "exported INTEGER NOT NULL DEFAULT 0");
    // Sandbox time as it accrues: since the sandbox was acquired, less time paused for budget.
    addColumnOnce(sql, "forks", "sandbox_at INTEGER");
    addColumnOnce(sql, "forks", "paused_at INTEGER");
    addColumnOnce(sql, "forks", "paused_ms INTEGER NOT NULL DEFAULT 0");
    // A settled entry is final; an unsettled one (sandbox time so far) only grows until settled.
    addColumnOnce(sql, "ledger", "settled INTEGER NOT NULL DEFAULT 1");
    // A cancelled run whose sandboxes are still to be stopped (done in the background, retried by alarm).
    addColumnOnce(sql, "run", "stop_pending INTEGER NOT NULL DEFAULT 0");
    addColumnOnce(sql, "run", "winner INTEGER");
    // The latest LLM judging ({ k, status, model, error? }); its scores are in `scores`.
    addColumnOnce(sql, "run", "judging TEXT");
    addColumnOnce(sql, "run", "prepared TEXT");
    sql.exec("CREATE TABLE IF NOT EXISTS scores (judging INTEGER NOT NULL, n INTEGER NOT NULL, score REAL, reason TEXT NOT NULL, PRIMARY KEY (judging, n))");
    addColumnOnce(sql, "run", "sandbox TEXT");
    addColumnOnce(sql, "run", "picked TEXT");
  }

  /** Ended forks not yet written to the D1 metrics tables, with what /metrics needs of them. */
  unexportedForks(): ForkExport[] {
    const rows = this.#sql.exec<ForkRow>(`SELECT * FROM forks WHERE exported = 0 AND status IN (${TERMINAL_SQL}) ORDER BY n`).toArray();
    return rows.map((row) => {
      const costs = this.#sql.exec<{ kind: "sandbox" | "llm"; usd: number }>("SELECT kind, SUM(usd) AS usd FROM ledger WHERE fork = ? GROUP BY kind", row.n).toArray();
      const outcome = row.outcome ? (JSON.parse(row.outcome) as ForkOutcome) : null;
      return {
        n: row.n,
        status: row.status as ForkStatus,
        durationMs: row.started_at && row.finished_at ? Date.parse(row.finished_at) - Date.parse(row.started_at) : null,
        sandboxUsd: costs.find((c) => c.kind === "sandbox")?.usd ?? 0,
        llmUsd: costs.find((c) => c.kind === "llm")?.usd ?? 0,
        model: outcome?.agent?.model ?? "",
        finishedAt: row.finished_at ?? new Date().toISOString(),
        steps: this.#sql
          .exec<{ name: string; attempts: number; status: string }>("SELECT name, attempts, status FROM steps WHERE fork = ?", row.n)
          .toArray()
          .map((st) => ({ name: st.name, attempts: st.attempts, status: st.status })),
      };
    });
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
    };
    return this.#run;
  }

  insertRun(record: RunRecord, branches: string[]): void {
    this.#sql.exec(
      "INSERT INTO run (id, request, sandbox, request_hash, idempotency_key, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      record.id,
      JSON.stringify(record.request),
      JSON.stringify(record.sandbox),
      record.requestHash,
      record.idempotencyKey,
      record.status,
      record.createdAt,
      record.updatedAt,
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

  stepStarted(fork: number, name: string, attempt: number): void {
    this.#sql.exec(
      `INSERT INTO steps (fork, name, seq, status, attempts) VALUES (?, ?, (SELECT COUNT(*) FROM steps WHERE fork = ?), 'running', ?)
       ON CONFLICT (fork, name) DO UPDATE SET status = 'running', attempts = MAX(attempts, excluded.attempts)`,
      fork,
      name,
      fork,
      attempt,
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

  stepFinished(fork: number, name: string, attempt: number, ok: boolean, durationMs: number): void {
    this.#sql.exec(
      "UPDATE steps SET status = ?, attempts = MAX(attempts, ?), duration_ms = ? WHERE fork = ? AND name = ?",
      ok ? "succeeded" : "failed",
      attempt,
      durationMs,
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

  /** Books a final cost under `key`, once: a repeated or later booking changes nothing; it replaces an accrual. */
  addCost(key: string, fork: number, kind: "sandbox" | "llm", usd: number, now: string): boolean {
    return this.#ledgerWrite(
      key,
      "INSERT INTO ledger (key, fork, kind, usd, at, settled) VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (key) DO UPDATE SET usd = excluded.usd, at = excluded.at, settled = 1 WHERE settled = 0",
      fork,
      kind,
      usd,
      now,
    );
  }

  /** A cost so far under `key` (e.g. sandbox time): it only grows, until addCost settles it. */
  accrueCost(key: string, fork: number, kind: "sandbox" | "llm", usd: number, now: string): void {
    this.#ledgerWrite(
      key,
      "INSERT INTO ledger (key, fork, kind, usd, at, settled) VALUES (?, ?, ?, ?, ?, 0) ON CONFLICT (key) DO UPDATE SET usd = excluded.usd, at = excluded.at WHERE settled = 0 AND excluded.usd > usd",
      fork,
      kind,
      usd,
      now,
    );
  }

  /** One upsert of the entry `key`, keeping the cached sum in step; returns whether it changed. */
  #ledgerWrite(key: string, upsert: string, fork: number, kind: string, usd: number, now: string): boolean {
    const spent = this.spentUsd();
    const before = this.#sql.exec<{ usd: number }>("SELECT usd FROM ledger WHERE key = ?", key).toArray()[0]?.usd ?? 0;
    // A write that happens sets the entry to `usd`.
    const changed = this.#sql.exec(upsert, key, fork, kind, usd, now).rowsWritten > 0;
    if (changed) this.#spentUsd = spent + usd - before;
    return changed;
  }

  spentUsd(): number {
    this.#spentUsd ??= this.#sql.exec<{ s: number | null }>("SELECT SUM(usd) AS s FROM ledger").one().s ?? 0;
    return this.#spentUsd;
  }

  appendEvent(type: string, fork: number | null, data: Record<string, unknown>, now: string): RunEvent {
    return this.#events.append(type, fork, data, now);
  }

  eventsAfter(seq: number): Generator<RunEvent> {
    return this.#events.after(seq);
  }

  /**
   * The run with all its forks. Output tails share a fixed budget (VIEW_TAIL_CHARS), cut in SQL,
   * so the view of a run with thousands of commands stays a few MB; forkView(n) has them whole.
   */
  view(): RunView | null {
    const run = this.run();
    if (!run) return null;
    const commands = this.#sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM commands").one().n;
    const tailChars = commands * 2 * FULL_TAIL_CHARS <= VIEW_TAIL_CHARS ? null : Math.max(MIN_VIEW_TAIL_CHARS, Math.floor(VIEW_TAIL_CHARS / (2 * commands)));
    const forks = this.#forkViews(null, tailChars);
    const view: RunView = { id: run.id, status: run.status, request: run.request, sandbox: run.sandbox, createdAt: run.createdAt, updatedAt: run.updatedAt, forks, totals: this.totals() };
    const scores = run.judging ? this.scores(run.judging.k) : [];
    if (run.prepared) view.prepared = run.prepared;
    if (run.picked) view.picked = run.picked;
    if (run.judging) view.judging = { status: run.judging.status, model: run.judging.model, scores, ...(run.judging.error ? { error: run.judging.error } : {}) };
    if (run.winner !== undefined || forks.every((f) => TERMINAL_FORK_STATUSES.includes(f.status))) {
      const scored = new Map(scores.flatMap((s) => (s.score === null ? [] : [[s.n, s.score] as const])));
      view.ranking = rankForks(forks, run.judging?.status === "done" ? scored : new Map());
      view.winner = run.winner ?? view.ranking[0]?.n ?? null;
    }
    return view;
  }

  /** One fork with its commands' whole tails. */
  forkView(n: number): ForkView | null {
    return this.#forkViews(n, null)[0] ?? null;
  }

  /** Fork views (all, or fork `only`), tails cut to `tailChars` each when given. */
  #forkViews(only: number | null, tailChars: number | null): ForkView[] {
    const where = only === null ? "" : "WHERE fork = ?";
    const args = only === null ? [] : [only];
    const steps = new Map<number, StepView[]>();
    for (const row of this.#sql.exec<{ fork: number; name: string; status: StepView["status"]; attempts: number; duration_ms: number | null }>(
      `SELECT fork, name, status, attempts, duration_ms FROM steps ${where} ORDER BY fork, seq`,
      ...args,
    )) {
      const list = steps.get(row.fork) ?? [];
      list.push({ name: row.name, status: row.status, attempts: row.attempts, durationMs: row.duration_ms });
      steps.set(row.fork, list);
    }
    const commands = new Map<number, CommandResult[]>();
    const cut = (field: string) =>
      tailChars === null
        ? `json_extract(result, '$.${field}')`
        : `CASE WHEN length(json_extract(result, '$.${field}')) > ${tailChars} THEN '${TRUNCATED_MARK}' || substr(json_extract(result, '$.${field}'), -${tailChars}) ELSE json_extract(result, '$.${field}') END`;
    for (const row of this.#sql.exec<{ fork: number; meta: string; stdout: string | null; stderr: string | null }>(
      `SELECT fork, json_remove(result, '$.stdoutTail', '$.stderrTail') AS meta, ${cut("stdoutTail")} AS stdout, ${cut("stderrTail")} AS stderr FROM commands ${where} ORDER BY fork, idx`,
      ...args,
    )) {
      const list = commands.get(row.fork) ?? [];
      list.push({ ...(JSON.parse(row.meta) as Omit<CommandResult, "stdoutTail" | "stderrTail">), stdoutTail: row.stdout ?? "", stderrTail: row.stderr ?? "" });
      commands.set(row.fork, list);
    }
    const costs = new Map<number, { sandbox: number; llm: number }>();
    for (const row of this.#sql.exec<{ fork: number; kind: "sandbox" | "llm"; usd: number }>(`SELECT fork, kind, SUM(usd) AS usd FROM ledger ${where} GROUP BY fork, kind`, ...args)) {
      const cost = costs.get(row.fork) ?? { sandbox: 0, llm: 0 };
      cost[row.kind] = row.usd;
      costs.set(row.fork, cost);
    }

    return this.#sql
      .exec<ForkRow>(`SELECT * FROM forks ${only === null ? "" : "WHERE n = ?"} ORDER BY n`, ...args)
      .toArray()
      .map((row) => {
        const outcome = row.outcome ? (JSON.parse(row.outcome) as ForkOutcome) : null;
        const cost = costs.get(row.n) ?? { sandbox: 0, llm: 0 };
        const view: ForkView = {
          n: row.n,
          status: apiForkStatus(row.status),
          branch: row.branch,
          sandboxId: row.sandbox_id,
          attempts: row.launches,
          recoveries: (steps.get(row.n) ?? []).filter((s) => RECOVERY_START.test(s.name)).length,
          startedAt: row.started_at,
          finishedAt: row.finished_at,
          steps: steps.get(row.n) ?? [],
          commands: commands.get(row.n) ?? outcome?.commands ?? [],
          costUsd: { sandbox: roundUsd(cost.sandbox), llm: roundUsd(cost.llm), total: roundUsd(cost.sandbox + cost.llm) },
        };
        if (outcome?.check) view.check = outcome.check;
        if (outcome?.diff) view.diff = outcome.diff;
        if (outcome?.agent) view.agent = outcome.agent;
        if (outcome?.pushed) view.pushed = outcome.pushed;
        if (outcome?.artifacts) view.artifacts = outcome.artifacts;
        if (outcome?.kept) view.keptUntil = outcome.kept.until;
        const parent = parentOf(row);
        if (parent) view.parent = parent;
        const error = row.error ? (JSON.parse(row.error) as { code: string; message: string }) : outcome?.error;
        if (error) view.error = error;
        return view;
      });
  }

  /** Fork counts by status and costs by kind, from aggregates: no fork is read. */
  totals(): RunTotals {
    const byStatus = new Map<string, number>();
    for (const row of this.#sql.exec<{ status: StoredForkStatus; n: number }>("SELECT status, COUNT(*) AS n FROM forks GROUP BY status")) {
      const status = apiForkStatus(row.status);
      byStatus.set(status, (byStatus.get(status) ?? 0) + row.n);
    }
    const count = (status: ForkStatus) => byStatus.get(status) ?? 0;
    const costs = { sandbox: 0, llm: 0 };
    for (const row of this.#sql.exec<{ kind: "sandbox" | "llm"; usd: number }>("SELECT kind, SUM(usd) AS usd FROM ledger GROUP BY kind")) costs[row.kind] = row.usd;
    const sandbox = roundUsd(costs.sandbox);
    const llm = roundUsd(costs.llm);
    return {
      succeeded: count("succeeded"),
      budgetExceeded: count("budget_exceeded"),
      failed: count("failed") + count("timed_out"),
      cancelled: count("cancelled"),
      running: count("running"),
      queued: count("queued"),
      costUsd: { sandbox, llm, total: roundUsd(sandbox + llm) },
    };
  }
}

function apiForkStatus(status: StoredForkStatus): ForkStatus {
  return status === "budget_wait" ? "budget_exceeded" : status === "branch_wait" ? "queued" : status;
}
