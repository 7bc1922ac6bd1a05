/**
 * `#/runs/<id>`: one run, live. Follows the run's event stream, re-reads the run (debounced) on each
 * event, keeps a slow poll behind the stream, and re-renders only the forks that changed.
 */
import type { RunView } from "../../lib/api-types.ts";
import { api, ApiError, errorMessage, isAbort, isUnauthorized, runPath } from "../../lib/api.ts";
import { cls, h, human, openStateKeeper } from "../../lib/dom.ts";
import { fmtUsd } from "../../lib/format.ts";
import { announce, focusHeading, main, notFound, tickClocks, toast } from "../../lib/page.ts";
import type { Cleanup } from "../../router.ts";
import { followRunEvents, type StreamState } from "./event-stream.ts";
import { forkCard } from "./fork-card.ts";
import { FULL_FORK_CARDS, forkLine } from "./fork-line.ts";
import { rankingSummary } from "./ranking-summary.ts";
import { selectionSummary } from "./selection-summary.ts";
import { runClock } from "./run-clock.ts";
import type { TranscriptCache } from "./fork-transcript.ts";
import { LiveOutputs } from "./live-output.ts";
import { logEvent } from "./run-events.ts";
import { runHead } from "./run-head.ts";
import { isFinished } from "./run-status.ts";

const STREAM_LABELS: Record<StreamState, string> = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", ended: "Finished", off: "Not live" };

export function runCrumbs(id: string, ...more: (Node | string)[]): HTMLElement {
  return h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/" }, "Runs"), " / ", more.length ? h("a", { href: "#/runs/" + encodeURIComponent(id), class: "mono" }, id) : h("span", { class: "mono" }, id), more.length ? [" / ", ...more] : null);
}

/** What a run's pages show for an id that names no run. */
export function runNotFound(id: string): HTMLElement {
  return notFound("Run not found", h("span", null, "There is no run ", h("code", null, id), "."), { href: "#/", text: "Back to runs" });
}

export function showRunPage(id: string): Cleanup {
  document.title = "Run " + id + " · Forkyard";
  const controller = new AbortController();
  const signal = controller.signal;
  let view: RunView | null = null;
  let lastStatus: string | null = null;
  /** What the header last showed (see render). */
  let lastHead = "";
  let streamState: StreamState = "connecting";
  const forkEls = new Map<number, { key: string; el: HTMLElement }>();
  const keepOpen = openStateKeeper();
  const transcripts: TranscriptCache = new Map();
  const live = new LiveOutputs();
  /** Forks beyond the first few shown as full cards all the same (their "Show", the fork map). */
  const expanded = new Set<number>();

  const head = h("div");
  const liveEl = h("span", { class: "live", dataset: { state: "connecting" } }, "Connecting…");
  const stats = h("div", { class: "stats" });
  const rankingEl = h("div");
  const clockEl = h("div");
  const forkMap = h("div", { class: "forkmap", role: "list", "aria-label": "Forks at a glance" });
  const forkList = h("div", { class: "forks" });
  const eventList = h("ol", { "aria-label": "Events, newest first" });
  const eventLog = h("details", { class: "card events", open: true }, h("summary", null, "Event log"), eventList);
  const error = h("p", { class: "alert", role: "alert" });
  const forkCount = h("span", { class: "muted", id: "fork-count" });

  main.replaceChildren(runCrumbs(id), head, error, h("p", { class: "loading" }, "Loading run…"));

  // ---- data
  let refreshTimer: ReturnType<typeof setTimeout> | null = null;
  let inflight = false;
  let again = false;
  let lastRefreshAt = 0;
  const finished = () => view !== null && isFinished(view);

  function scheduleRefresh(delay = 250): void {
    if (refreshTimer !== null) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      void refresh();
    }, delay);
  }

  /** Reads the run again, one read at a time (one more follows if asked for meanwhile). */
  async function refresh(): Promise<void> {
    if (inflight) {
      again = true;
      return;
    }
    inflight = true;
    try {
      await readRun();
    } finally {
      inflight = false;
      if (again && !signal.aborted) {
        again = false;
        scheduleRefresh();
      }
    }
  }

  /** Reads the run and shows it. */
  async function readRun(): Promise<void> {
    try {
      const next = await api<RunView>(runPath(id), { signal });
      lastRefreshAt = Date.now();
      error.textContent = "";
      render(next);
    } catch (err) {
      if (isAbort(err) || isUnauthorized(err)) return;
      if (err instanceof ApiError && err.status === 404) {
        main.replaceChildren(runNotFound(id));
        controller.abort();
        return;
      }
      error.textContent = errorMessage(err);
    }
  }

  async function act(label: string, path: string, body?: unknown): Promise<void> {
    try {
      render(await api<RunView>(path, { method: "POST", body }));
      toast(label);
    } catch (err) {
      if (!isUnauthorized(err)) toast(errorMessage(err), "error");
      scheduleRefresh(0);
    }
  }

  /** DELETE /v1/runs/:id (an ended run), then the runs list. */
  async function remove(): Promise<void> {
    try {
      await api(runPath(id), { method: "DELETE" });
      toast("Run " + id + " deleted.");
      location.hash = "#/";
    } catch (err) {
      if (!isUnauthorized(err)) toast(errorMessage(err), "error");
    }
  }

  // ---- rendering
  function streamLabel(): string {
    if (finished() && streamState !== "live") return "Finished";
    return STREAM_LABELS[streamState];
  }

  function setStreamState(state: StreamState): void {
    streamState = state;
    liveEl.dataset.state = state;
    liveEl.textContent = streamLabel();
  }

  function render(next: RunView): void {
    const first = view === null;
    view = next;
    if (first) {
      main.replaceChildren(runCrumbs(id), head, error, stats, rankingEl, clockEl, forkMap, h("div", { class: "section-head" }, h("h2", null, "Forks"), forkCount), forkList, eventLog);
    }
    setStreamState(streamState);
    // The header is built again only when what it shows changed: a click on one of its buttons, or
    // a budget being typed into its form, is never lost to a refresh.
    const headSeen = JSON.stringify([next.status, next.ranking !== undefined, next.request.budgetUsd, isFinished(next) ? next.updatedAt : null]);
    if (headSeen !== lastHead) head.replaceChildren(...runHead(next, liveEl, act, remove));
    lastHead = headSeen;
    renderStats(next);
    const summary = rankingSummary(next);
    rankingEl.replaceChildren(...(summary ? [summary] : []), ...selectionSummary(next));
    const clock = runClock(next, keepOpen);
    clockEl.replaceChildren(...(clock ? [clock] : []));
    renderForks(next);
    requestAnimationFrame(fitLabels);
    if (first) focusHeading();
    if (lastStatus !== null && lastStatus !== next.status) announce("Run " + human(next.status) + ".");
    lastStatus = next.status;
    document.title = "Run " + id + " · " + human(next.status) + " · Forkyard";
  }

  function renderStats(run: RunView): void {
    const t = run.totals;
    const n = run.forks.length;
    const stat = (label: string, value: string, sub?: string | null) =>
      h("div", { class: "card stat" }, h("div", { class: "label" }, label), h("div", { class: "value" }, value), sub ? h("div", { class: "sub" }, sub) : null);
    const cost = t.costUsd;
    stats.replaceChildren(
      stat("Forks", String(n)),
      stat("Succeeded", String(t.succeeded)),
      stat("Failed", String(t.failed)),
      stat("Running", String(t.running), t.queued ? t.queued + " queued" : null),
      stat("Cancelled", String(t.cancelled), t.budgetExceeded ? t.budgetExceeded + " over budget" : null),
      stat("Cost", fmtUsd(cost.total), "sandbox " + fmtUsd(cost.sandbox) + " · LLM " + fmtUsd(cost.llm)),
    );
    forkMap.replaceChildren(
      ...run.forks.map((f) =>
        h(
          "div",
          { role: "listitem" },
          h(
            "button",
            {
              type: "button",
              class: "m-" + cls(f.status),
              title: "Fork " + f.n + ": " + human(f.status),
              "aria-label": "Fork " + f.n + ": " + human(f.status) + ". Show it.",
              onclick: () => {
                expand(f.n);
                const el = forkEls.get(f.n)?.el;
                el?.scrollIntoView({ block: "start" });
                el?.focus({ preventScroll: true });
              },
            },
            String(f.n),
          ),
        ),
      ),
    );
    forkMap.hidden = n < 2;
    forkCount.textContent = t.succeeded + " of " + n + " succeeded" + (n > FULL_FORK_CARDS ? " · forks after the first " + FULL_FORK_CARDS + " on one line each" : "");
  }

  /** Shows a fork's full card (it may have been one line). */
  function expand(n: number): void {
    if (expanded.has(n) || !view) return;
    expanded.add(n);
    renderForks(view);
  }

  function renderForks(run: RunView): void {
    const seen = new Set<number>();
    let previous: HTMLElement | null = null;
    for (const [i, fork] of run.forks.entries()) {
      seen.add(fork.n);
      const full = i < FULL_FORK_CARDS || expanded.has(fork.n);
      const key = JSON.stringify(fork) + "|" + run.status + "|" + full;
      let entry = forkEls.get(fork.n);
      if (!entry || entry.key !== key) {
        const el = full ? forkCard(fork, { run, keepOpen, transcripts, act, live }) : forkLine(fork, () => showFork(fork.n));
        if (entry) {
          const hadFocus = entry.el.contains(document.activeElement);
          entry.el.replaceWith(el);
          if (hadFocus) el.focus({ preventScroll: true });
        }
        entry = { key, el };
        forkEls.set(fork.n, entry);
      }
      // Keep the DOM in fork order.
      const expectedNext: ChildNode | null = previous ? previous.nextSibling : forkList.firstChild;
      if (expectedNext !== entry.el) forkList.insertBefore(entry.el, expectedNext);
      previous = entry.el;
    }
    for (const [n, entry] of forkEls) {
      if (!seen.has(n)) {
        entry.el.remove();
        forkEls.delete(n);
      }
    }
  }

  /** A one-line fork's "Show": its card, focused. */
  function showFork(n: number): void {
    expand(n);
    forkEls.get(n)?.el.focus();
  }

  /** Timeline labels show only where they fit whole. */
  function fitLabels(): void {
    for (const label of forkList.querySelectorAll<HTMLElement>(".seg span")) label.classList.toggle("clipped", label.scrollWidth > label.clientWidth);
  }

  void refresh();
  void followRunEvents(id, signal, {
    onEvent(e) {
      // Live output updates its fork's card in place (not logged, no re-read of the run).
      if (e.type === "command.output") {
        const entry = e.fork !== null ? forkEls.get(e.fork) : undefined;
        if (live.add(e) && entry && view) {
          entry.key = "";
          renderForks(view);
        }
        return;
      }
      logEvent(eventList, e);
      scheduleRefresh(e.type === "run.finished" || e.type === "run.status" ? 0 : 250);
    },
    onState(state) {
      setStreamState(state);
      if (state === "ended") scheduleRefresh(0);
    },
    // When the stream ends: whether the run ended is read now, not after a read already under way.
    refresh: readRun,
    finished,
  });
  const ticker = setInterval(tickClocks, 1000);
  // A slow safety poll behind the stream (fast while the stream is down).
  const poller = setInterval(() => {
    if (finished() || document.visibilityState !== "visible") return;
    if (streamState !== "live" || Date.now() - lastRefreshAt > 30000) scheduleRefresh(0);
  }, 5000);
  let resizeTimer: ReturnType<typeof setTimeout> | undefined;
  const onResize = () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(fitLabels, 150);
  };
  window.addEventListener("resize", onResize);
  return () => {
    window.removeEventListener("resize", onResize);
    clearTimeout(resizeTimer);
    controller.abort();
    clearInterval(ticker);
    clearInterval(poller);
    if (refreshTimer !== null) clearTimeout(refreshTimer);
  };
}
