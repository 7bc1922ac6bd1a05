/**
 * `#/evals/<id>`: one eval, live. Follows its event stream (GET /v1/evals/:id/events), reads the
 * eval and its results again (debounced) on each event, with a slow poll behind the stream; shows
 * its status and progress, the charts (pass rate and cost per solved task against N), the results
 * per config with their 95 % intervals, a CSV download, and each task × config's run.
 */
import type { EvalResults, EvalView } from "../../lib/api-types.ts";
import { api, ApiError, download, errorMessage, isAbort, isUnauthorized } from "../../lib/api.ts";
import { badge, h, human } from "../../lib/dom.ts";
import { costChart, PASS_METRICS, passChart, type PassMetric } from "../../lib/eval-chart.ts";
import { fmtUsd, plural } from "../../lib/format.ts";
import { announce, elapsedEl, focusHeading, main, notFound, tickClocks, timeEl, toast } from "../../lib/page.ts";
import type { Cleanup } from "../../router.ts";
import { followEvents, type StreamState } from "../run/event-stream.ts";
import { actionButton } from "../run/run-head.ts";
import { chartFigure } from "./eval-chart-view.ts";
import { evalProgress } from "./eval-progress.ts";
import { configTable, taskTable } from "./results-table.ts";

const STREAM_LABELS: Record<StreamState, string> = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", ended: "Finished", off: "Not live" };

export const evalPath = (id: string): string => "/v1/evals/" + encodeURIComponent(id);

/** Ended for the page: not running, and no run still stopping or being checked. */
export const evalEnded = (v: EvalView): boolean => v.status !== "running" && v.progress.queued + v.progress.running + v.progress.checking === 0;

function crumbs(id: string): HTMLElement {
  return h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/evals" }, "Evals"), " / ", h("span", { class: "mono" }, id));
}

export function showEvalPage(id: string): Cleanup {
  document.title = "Eval " + id + " · Forkyard";
  const controller = new AbortController();
  const signal = controller.signal;
  let view: EvalView | null = null;
  let results: EvalResults | null = null;
  let metric: PassMetric = "selectedPass";
  let streamState: StreamState = "connecting";
  let lastHead = "";
  let lastBody = "";
  let lastStatus: string | null = null;

  const head = h("div");
  const liveEl = h("span", { class: "live", dataset: { state: "connecting" } }, "Connecting…");
  const progressEl = h("div");
  const charts = h("div", { class: "chart-grid" });
  const tables = h("div", { class: "stack" });
  const error = h("p", { class: "alert", role: "alert" });
  const metricSelect = h(
    "select",
    { id: "pass-metric", onchange: () => ((metric = metricSelect.value as PassMetric), renderCharts()) },
    Object.entries(PASS_METRICS).map(([value, text]) => h("option", { value, selected: value === metric }, text)),
  );
  main.replaceChildren(crumbs(id), error, h("p", { class: "loading" }, "Loading eval…"));

  let timer: ReturnType<typeof setTimeout> | null = null;
  let inflight: Promise<void> | null = null;
  const ended = () => view !== null && evalEnded(view);

  function scheduleRefresh(delay = 300): void {
    if (timer !== null) return;
    timer = setTimeout(() => {
      timer = null;
      void refresh();
    }, delay);
  }

  /** Reads the eval and its results (one read at a time). */
  async function refresh(): Promise<void> {
    if (inflight) return inflight.then(() => scheduleRefresh(0));
    inflight = (async () => {
      try {
        const [v, r] = await Promise.all([api<EvalView>(evalPath(id), { signal }), api<EvalResults>(evalPath(id) + "/results", { signal })]);
        error.textContent = "";
        render(v, r);
      } catch (err) {
        if (isAbort(err) || isUnauthorized(err)) return;
        if (err instanceof ApiError && err.status === 404) {
          main.replaceChildren(notFound("Eval not found", h("span", null, "There is no eval ", h("code", null, id), "."), { href: "#/evals", text: "Back to evals" }));
          controller.abort();
          return;
        }
        error.textContent = errorMessage(err);
      }
    })().finally(() => (inflight = null));
    return inflight;
  }

  async function act(label: string, method: "POST" | "DELETE", path: string): Promise<void> {
    try {
      await api(path, { method });
      toast(label);
      if (method === "DELETE") location.hash = "#/evals";
      else scheduleRefresh(0);
    } catch (err) {
      if (!isUnauthorized(err)) toast(errorMessage(err), "error");
    }
  }

  function headParts(v: EvalView): HTMLElement[] {
    const buttons: HTMLElement[] = [];
    const csv = h("a", { class: "button", href: v.links.csv, download: "eval-" + v.id + ".csv" }, "Download CSV");
    csv.addEventListener("click", (ev) => {
      ev.preventDefault(); // the API needs the token: fetched, then saved
      download(v.links.csv, "eval-" + v.id + ".csv").catch((err: unknown) => toast(errorMessage(err), "error"));
    });
    buttons.push(csv);
    if (v.status === "running") buttons.push(actionButton("Cancel eval", async () => (confirm("Cancel eval " + v.name + "? Queued runs are skipped and runs in flight cancelled.") ? act("Eval cancelled.", "POST", evalPath(id) + "/cancel") : undefined), "danger"));
    if (evalEnded(v)) buttons.push(actionButton("Delete eval", async () => (confirm("Delete eval " + v.name + " for good? Its runs stay (released to run retention).") ? act("Eval deleted.", "DELETE", evalPath(id)) : undefined), "danger"));
    const meta = [
      h("span", { class: "mono" }, v.id),
      h("span", null, "created ", timeEl(v.createdAt)),
      h("span", null, "elapsed ", elapsedEl(v.createdAt, evalEnded(v) ? v.updatedAt : null)),
      h("span", null, plural(v.configs.length, "config") + " × " + plural(v.tasks.length, "task")),
      h("span", null, "max concurrent " + v.maxConcurrent),
      h("span", null, "spent " + fmtUsd(v.spentUsd) + (v.budgetUsd !== null ? " of " + fmtUsd(v.budgetUsd) : "")),
    ];
    return [
      h("div", { class: "page-head" }, h("div", { class: "title-row" }, h("h1", null, v.name), badge(v.status, { id: "eval-status", dataset: { evalStatus: v.status } }), liveEl), h("div", { class: "actions" }, buttons)),
      h("p", { class: "meta" }, meta),
    ];
  }

  function renderCharts(): void {
    if (!view || !results) return;
    charts.replaceChildren(
      chartFigure(PASS_METRICS[metric] + " against N", passChart(view.configs, results.configs, metric), "pass"),
      chartFigure("Cost per solved task against N", costChart(view.configs, results.configs), "cost"),
    );
  }

  function render(v: EvalView, r: EvalResults): void {
    const first = view === null;
    view = v;
    results = r;
    if (first) {
      main.replaceChildren(
        crumbs(id), head, error, progressEl,
        h("section", { class: "stack eval-section", "aria-labelledby": "charts-h" }, h("div", { class: "section-head" }, h("h2", { id: "charts-h" }, "Charts"), h("span", { class: "actions" }, h("label", { for: "pass-metric" }, "Pass rate"), metricSelect)), charts),
        h("section", { class: "stack eval-section", "aria-labelledby": "results-h" }, h("h2", { id: "results-h" }, "Results"), tables),
      );
    }
    const seen = JSON.stringify([v.status, evalEnded(v), v.spentUsd]);
    if (seen !== lastHead) head.replaceChildren(...headParts(v));
    lastHead = seen;
    liveEl.dataset.state = streamState;
    liveEl.textContent = ended() && streamState !== "live" ? "Finished" : STREAM_LABELS[streamState];
    // The body is built again only when a figure changed: a focused chart point or a selected cell survives a re-read.
    const body = JSON.stringify([v.progress, r]);
    if (body !== lastBody) rebuildBody(v, r);
    lastBody = body;
    if (first) focusHeading();
    if (lastStatus !== null && lastStatus !== v.status) announce("Eval " + human(v.status) + ".");
    lastStatus = v.status;
    document.title = "Eval " + v.name + " · " + human(v.status) + " · Forkyard";
  }

  function rebuildBody(v: EvalView, r: EvalResults): void {
    progressEl.replaceChildren(evalProgress(v));
    renderCharts();
    tables.replaceChildren(configTable(v, r), h("p", { class: "muted" }, "Hidden checks' sandbox time (in no task's cost): " + fmtUsd(r.hiddenCheckCostUsd) + "."), taskTable(r));
  }

  void refresh();
  void followEvents(evalPath(id) + "/events", signal, {
    onEvent: (e) => scheduleRefresh(e.type === "eval.finished" ? 0 : 300),
    onState(state) {
      streamState = state;
      if (view) render(view, results!);
      if (state === "ended") scheduleRefresh(0);
    },
    refresh,
    finished: ended,
  });
  const ticker = setInterval(tickClocks, 1000);
  // A slow safety poll behind the stream (every 5 s while the stream is down).
  let polls = 0;
  const poller = setInterval(() => {
    if (ended() || document.visibilityState !== "visible") return;
    if (streamState !== "live" || ++polls % 6 === 0) scheduleRefresh(0);
  }, 5000);
  return () => {
    controller.abort();
    clearInterval(ticker);
    clearInterval(poller);
    if (timer !== null) clearTimeout(timer);
  };
}
