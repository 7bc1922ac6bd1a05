import type { EvalPage, EvalSummary, EvalView, ListEvalsQuery } from "../api/evals";
import { newestFirst } from "./newest-first";

/** An eval's row of the index as its view gives it. */
export function evalSummaryOf(view: EvalView): EvalSummary {
  const p = view.progress;
  return {
    id: view.id,
    name: view.name,
    status: view.status,
    configs: view.configs.length,
    tasks: view.tasks.length,
    runs: p.runs,
    settled: p.done + p.failed + p.skipped,
    spentUsd: view.spentUsd,
    createdAt: view.createdAt,
    updatedAt: view.updatedAt,
  };
}

/** The D1 cross-eval index behind GET /v1/evals (migrations/0011_evals.sql); each Evaluation keeps its row current. */
export async function upsertEvalSummary(db: D1Database, s: EvalSummary): Promise<void> {
  await db
    .prepare(
      `INSERT INTO evals (id, name, status, configs, tasks, runs, settled, spent_usd, created_at, updated_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
       ON CONFLICT (id) DO UPDATE SET status = ?3, settled = ?7, spent_usd = ?8, updated_at = ?10`,
    )
    .bind(s.id, s.name, s.status, s.configs, s.tasks, s.runs, s.settled, s.spentUsd, s.createdAt, s.updatedAt)
    .run();
}

/** Newest first, keyset-paginated. */
export async function listEvals(db: D1Database, query: ListEvalsQuery): Promise<EvalPage> {
  const { rows, nextCursor } = await newestFirst<EvalSummary>(db, "SELECT id, name, status, configs, tasks, runs, settled, spent_usd AS spentUsd, created_at AS createdAt, updated_at AS updatedAt FROM evals", query);
  return { evals: rows, nextCursor };
}
