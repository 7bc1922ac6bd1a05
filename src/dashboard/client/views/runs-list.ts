/** `#/`: runs, newest first, filtered by status; "Load more" follows the cursor; the first page refreshes every 5 s. */
import { RUN_STATUSES } from "../../../api/client-types.ts";
import type { RunPage, RunSummary } from "../lib/api-types.ts";
import { api, errorMessage, isAbort, isUnauthorized, PAGE_SIZE } from "../lib/api.ts";
import { badge, h, human } from "../lib/dom.ts";
import { fmtUsd, shortRepo } from "../lib/format.ts";
import { forkCounts } from "../lib/fork-labels.ts";
import { focusHeading, main, timeEl } from "../lib/page.ts";
import type { Cleanup } from "../router.ts";


export function showRuns(params: URLSearchParams): Cleanup {
  document.title = "Runs · Forkyard";
  const wanted = params.get("status");
  const status = RUN_STATUSES.find((s) => s === wanted) ?? "";
  const controller = new AbortController();
  let cursor: string | null = null;
  let pages = 0;

  const select = h(
    "select",
    { id: "status-filter", onchange: () => (location.hash = select.value ? "#/?status=" + encodeURIComponent(select.value) : "#/") },
    h("option", { value: "" }, "All statuses"),
    RUN_STATUSES.map((s) => h("option", { value: s, selected: s === status }, human(s))),
  );
  const tbody = h("tbody");
  const more = h("button", { type: "button", hidden: true, onclick: () => void load(false) }, "Load more");
  const note = h("div", { class: "empty", hidden: true });
  const error = h("p", { class: "alert", role: "alert" });

  main.replaceChildren(
    h(
      "div",
      { class: "page-head" },
      h("h1", null, "Runs"),
      h(
        "div",
        { class: "actions" },
        h("label", { for: "status-filter", class: "sr-only" }, "Filter by status"),
        select,
        h("button", { type: "button", onclick: () => void load(true) }, "Refresh"),
        h("a", { class: "button primary", href: "#/new" }, "New run"),
      ),
    ),
    error,
    h(
      "div",
      { class: "card table-wrap" },
      h(
        "table",
        { class: "runs" },
        h("caption", { class: "sr-only" }, status ? "Runs with status " + human(status) : "All runs, newest first"),
        h("thead", null, h("tr", null, ["Run", "Status", "Repository", "Forks", "Cost", "Created"].map((t) => h("th", { scope: "col" }, t)))),
        tbody,
      ),
      note,
    ),
    h("div", { class: "list-foot" }, more),
  );
  focusHeading();

  async function load(reset: boolean): Promise<void> {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (status) query.set("status", status);
    if (!reset && cursor) query.set("cursor", cursor);
    more.disabled = true;
    try {
      const page = await api<RunPage>("/v1/runs?" + query.toString(), { signal: controller.signal });
      error.textContent = "";
      if (reset) {
        tbody.replaceChildren();
        pages = 0;
      }
      pages++;
      for (const run of page.runs) tbody.append(runRow(run));
      cursor = page.nextCursor;
      more.hidden = !cursor;
      const empty = tbody.children.length === 0;
      note.hidden = !empty;
      note.replaceChildren(...(empty ? [status ? "No " + human(status) + " runs." : "No runs yet. ", status ? "" : h("a", { href: "#/new" }, "Start one.")] : []));
    } catch (err) {
      if (!isAbort(err) && !isUnauthorized(err)) error.textContent = errorMessage(err);
    } finally {
      more.disabled = false;
    }
  }

  void load(true);
  // While only the first page is shown, keep it fresh.
  const timer = setInterval(() => {
    if (pages <= 1 && document.visibilityState === "visible") void load(true);
  }, 5000);
  return () => {
    clearInterval(timer);
    controller.abort();
  };
}

function runRow(run: RunSummary): HTMLTableRowElement {
  const counts = forkCounts(run);
  const bar = (cls: string, width: number) => {
    const seg = h("span", { class: cls });
    seg.style.setProperty("width", width + "%");
    return seg;
  };
  const endedClass = { failed: "bad-text", cancelled: "muted", budget: "budget-text" } as const;
  return h(
    "tr",
    { dataset: { run: run.id } },
    h("td", { "data-label": "Run" }, h("a", { href: "#/runs/" + encodeURIComponent(run.id), class: "mono" }, run.id)),
    h("td", { "data-label": "Status" }, badge(run.status)),
    h("td", { class: "repo mono", title: run.repo + " @ " + run.branch, "data-label": "Repo" }, shortRepo(run.repo), h("span", { class: "muted" }, " @ " + run.branch)),
    h(
      "td",
      { class: "num", "data-label": "Forks" },
      counts.headline,
      counts.ended.map((e) => h("span", { class: endedClass[e.kind] }, " · " + e.text)),
      h("div", { class: "progress", "aria-hidden": "true" }, bar("p-ok", counts.widths.succeeded), bar("p-bad", counts.widths.failed), bar("p-cancelled", counts.widths.cancelled), bar("p-budget", counts.widths.budget)),
    ),
    h("td", { class: "num", "data-label": "Cost" }, fmtUsd(run.costUsd)),
    h("td", { class: "num", "data-label": "Created" }, timeEl(run.createdAt)),
  );
}
