/**
 * `#/`: runs, newest first, each with its title and task, filtered by status, repository and text
 * (`#/?status=&repo=&q=`); "Load more" follows the cursor; the first page refreshes every 5 s.
 */
import { RUN_STATUSES } from "../../../api/client-types.ts";
import type { RunPage, RunSummary } from "../lib/api-types.ts";
import { listTable, pagedList } from "../lib/paged-list.ts";
import { badge, h, human } from "../lib/dom.ts";
import { fmtUsd, shortRepo } from "../lib/format.ts";
import { forkCounts } from "../lib/fork-labels.ts";
import { focusHeading, main, timeEl } from "../lib/page.ts";
import type { Cleanup } from "../router.ts";


/** The list's filters, as the page's address holds them. */
interface Filters {
  status: string;
  repo: string;
  q: string;
}

function filtersHash(f: Filters): string {
  const query = new URLSearchParams();
  for (const key of ["status", "repo", "q"] as const) if (f[key]) query.set(key, f[key]);
  const qs = query.toString();
  return qs ? "#/?" + qs : "#/";
}

/** What the list shows, in words: "Failed runs of … matching “…”". */
function filterCaption(f: Filters): string {
  if (!f.status && !f.repo && !f.q) return "All runs, newest first";
  return (f.status ? human(f.status) + " runs" : "Runs") + (f.repo ? " of " + f.repo : "") + (f.q ? " matching “" + f.q + "”" : "");
}

export function showRuns(params: URLSearchParams): Cleanup {
  document.title = "Runs · Forkyard";
  const wanted = params.get("status");
  const status = RUN_STATUSES.find((s) => s === wanted) ?? "";
  const filters: Filters = { status, repo: (params.get("repo") ?? "").trim(), q: (params.get("q") ?? "").trim() };
  const filtered = Boolean(filters.status || filters.repo || filters.q);
  const controller = new AbortController();

  const select = h(
    "select",
    { id: "status-filter", onchange: () => (location.hash = filtersHash({ ...filters, status: select.value })) },
    h("option", { value: "" }, "All statuses"),
    RUN_STATUSES.map((s) => h("option", { value: s, selected: s === status }, human(s))),
  );
  const search = h("input", { id: "run-search", type: "search", placeholder: "Title or task", value: filters.q, maxlength: "200" });
  const repoInput = h("input", { id: "repo-filter", type: "search", placeholder: "Repository", value: filters.repo, maxlength: "2048" });
  const filterForm = h(
    "form",
    {
      class: "filters",
      role: "search",
      onsubmit: (e: Event) => {
        e.preventDefault();
        location.hash = filtersHash({ status: select.value, repo: repoInput.value.trim(), q: search.value.trim() });
      },
    },
    h("label", { for: "run-search", class: "sr-only" }, "Search titles and tasks"),
    search,
    h("label", { for: "repo-filter", class: "sr-only" }, "Only this repository"),
    repoInput,
    h("button", { type: "submit" }, "Filter"),
    filtered ? h("a", { class: "button", href: "#/", id: "clear-filters" }, "Clear") : null,
  );
  const tbody = h("tbody");
  const more = h("button", { type: "button", hidden: true }, "Load more");
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
        h("button", { type: "button", onclick: () => void list.load(true) }, "Refresh"),
        h("a", { class: "button primary", href: "#/new" }, "New run"),
      ),
    ),
    filterForm,
    error,
    listTable(filterCaption(filters), ["Run", "Status", "Repository", "Forks", "Cost", "Created"], tbody, note),
    h("div", { class: "list-foot" }, more),
  );
  focusHeading();

  const list = pagedList<RunPage>({
    tbody,
    more,
    error,
    path: "/v1/runs",
    filters: { status: filters.status, repo: filters.repo, q: filters.q },
    signal: controller.signal,
    rows: (page) => page.runs.map(runRow),
    shown(count) {
      note.hidden = count > 0;
      note.replaceChildren(...(count > 0 ? [] : filtered ? ["No runs match: " + filterCaption(filters) + ". ", h("a", { href: "#/" }, "Show all runs.")] : ["No runs yet. ", h("a", { href: "#/new" }, "Start one.")]));
    },
  });
  void list.load(true);
  return () => {
    list.stop();
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
    h(
      "td",
      { class: "run-title", "data-label": "Run" },
      // The title and task are the run's own words (text nodes, never markup).
      h("a", { href: "#/runs/" + encodeURIComponent(run.id), class: "title" }, run.title || run.id),
      h("div", { class: "muted run-sub" }, h("span", { class: "mono" }, run.id), run.task && run.task !== run.title ? h("span", { class: "task", title: run.task }, " · " + run.task) : null),
    ),
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
