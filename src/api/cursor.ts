import { InvalidInputError } from "../core/errors";

/** Keyset pagination over (created_at DESC, id DESC): the cursor is the last row's pair, opaque to clients. */
export function encodeCursor(createdAt: string, id: string): string {
  return btoa(JSON.stringify([createdAt, id])).replace(/=+$/, "");
}

export function decodeCursor(cursor: string): [string, string] {
  try {
    const value = JSON.parse(atob(cursor)) as unknown;
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === "string" && typeof value[1] === "string") return [value[0], value[1]];
  } catch {
    // fall through
  }
  throw new InvalidInputError("cursor is not a cursor returned by this API.", { field: "cursor" });
}

/** The WHERE clauses and binds of one page: an optional status, the `extra` filters, then rows after the cursor. */
export function pageFilter(query: { status?: string; cursor?: string }, extra: { clauses: string[]; binds: unknown[] } = { clauses: [], binds: [] }): { where: string; binds: unknown[] } {
  const clauses: string[] = [];
  const binds: unknown[] = [];
  if (query.status) {
    clauses.push("status = ?");
    binds.push(query.status);
  }
  clauses.push(...extra.clauses);
  binds.push(...extra.binds);
  if (query.cursor) {
    const [createdAt, id] = decodeCursor(query.cursor);
    clauses.push("(created_at < ? OR (created_at = ? AND id < ?))");
    binds.push(createdAt, createdAt, id);
  }
  return { where: clauses.length ? `WHERE ${clauses.join(" AND ")}` : "", binds };
}
