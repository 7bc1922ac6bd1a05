import type { CreateEvalRequest, EvalRunStatus, EvalStatus } from "../../api/evals";
import type { EvalCheckOutcome } from "../../protocol/eval-check";
import type { CheckOutcomeRow, RunOutcomeRow, SelectorPicks } from "../../evals/results";

export interface EvalRecord {
  id: string;
  name: string;
  request: CreateEvalRequest;
  status: EvalStatus;
  createdAt: string;
  updatedAt: string;
  /** When its last run settled (the eval.finished event was sent). */
  finishedAt?: string;
}

/** A fork of an ended run, as the eval keeps it. */
export type EvalFork = RunOutcomeRow["forks"][number];

/** A task × config run as stored: what the results read (evals/results.ts), plus its place and budget. */
export interface EvalRunRow extends RunOutcomeRow {
  seq: number;
  budgetUsd: number | null;
}

/** A fork's hidden check as stored. */
export type EvalCheckRow = CheckOutcomeRow;

type RunSql = { seq: number; task: string; config: string; run_id: string | null; status: string; budget_usd: number | null; cost_usd: number; duration_ms: number; winner: number | null; forks: string | null; error: string | null; selected: string | null };
type CheckSql = { run_id: string; n: number; status: string; passed: number | null; error: string | null; cost_usd: number };

/** The Evaluation's rows (schema.ts); no DDL here. */
export class EvalStore {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  record(): EvalRecord | undefined {
    const row = this.#sql.exec<{ record: string }>("SELECT record FROM meta WHERE id = 1").toArray()[0];
    return row ? (JSON.parse(row.record) as EvalRecord) : undefined;
  }

  saveRecord(record: EvalRecord): void {
    this.#sql.exec("INSERT INTO meta (id, record) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET record = excluded.record", JSON.stringify(record));
  }

  /** One queued row per task × config, tasks in order within each config's order. */
  insertRuns(pairs: { task: string; config: string }[]): void {
    pairs.forEach((p, seq) => this.#sql.exec("INSERT OR IGNORE INTO runs (seq, task, config, status) VALUES (?, ?, ?, 'queued')", seq, p.task, p.config));
  }

  runs(): EvalRunRow[] {
    return this.#sql.exec<RunSql>("SELECT * FROM runs ORDER BY seq").toArray().map((r) => ({
      seq: r.seq,
      task: r.task,
      config: r.config,
      runId: r.run_id,
      status: r.status as EvalRunStatus,
      budgetUsd: r.budget_usd,
      costUsd: r.cost_usd,
      durationMs: r.duration_ms,
      winner: r.winner,
      forks: r.forks ? (JSON.parse(r.forks) as EvalFork[]) : [],
      error: r.error,
      ...(r.selected ? { selected: JSON.parse(r.selected) as SelectorPicks } : {}),
    }));
  }

  /** Fixes a queued run's id and budget before it is created (a retry creates the same run). */
  assign(seq: number, runId: string, budgetUsd: number | null): void {
    this.#sql.exec("UPDATE runs SET run_id = ?, budget_usd = ? WHERE seq = ?", runId, budgetUsd, seq);
  }

  setStatus(seq: number, status: EvalRunStatus, error: string | null = null): void {
    this.#sql.exec("UPDATE runs SET status = ?, error = COALESCE(?, error) WHERE seq = ?", status, error, seq);
  }

  setCost(seq: number, costUsd: number): void {
    this.#sql.exec("UPDATE runs SET cost_usd = ? WHERE seq = ?", costUsd, seq);
  }

  /** A run ended: its outcome as seen, and a pending check per fork that succeeded (the others are done, not passed). */
  ended(seq: number, outcome: { costUsd: number; durationMs: number; winner: number | null; forks: EvalFork[]; selected?: SelectorPicks }, runId: string): void {
    const selected = outcome.selected ? JSON.stringify(outcome.selected) : null;
    this.#sql.exec("UPDATE runs SET status = 'checking', cost_usd = ?, duration_ms = ?, winner = ?, forks = ?, selected = ? WHERE seq = ?", outcome.costUsd, outcome.durationMs, outcome.winner, JSON.stringify(outcome.forks), selected, seq);
    for (const f of outcome.forks) {
      const pending = f.status === "succeeded";
      this.#sql.exec("INSERT OR IGNORE INTO checks (run_id, n, status, passed) VALUES (?, ?, ?, ?)", runId, f.n, pending ? "pending" : "done", pending ? null : 0);
    }
  }

  checks(): EvalCheckRow[] {
    return this.#sql.exec<CheckSql>("SELECT * FROM checks ORDER BY run_id, n").toArray().map((c) => ({
      runId: c.run_id,
      n: c.n,
      status: c.status as EvalCheckRow["status"],
      passed: c.passed === null ? null : c.passed === 1,
      error: c.error,
      costUsd: c.cost_usd,
    }));
  }

  /** A hidden check's verdict; false when it was already recorded (a repeated report). */
  checkDone(runId: string, n: number, outcome: EvalCheckOutcome): boolean {
    const passed = outcome.passed === null ? null : outcome.passed ? 1 : 0;
    const cursor = this.#sql.exec("UPDATE checks SET status = 'done', passed = ?, error = ?, cost_usd = ? WHERE run_id = ? AND n = ? AND status = 'pending'", passed, outcome.error ?? null, outcome.costUsd, runId, n);
    return cursor.rowsWritten > 0;
  }
}
