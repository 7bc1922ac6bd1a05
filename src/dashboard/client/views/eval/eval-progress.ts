/**
 * An eval's progress as a bar and counts: its task × config runs done (ended and checked), failed
 * (never created), skipped (budget or cancel), being checked, running and queued.
 */
import type { EvalView } from "../../lib/api-types.ts";
import { h } from "../../lib/dom.ts";

type Progress = EvalView["progress"];

const PARTS: { key: keyof Omit<Progress, "runs">; text: string; bar: string }[] = [
  { key: "done", text: "done", bar: "p-ok" },
  { key: "failed", text: "failed", bar: "p-bad" },
  { key: "skipped", text: "skipped", bar: "p-cancelled" },
  { key: "checking", text: "hidden checks running", bar: "p-checking" },
  { key: "running", text: "running", bar: "p-running" },
  { key: "queued", text: "queued", bar: "p-queued" },
];

/** "3 of 4 runs settled", the bar, and each non-zero count. */
export function evalProgress(v: EvalView): HTMLElement {
  const p = v.progress;
  const settled = p.done + p.failed + p.skipped;
  const bar = h("div", { class: "progress wide", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": String(p.runs), "aria-valuenow": String(settled), "aria-label": "Runs settled" });
  for (const part of PARTS) {
    if (!p[part.key]) continue;
    const seg = h("span", { class: part.bar });
    seg.style.setProperty("width", (100 * p[part.key]) / Math.max(1, p.runs) + "%");
    bar.append(seg);
  }
  const counts = PARTS.filter((part) => p[part.key] > 0).map((part) => p[part.key] + " " + part.text);
  return h(
    "div",
    { class: "card pad eval-progress", dataset: { settled: String(settled), runs: String(p.runs) } },
    h("div", { class: "strong" }, settled + " of " + p.runs + " runs settled"),
    bar,
    h("div", { class: "muted" }, counts.join(" · ") || "no runs"),
  );
}
