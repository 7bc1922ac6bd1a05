/**
 * The run page's ranking summary, once the run has a ranking: the fork to take (`winner`), then
 * the best few forks with what their rank rests on, and a link to the compare page for all of them.
 */
import type { RunView } from "../../lib/api-types.ts";
import { h } from "../../lib/dom.ts";
import { plural } from "../../lib/format.ts";

/** How many ranked forks the summary names. */
const SHOWN = 5;

export function rankingSummary(run: RunView): HTMLElement | null {
  const ranking = run.ranking;
  if (ranking === undefined) return null;
  const compare = h("a", { href: "#/runs/" + encodeURIComponent(run.id) + "/compare" }, "Compare all forks");
  const jump = (n: number) => h("a", { href: "#fork-" + n + "-title" }, "Fork " + n);
  if (ranking.length === 0) {
    return h("section", { class: "card pad ranking-summary", "aria-label": "Ranking" }, h("h2", null, "Ranking"), h("p", { class: "muted" }, "No fork succeeded: nothing to rank. "), compare);
  }
  const winner = run.winner ?? ranking[0]?.n ?? null;
  const rest = ranking.length - SHOWN;
  return h(
    "section",
    { class: "card pad ranking-summary", "aria-label": "Ranking" },
    h("h2", null, "Ranking"),
    winner !== null ? h("p", { class: "winner" }, "Take ", jump(winner), " — ", plural(ranking.length, "fork") + " ranked of " + run.forks.length + ".") : null,
    h(
      "ol",
      null,
      ranking.slice(0, SHOWN).map((e) =>
        h("li", { dataset: { fork: String(e.n), rank: String(e.rank) } }, jump(e.n), e.score !== undefined ? h("span", { class: "score" }, " · score " + e.score) : null, e.reasons.length ? h("span", { class: "muted" }, " · " + e.reasons.join(", ")) : null),
      ),
    ),
    rest > 0 ? h("p", { class: "muted" }, "and " + plural(rest, "more fork") + ". ", compare) : compare,
  );
}
