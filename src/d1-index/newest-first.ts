import { encodeCursor, pageFilter } from "../api/cursor";

/**
 * One page of an index, newest first (keyset pagination over created_at, id): `select` names the
 * columns and the table; its rows carry `createdAt` and `id` for the next page's cursor.
 */
export async function newestFirst<T extends { createdAt: string; id: string }>(
  db: D1Database,
  select: string,
  query: { status?: string; cursor?: string; limit: number },
): Promise<{ rows: T[]; nextCursor: string | null }> {
  const { where, binds } = pageFilter(query);
  const found = (await db.prepare(`${select} ${where} ORDER BY created_at DESC, id DESC LIMIT ?`).bind(...binds, query.limit + 1).all<T>()).results;
  const rows = found.slice(0, query.limit);
  const last = rows[rows.length - 1];
  return { rows, nextCursor: found.length > query.limit && last ? encodeCursor(last.createdAt, last.id) : null };
}
