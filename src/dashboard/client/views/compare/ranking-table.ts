/** The compare page's ranking: every fork, ranked ones first (best first), the winner marked. */
import type { CompareFork, CompareView } from "../../lib/api-types.ts";
import { badge, h } from "../../lib/dom.ts";
import { fmtUsd } from "../../lib/format.ts";
import { checkOutcome, diffStats } from "../run/fork-card.ts";
import { forkBadgeStatus } from "../../lib/fork-labels.ts";

/** Ranked forks by rank, then the others by number. */
export function rankedForks(view: CompareView): CompareFork[] {
  const order = (f: CompareFork) => f.rank ?? Number.MAX_SAFE_INTEGER;
  return [...view.forks].sort((a, b) => order(a) - order(b) || a.n - b.n);
}

export function rankingTable(view: CompareView): HTMLElement {
  const reasonsOf = new Map(view.ranking.map((r) => [r.n, r.reasons]));
  const rows = rankedForks(view).map((f) => {
    const winner = view.winner === f.n;
    const reasons = reasonsOf.get(f.n) ?? [];
    return h(
      "tr",
      { dataset: { fork: String(f.n), winner: String(winner) }, class: winner ? "winner" : undefined },
      h("td", { class: "num", "data-label": "Rank" }, f.rank === null ? "–" : String(f.rank)),
      h("td", { "data-label": "Fork" }, h("strong", null, "Fork " + f.n), " ", badge(forkBadgeStatus(f)), winner ? h("span", { class: "winner-mark", title: "The fork to take" }, "★ Winner") : null),
      h(
        "td",
        { "data-label": "Score" },
        f.score === undefined ? null : h("strong", null, "Score " + f.score + "/10"),
        reasons.length ? h("ul", { class: "reasons" }, reasons.map((r) => h("li", null, r))) : null,
      ),
      h(
        "td",
        { "data-label": "Check" },
        f.check ? checkOutcome(f.check) : h("span", { class: "muted" }, "–"),
      ),
      h("td", { "data-label": "Diff" }, f.diff ? diffStats(f.diff) : h("span", { class: "muted" }, "–")),
      h("td", { class: "num", "data-label": "Cost" }, fmtUsd(f.costUsd.total)),
    );
  });
  return h(
    "div",
    { class: "card table-wrap" },
    h(
      "table",
      { class: "runs ranking" },
      h("caption", { class: "sr-only" }, "Forks ranked, best first"),
      h("thead", null, h("tr", null, ["Rank", "Fork", "Score and reasons", "Check", "Diff", "Cost"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", null, rows),
    ),
  );
}
