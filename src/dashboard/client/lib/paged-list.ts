/**
 * A table body filled page by page from a keyset-paginated list (GET `path`?limit=&cursor=&…):
 * "Load more" follows the cursor, and while only the first page is shown and the tab is visible,
 * that page is read again every REFRESH_MS. `rows(page)` makes a page's rows; `shown(count)` is
 * told how many rows the table has after each load.
 */
import { api, errorMessage, isAbort, isUnauthorized, PAGE_SIZE } from "./api.ts";
import { h } from "./dom.ts";

const REFRESH_MS = 5000;

export interface PagedListParts<P extends { nextCursor: string | null }> {
  tbody: HTMLElement;
  more: HTMLButtonElement;
  error: HTMLElement;
  path: string;
  /** Filters beside limit and cursor (empty values are left out). */
  filters?: Record<string, string | undefined>;
  signal: AbortSignal;
  rows: (page: P) => Node[];
  shown?: (count: number) => void;
}

export function pagedList<P extends { nextCursor: string | null }>(parts: PagedListParts<P>): { load(reset: boolean): Promise<void>; stop(): void } {
  const read = async (cursor: string | null) => {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    for (const [name, value] of Object.entries(parts.filters ?? {})) if (value) query.set(name, value);
    if (cursor) query.set("cursor", cursor);
    const page = await api<P>(`${parts.path}?${query.toString()}`, { signal: parts.signal });
    return { rows: parts.rows(page), nextCursor: page.nextCursor };
  };
  let cursor: string | null = null;
  let pages = 0;
  async function load(reset: boolean): Promise<void> {
    parts.more.disabled = true;
    try {
      const page = await read(reset ? null : cursor);
      parts.error.textContent = "";
      if (reset) {
        parts.tbody.replaceChildren();
        pages = 0;
      }
      pages++;
      parts.tbody.append(...page.rows);
      cursor = page.nextCursor;
      parts.more.hidden = !cursor;
      parts.shown?.(parts.tbody.children.length);
    } catch (err) {
      if (!isAbort(err) && !isUnauthorized(err)) parts.error.textContent = errorMessage(err);
    } finally {
      parts.more.disabled = false;
    }
  }
  parts.more.onclick = () => void load(false);
  const timer = setInterval(() => {
    if (pages <= 1 && document.visibilityState === "visible") void load(true);
  }, REFRESH_MS);
  return { load, stop: () => clearInterval(timer) };
}

/** A list's table in its card: a caption for screen readers, one header per column, then `after` (an empty-list note). */
export function listTable(caption: string, columns: string[], tbody: HTMLElement, ...after: Node[]): HTMLElement {
  return h(
    "div",
    { class: "card table-wrap" },
    h("table", { class: "runs" }, h("caption", { class: "sr-only" }, caption), h("thead", null, h("tr", null, columns.map((t) => h("th", { scope: "col" }, t)))), tbody),
    ...after,
  );
}
