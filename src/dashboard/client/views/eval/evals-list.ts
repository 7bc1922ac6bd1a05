/**
 * `#/evals`: evals, newest first (GET /v1/evals): name, status, configs × tasks, runs settled,
 * spend; "Load more" follows the cursor; the first page refreshes every 5 s.
 */
import type { EvalPage, EvalSummary } from "../../lib/api-types.ts";
import { listTable, pagedList } from "../../lib/paged-list.ts";
import { badge, h } from "../../lib/dom.ts";
import { fmtUsd, plural } from "../../lib/format.ts";
import { focusHeading, main, timeEl } from "../../lib/page.ts";
import type { Cleanup } from "../../router.ts";

function evalRow(e: EvalSummary): HTMLTableRowElement {
  const bar = h("div", { class: "progress", "aria-hidden": "true" }, h("span", { class: "p-ok" }));
  (bar.firstChild as HTMLElement).style.setProperty("width", (100 * e.settled) / Math.max(1, e.runs) + "%");
  return h(
    "tr",
    { dataset: { eval: e.id } },
    h("td", { class: "run-title", "data-label": "Eval" }, h("a", { href: "#/evals/" + encodeURIComponent(e.id), class: "title" }, e.name), h("div", { class: "muted mono" }, e.id)),
    h("td", { "data-label": "Status" }, badge(e.status)),
    h("td", { "data-label": "Suite" }, plural(e.configs, "config") + " × " + plural(e.tasks, "task")),
    h("td", { class: "num", "data-label": "Runs" }, e.settled + " / " + e.runs + " settled", bar),
    h("td", { class: "num", "data-label": "Spent" }, fmtUsd(e.spentUsd)),
    h("td", { class: "num", "data-label": "Created" }, timeEl(e.createdAt)),
  );
}

export function showEvals(): Cleanup {
  document.title = "Evals · Forkyard";
  const controller = new AbortController();
  const tbody = h("tbody");
  const more = h("button", { type: "button", hidden: true }, "Load more");
  const note = h("div", { class: "empty", hidden: true }, "No evals yet. Start one with ", h("code", null, "forkyard eval suite.jsonl --config n1:sonnet:1 --config n4:sonnet:4"), " (docs/evals.md).");
  const error = h("p", { class: "alert", role: "alert" });
  main.replaceChildren(
    h("div", { class: "page-head" }, h("h1", null, "Evals")),
    h("p", { class: "muted" }, "Suites of tasks with hidden checks, run under several configs: whether N attempts pay off."),
    error,
    listTable("Evals, newest first", ["Eval", "Status", "Suite", "Runs", "Spent", "Created"], tbody, note),
    h("div", { class: "list-foot" }, more),
  );
  focusHeading();

  const list = pagedList<EvalPage>({
    tbody,
    more,
    error,
    path: "/v1/evals",
    signal: controller.signal,
    rows: (page) => page.evals.map(evalRow),
    shown: (count) => (note.hidden = count > 0),
  });
  void list.load(true);
  return () => {
    list.stop();
    controller.abort();
  };
}
