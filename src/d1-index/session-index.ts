import type { SessionStatus, SessionSummary, SessionView } from "../api/sessions";
import { newestFirst } from "./newest-first";

/** The D1 cross-session index behind GET /v1/sessions; each Session object keeps its row current. */
export async function upsertSessionSummary(db: D1Database, view: SessionView): Promise<void> {
  await db
    .prepare(
      `INSERT INTO sessions (id, title, status, repo, branch, model, turns, cost_usd, parent_id, created_at, updated_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
       ON CONFLICT (id) DO UPDATE SET title = ?2, status = ?3, model = ?6, turns = ?7, cost_usd = ?8, updated_at = ?11`,
    )
    .bind(view.id, view.title, view.status, view.repo, view.branch, view.model, view.turns.length, view.costUsd.total, view.parent?.sessionId ?? null, view.createdAt, view.updatedAt)
    .run();
}

/** Writes ended turns to the metrics table; repeating it changes nothing. */
export async function exportTurns(db: D1Database, sessionId: string, turns: { n: number; status: string; model: string; started_at: string | null; finished_at: string | null; cost_usd: number | null }[]): Promise<void> {
  if (turns.length === 0) return;
  await db.batch(
    turns.map((t) =>
      db
        .prepare("INSERT OR IGNORE INTO session_turns (session_id, n, status, duration_ms, llm_usd, model, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(sessionId, t.n, t.status, t.started_at && t.finished_at ? Date.parse(t.finished_at) - Date.parse(t.started_at) : null, t.cost_usd ?? 0, t.model, t.finished_at),
    ),
  );
}

/** Newest first, keyset-paginated. */
export async function listSessions(db: D1Database, query: { status?: SessionStatus; limit: number; cursor?: string }): Promise<{ sessions: SessionSummary[]; nextCursor: string | null }> {
  const { rows, nextCursor } = await newestFirst<SessionSummary>(db, "SELECT id, title, status, repo, branch, model, turns, cost_usd AS costUsd, created_at AS createdAt, updated_at AS updatedAt FROM sessions", query);
  return { sessions: rows, nextCursor };
}
