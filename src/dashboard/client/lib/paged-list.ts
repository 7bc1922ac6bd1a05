/**
 * A table body filled page by page from a keyset-paginated list (GET …?cursor=): "Load more"
 * follows the cursor, and while only the first page is shown and the tab is visible, that page is
 * read again every REFRESH_MS. `read(cursor)` answers one page's rows and the next cursor;
 * `shown(count)` is told how many rows the table has after each load.
 */
import { errorMessage, isAbort, isUnauthorized } from "./api.ts";

const REFRESH_MS = 5000;

export interface PagedListParts {
  tbody: HTMLElement;
  more: HTMLButtonElement;
  error: HTMLElement;
  read: (cursor: string | null) => Promise<{ rows: Node[]; nextCursor: string | null }>;
  shown?: (count: number) => void;
}

export function pagedList(parts: PagedListParts): { load(reset: boolean): Promise<void>; stop(): void } {
  let cursor: string | null = null;
  let pages = 0;
  async function load(reset: boolean): Promise<void> {
    parts.more.disabled = true;
    try {
      const page = await parts.read(reset ? null : cursor);
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
