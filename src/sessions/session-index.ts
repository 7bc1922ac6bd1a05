import type { SessionStatus, SessionSummary, SessionView } from "../api/sessions";
import { encodeCursor, pageFilter } from "../api/cursor";

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

interface SessionRow {
  id: string;
  title: string;
  status: SessionStatus;
  repo: string;
  branch: string;
  model: string;
  turns: number;
  cost_usd: number;
  created_at: string;
  updated_at: string;
}

/** Newest first, keyset-paginated. */
export async function listSessions(db: D1Database, query: { status?: SessionStatus; limit: number; cursor?: string }): Promise<{ sessions: SessionSummary[]; nextCursor: string | null }> {
  const { where, binds } = pageFilter(query);
  const rows = (await db.prepare(`SELECT * FROM sessions ${where} ORDER BY created_at DESC, id DESC LIMIT ?`).bind(...binds, query.limit + 1).all<SessionRow>()).results;
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    sessions: page.map((r) => ({
      id: r.id,
      title: r.title,
      status: r.status,
      repo: r.repo,
      branch: r.branch,
      model: r.model,
      turns: r.turns,
      costUsd: r.cost_usd,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    })),
    nextCursor: rows.length > query.limit && last ? encodeCursor(last.created_at, last.id) : null,
  };
}
