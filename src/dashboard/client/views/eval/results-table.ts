/**
 * The eval page's tables: per config its figures with their 95 % intervals (GET /v1/evals/:id/results,
 * defined in docs/evals.md), the data behind the charts; and per task × config its run, each fork's
 * hidden-check verdict, cost and time, with a link to the run.
 */
import type { ConfigResults, EvalResults, EvalView } from "../../lib/api-types.ts";
import { badge, h } from "../../lib/dom.ts";
import { configN, familyLabel, pct } from "../../lib/eval-chart.ts";
import { fmtMs, fmtUsd } from "../../lib/format.ts";

type Interval = ConfigResults["passAt1"];
type Format = (v: number) => string;

const auc: Format = (v) => v.toFixed(2);

/** The columns of the per-config table: header, its figure, how it reads. */
const FIGURES: { key: keyof ConfigResults; head: string; title: string; format: Format }[] = [
  { key: "passAt1", head: "pass@1", title: "The chance one attempt solves a task (mean over tasks of passing attempts ÷ attempts)", format: pct },
  { key: "oraclePassAtN", head: "Oracle pass@N", title: "Tasks where some attempt passed the hidden check", format: pct },
  { key: "selectedPass", head: "Selected pass", title: "Tasks whose first-ranked fork passed the hidden check", format: pct },
  { key: "selectorAccuracy", head: "Selector accuracy", title: "P(selected fork passes | some fork passes)", format: pct },
  { key: "judgeAuc", head: "Judge AUC", title: "How well the judge's scores separate passing from failing forks", format: auc },
  { key: "costPerTaskUsd", head: "Cost / task", title: "Mean cost of a task's run", format: fmtUsd },
  { key: "timePerTaskMs", head: "Time / task", title: "Mean time of a task's run", format: fmtMs },
];

function intervalCell(key: string, f: Interval, format: Format): HTMLTableCellElement {
  if (f.value === null) return h("td", { class: "num muted", dataset: { figure: key }, title: "undefined so far" }, "–");
  const ci = f.low !== null && f.high !== null ? format(f.low) + "–" + format(f.high) : null;
  return h("td", { class: "num", dataset: { figure: key } }, h("span", { class: "figure" }, format(f.value)), ci ? h("div", { class: "ci", title: "95 % interval over " + f.n }, ci) : null);
}

export function configTable(view: EvalView, results: EvalResults): HTMLElement {
  const configs = new Map(view.configs.map((c) => [c.name, c]));
  const rows = results.configs.map((r) => {
    const config = configs.get(r.config);
    return h(
      "tr",
      { dataset: { config: r.config } },
      h("th", { scope: "row" }, h("span", { class: "mono" }, r.config), h("div", { class: "muted" }, config ? familyLabel(config) : r.model)),
      h("td", { class: "num", dataset: { figure: "n" } }, String(config ? configN(config) : r.forks)),
      h("td", { class: "num", dataset: { figure: "tasks" } }, r.tasks + " · " + r.solved + " solved"),
      FIGURES.map((f) => intervalCell(f.key, r[f.key] as Interval, f.format)),
      h("td", { class: "num", dataset: { figure: "costPerSolvedTaskUsd" } }, r.costPerSolvedTaskUsd === null ? "–" : fmtUsd(r.costPerSolvedTaskUsd)),
      h("td", { class: "num", dataset: { figure: "timePerSolvedTaskMs" } }, r.timePerSolvedTaskMs === null ? "–" : fmtMs(r.timePerSolvedTaskMs)),
    );
  });
  const heads = [["Config", ""], ["N", "Forks per task"], ["Tasks", "Tasks counted so far (run ended, hidden checks done) and solved"], ...FIGURES.map((f) => [f.head, f.title]), ["Cost / solved task", "The config's total cost ÷ tasks solved"], ["Time / solved task", "The config's total time ÷ tasks solved"]];
  return h(
    "div",
    { class: "card table-wrap" },
    h(
      "table",
      { class: "eval-results" },
      h("caption", null, "Results per config, with 95 % intervals below each figure (definitions: docs/evals.md)"),
      h("thead", null, h("tr", null, heads.map(([text, title]) => h("th", { scope: "col", title: title || null }, text)))),
      h("tbody", null, rows),
    ),
  );
}

function verdicts(forks: EvalResults["tasks"][number]["forks"], winner: number | null): HTMLElement {
  return h(
    "span",
    { class: "verdicts" },
    forks.map((f) => {
      const mark = f.hiddenPassed === true ? "✓" : f.hiddenPassed === false ? "✗" : "–";
      const said = f.hiddenPassed === true ? "passed" : f.hiddenPassed === false ? "failed" : f.hiddenError ? "not checked (" + f.hiddenError + ")" : "not checked";
      return h("span", { class: f.hiddenPassed === true ? "ok-text" : f.hiddenPassed === false ? "bad-text" : "muted", title: "Fork " + f.n + " (" + f.status + "): hidden check " + said + (f.n === winner ? "; ranked first" : "") }, (f.n === winner ? "★" : "") + f.n + mark);
    }),
  );
}

export function taskTable(results: EvalResults): HTMLElement {
  return h(
    "div",
    { class: "card table-wrap" },
    h(
      "table",
      { class: "runs eval-tasks" },
      h("caption", null, "Runs per task and config: each fork's hidden check (✓ passed, ✗ failed, ★ ranked first)"),
      h("thead", null, h("tr", null, ["Task", "Config", "Status", "Run", "Hidden checks", "Cost", "Time"].map((t) => h("th", { scope: "col" }, t)))),
      h(
        "tbody",
        null,
        results.tasks.map((t) =>
          h(
            "tr",
            { dataset: { task: t.task, config: t.config } },
            h("td", { class: "mono", "data-label": "Task" }, t.task),
            h("td", { class: "mono", "data-label": "Config" }, t.config),
            h("td", { "data-label": "Status" }, badge(t.status)),
            h("td", { class: "mono", "data-label": "Run" }, t.runId ? h("a", { href: "#/runs/" + encodeURIComponent(t.runId) }, t.runId) : "–"),
            h("td", { "data-label": "Hidden checks" }, t.forks.length ? verdicts(t.forks, t.winner) : "–"),
            h("td", { class: "num", "data-label": "Cost" }, fmtUsd(t.costUsd)),
            h("td", { class: "num", "data-label": "Time" }, t.durationMs ? fmtMs(t.durationMs) : "–"),
          ),
        ),
      ),
    ),
  );
}
