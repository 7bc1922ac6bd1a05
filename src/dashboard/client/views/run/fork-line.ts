/**
 * A fork of the run page on one line (forks beyond the first few, so a 100-fork run stays a page
 * of rows, not of cards): number, status, current or last step, check, diff, elapsed, cost, error;
 * "Show" opens its full card.
 */
import type { ForkView } from "../../lib/api-types.ts";
import { badge, h } from "../../lib/dom.ts";
import { forkBadgeStatus } from "../../lib/fork-labels.ts";
import { fmtUsd } from "../../lib/format.ts";
import { elapsedEl } from "../../lib/page.ts";
import { checkOutcome, diffStats } from "./fork-card.ts";

/** How many forks the run page shows as full cards before it shows one line each. */
export const FULL_FORK_CARDS = 5;

export function forkLine(f: ForkView, expand: () => void): HTMLElement {
  const step = f.steps.findLast((s) => s.status === "running") ?? f.steps.at(-1);
  return h(
    "article",
    { class: "fork-line", tabindex: "-1", dataset: { fork: String(f.n), status: f.status }, "aria-labelledby": "fork-" + f.n + "-title" },
    h("span", { class: "n", id: "fork-" + f.n + "-title" }, "Fork " + f.n),
    badge(forkBadgeStatus(f)),
    h("span", { class: "mono step", title: "Current or last step" }, step ? step.name : f.status === "queued" ? "waiting" : "—"),
    f.check ? h("span", null, "check ", ...checkOutcome(f.check)) : null,
    f.diff ? h("span", null, ...diffStats(f.diff)) : null,
    // The error's code and message are the fork's own words: text, never markup.
    f.error ? h("span", { class: "bad-text err", title: f.error.message }, f.error.code) : null,
    h("span", { class: "right" }, elapsedEl(f.startedAt, f.finishedAt), " · ", fmtUsd(f.costUsd.total)),
    h("button", { type: "button", class: "small", "aria-label": "Show fork " + f.n, onclick: expand }, "Show"),
  );
}
