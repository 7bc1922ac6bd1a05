/**
 * The run page's timeline on a shared clock (lib/shared-clock.ts): one row per fork, every step
 * drawn at the time it ran since the run started, queued and waiting time shaded, so where the
 * time went across forks reads at a glance. More than ROWS_OPEN forks: folded, opened on demand.
 */
import type { RunView } from "../../lib/api-types.ts";
import { cls, h } from "../../lib/dom.ts";
import { fmtMs } from "../../lib/format.ts";
import { sharedClock, type ClockRow, type ClockSegment } from "../../lib/shared-clock.ts";
import type { KeepOpen } from "./fork-card.ts";

/** Up to this many forks, the timeline is open by default. */
const ROWS_OPEN = 12;

export function runClock(run: RunView, keepOpen: KeepOpen, nowMs = Date.now()): HTMLElement | null {
  if (!run.forks.some((f) => f.steps.some((s) => s.startedAt))) return null;
  const clock = sharedClock(run, nowMs);
  const axis = h(
    "div",
    { class: "clock-axis", "aria-hidden": "true" },
    h("span", { class: "clock-label" }),
    h("div", { class: "clock-track" }, clock.ticks.map((t) => tickEl(t.left, t.label))),
  );
  const rows = clock.rows.map(rowEl);
  const total = h("span", { class: "muted" }, " · " + fmtMs(clock.spanMs) + " since the run started");
  const box = h(
    "details",
    { class: "card pad clock" },
    h("summary", null, h("strong", null, "Timeline"), total, h("span", { class: "clock-legend muted" }, legend("queued"), legend("waiting"), legend("step"))),
    h("div", { class: "clock-rows", role: "list", "aria-label": "Forks on the run's clock" }, axis, rows),
  );
  return keepOpen(box, "clock", run.forks.length <= ROWS_OPEN);
}

function tickEl(left: number, label: string): HTMLElement {
  const el = h("span", { class: "clock-tick" }, label);
  el.style.left = left + "%";
  return el;
}

function legend(kind: "queued" | "waiting" | "step"): HTMLElement {
  return h("span", { class: "clock-key" }, h("span", { class: "clock-swatch k-" + kind }), kind === "step" ? "step" : kind);
}

function rowEl(row: ClockRow): HTMLElement {
  const summary = "Fork " + row.n + ": queued " + fmtMs(row.queuedMs) + ", waiting " + fmtMs(row.waitingMs) + ", in steps " + fmtMs(row.runningMs);
  return h(
    "div",
    { class: "clock-row", role: "listitem", dataset: { fork: String(row.n), status: row.status }, title: summary, "aria-label": summary },
    h("a", { class: "clock-label", href: "#fork-" + row.n + "-title" }, "Fork " + row.n),
    h("div", { class: "clock-track" }, row.segments.map(segmentEl)),
  );
}

function segmentEl(s: ClockSegment): HTMLElement {
  const what = s.kind === "step" ? s.name + " — " + s.status + (s.attempts && s.attempts > 1 ? " — " + s.attempts + " attempts" : "") : s.kind;
  const el = h("span", {
    class: "clock-seg k-" + s.kind + (s.status ? " st-" + cls(s.status) : ""),
    title: what + " — " + fmtMs(s.endMs - s.startMs),
    dataset: { kind: s.kind, ...(s.kind === "step" ? { step: s.name } : {}) },
  });
  el.style.left = s.left + "%";
  el.style.width = s.width + "%";
  return el;
}
