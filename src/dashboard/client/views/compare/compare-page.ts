/**
 * `#/runs/<id>/compare`: the run's forks ranked (GET /v1/runs/:id/compare), two fork pickers, the
 * two forks' facts, check logs and actions ("Branch this fork", "Take this one") side by side, then
 * their files like a pull request (compare-files.ts: a file tree, each file of both forks lined up,
 * or a direct diff of one fork against the other). While the
 * run goes on, the page follows its events and reads the comparison again when a fork ends, a fork
 * is branched, or the ranking, the winner or the pick changes; the chosen forks stay.
 */
import type { CompareFork, CompareView } from "../../lib/api-types.ts";
import { api, ApiError, download, errorMessage, isAbort, isUnauthorized, runPath } from "../../lib/api.ts";
import { badge, h } from "../../lib/dom.ts";
import { fmtBytes } from "../../lib/format.ts";
import { focusHeading, main } from "../../lib/page.ts";
import type { Cleanup } from "../../router.ts";
import { followRunEvents } from "../run/event-stream.ts";
import { runCrumbs, runNotFound } from "../run/run-page.ts";
import { isFinished } from "../run/run-status.ts";
import { branchForm, takeButton } from "./fork-actions.ts";
import { compareFiles } from "./compare-files.ts";
import { rankedForks, rankingTable } from "./ranking-table.ts";
import { forkBadgeStatus } from "../../lib/fork-labels.ts";
import { checkLog } from "../../lib/check-log.ts";

export function showComparePage(id: string): Cleanup {
  document.title = "Compare · Run " + id + " · Forkyard";
  const controller = new AbortController();
  const error = h("p", { class: "alert", role: "alert" });
  const body = h("div", { class: "stack" }, h("p", { class: "loading" }, "Loading…"));
  main.replaceChildren(runCrumbs(id, "Compare"), h("div", { class: "page-head" }, h("h1", null, "Compare forks of ", h("span", { class: "mono" }, id))), error, body);
  focusHeading();
  /** The two forks shown, kept across refreshes. */
  let chosen: [number, number] | null = null;
  let finished = false;
  let reloadTimer: ReturnType<typeof setTimeout> | undefined;

  async function load(): Promise<void> {
    try {
      const view = await api<CompareView>(runPath(id) + "/compare", { signal: controller.signal });
      error.textContent = "";
      finished = isFinished(view);
      render(view);
    } catch (err) {
      if (isAbort(err) || isUnauthorized(err)) return;
      if (err instanceof ApiError && err.status === 404) {
        main.replaceChildren(runNotFound(id));
        return;
      }
      error.textContent = errorMessage(err);
    }
  }

  /** The panes shown, with what each showed: a pane whose fork reads the same is kept as it is (with its actions' results). */
  const panes = h("div", { class: "split" });
  const shown: { n: number; seen: string; pane: HTMLElement }[] = [];
  /** The two forks' files, kept while both read the same; and how they are shown. */
  const filesEl = h("div");
  const filesState: { mode: "side" | "direct"; seen: string } = { mode: "side", seen: "" };

  function render(view: CompareView): void {
    const forks = rankedForks(view);
    if (forks.length === 0) return body.replaceChildren(h("p", { class: "muted" }, "This run has no forks."));
    chosen ??= [forks[0]!.n, (forks[1] ?? forks[0]!).n];
    const showPanes = () => {
      const next = chosen!.map((n, side) => {
        const f = forks.find((fork) => fork.n === n)!;
        const seen = JSON.stringify([f.status, f.patch?.bytes, f.error?.code, view.winner === f.n]);
        const kept = shown[side];
        return kept && kept.n === n && kept.seen === seen ? kept : { n, seen, pane: patchPane(view, f, side === 0 ? "Left" : "Right", onBranched) };
      });
      shown.splice(0, shown.length, ...next);
      panes.replaceChildren(...next.map((s) => s.pane));
      const seenFiles = next.map((s) => s.n + ":" + s.seen).join("|");
      if (seenFiles !== filesState.seen) {
        filesState.seen = seenFiles;
        const [a, b] = chosen!.map((n) => forks.find((fork) => fork.n === n)!) as [CompareFork, CompareFork];
        filesEl.replaceChildren(compareFiles(view.runId, a, b, filesState));
      }
    };
    const picker = (side: 0 | 1) => {
      const label = side === 0 ? "Left fork" : "Right fork";
      const select = h(
        "select",
        { id: "compare-" + side, "aria-label": label },
        forks.map((f) => h("option", { value: String(f.n), selected: f.n === chosen![side] }, "Fork " + f.n + (f.rank === null ? "" : " (rank " + f.rank + ")"))),
      );
      select.addEventListener("change", () => {
        chosen![side] = Number(select.value);
        showPanes();
      });
      return h("div", { class: "field" }, h("label", { for: select.id }, label), select);
    };
    showPanes();
    body.replaceChildren(
      h("div", { class: "title-row" }, h("span", null, "Run "), badge(view.status), view.winner === null ? h("span", { class: "muted" }, " No winner yet.") : h("span", null, " Winner: fork " + view.winner)),
      h("h2", null, "Ranking"),
      rankingTable(view),
      h("div", { class: "section-head" }, h("h2", null, "Side by side"), h("button", { type: "button", class: "small", onclick: () => void load() }, "Refresh")),
      h("div", { class: "grid2 pickers" }, picker(0), picker(1)),
      panes,
      filesEl,
    );
  }

  /** Reads the comparison again shortly, but not under someone filling in a form (a branch prompt). */
  function reloadSoon(delayMs: number): void {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(() => {
      const active = document.activeElement;
      if (active instanceof HTMLInputElement || active instanceof HTMLTextAreaElement) {
        if (body.contains(active)) return reloadSoon(2000);
      }
      void load();
    }, delayMs);
  }

  /** Follows the run's events while it goes on (once at a time). */
  let following = false;
  function follow(): void {
    if (following || controller.signal.aborted) return;
    following = true;
    void followRunEvents(id, controller.signal, {
      onEvent(event) {
        if (COMPARE_EVENTS.has(event.type)) reloadSoon(300);
      },
      onState() {},
      refresh: load,
      finished: () => finished,
    }).finally(() => (following = false));
  }
  /** A branch makes the run go on (again, if it had ended). */
  function onBranched(): void {
    finished = false;
    reloadSoon(0);
    follow();
  }

  // An ended run's comparison changes only when it is branched.
  void load().then(() => {
    if (!finished) follow();
  });
  return () => {
    clearTimeout(reloadTimer);
    controller.abort();
  };
}

/** Events after which the comparison reads differently. */
const COMPARE_EVENTS = new Set(["fork.finished", "fork.branched", "run.status", "run.finished", "run.judged", "run.winner", "run.picked"]);

/** One side: the fork's facts, its check's log (open when it failed), its actions and its patch. */
function patchPane(view: CompareView, f: CompareFork, side: string, onBranched: () => void): HTMLElement {
  const patch = f.patch;
  let content: HTMLElement;
  if (!patch) content = h("p", { class: "muted no-patch" }, f.noPatch ?? "No changes.");
  else {
    const full = h("a", { href: patch.href }, "Full patch (" + fmtBytes(patch.bytes) + ")");
    // The API needs the token, which a plain link cannot carry: download it with the token instead.
    full.addEventListener("click", (ev) => {
      ev.preventDefault();
      void download(patch.href, "run-" + view.runId + "-fork-" + f.n + ".patch");
    });
    content = h(
      "div",
      null,
      h("p", { class: "muted" }, f.diff ? f.diff.files + " files, +" + f.diff.insertions + " −" + f.diff.deletions + " · " : "", full, patch.truncated ? " (the files below are from its first " + fmtBytes(patch.text.length) + ")" : ""),
    );
  }
  return h(
    "section",
    { class: "card pad pane", dataset: { fork: String(f.n) }, "aria-label": side + ": fork " + f.n },
    h("header", { class: "fork-head" }, h("h3", null, "Fork " + f.n), badge(forkBadgeStatus(f)), view.winner === f.n ? h("span", { class: "winner-mark" }, "★ Winner") : null, h("span", { class: "branch mono", title: f.branch }, f.branch)),
    f.error ? h("div", { class: "error-box", role: "note" }, h("code", null, f.error.code), ": ", f.error.message) : null,
    f.check ? checkLog(f.check, { fork: f.n, forkPath: runPath(view.runId) + "/forks/" + f.n }) : null,
    h("div", { class: "actions pane-actions" }, takeButton(view.runId, f.n), branchForm(view.runId, f.n, onBranched)),
    content,
  );
}
