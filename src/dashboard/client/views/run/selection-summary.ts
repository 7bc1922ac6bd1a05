/**
 * The run page's account of its selectors and search: an adaptive run's waves (what each launched
 * and cost, why the search stopped) and a tournament's table (wins, ties and losses per fork, and
 * which selector the ranking follows: the pointwise scores' pick beside the tournament's).
 */
import type { RunView } from "../../lib/api-types.ts";
import { h } from "../../lib/dom.ts";
import { fmtUsd } from "../../lib/format.ts";

function wavesCard(adaptive: NonNullable<RunView["adaptive"]>): HTMLElement {
  const stopped = adaptive.stopped;
  return h(
    "section",
    { class: "card pad adaptive-waves", "aria-label": "Adaptive waves" },
    h("h2", null, "Waves"),
    h("p", { class: "muted" }, `Waves of ${adaptive.initial}, up to ${adaptive.max} forks. `, stopped ? `Stopped (${stopped.reason}): ${stopped.message}` : "Searching."),
    h(
      "ol",
      null,
      adaptive.waves.map((w) =>
        h("li", { dataset: { wave: String(w.wave) } }, `Forks ${w.forks.join(", ")} · ${fmtUsd(w.costUsd)}`, w.passed.length ? ` · passed: ${w.passed.join(", ")}` : " · none passed"),
      ),
    ),
  );
}

function tournamentCard(judging: NonNullable<RunView["judging"]>): HTMLElement | null {
  const t = judging.tournament;
  if (!t) return null;
  const selected = judging.selected;
  const row = (s: (typeof t.standings)[number]) => h("tr", { dataset: { fork: String(s.n) } }, h("td", null, "Fork " + s.n), h("td", null, String(s.seed)), h("td", null, String(s.wins)), h("td", null, String(s.ties)), h("td", null, String(s.losses)));
  return h(
    "section",
    { class: "card pad tournament", "aria-label": "Tournament" },
    h("h2", null, t.format === "round_robin" ? "Tournament (round-robin)" : "Tournament (single elimination)"),
    selected ? h("p", null, `Ranked by the ${selected.rankedBy}: it takes fork ${selected.tournament ?? "—"}; the pointwise scores alone would take fork ${selected.pointwise ?? "—"}.`) : null,
    h("table", null, h("thead", null, h("tr", null, ...["Fork", "Seed", "Wins", "Ties", "Losses"].map((c) => h("th", null, c)))), h("tbody", null, t.standings.map(row))),
    h("p", { class: "muted" }, `${t.matches.length} matches, each judged in both orders (${t.calls} calls); a win needs both orders to agree.`),
  );
}

/** The waves and the tournament, when the run has them. */
export function selectionSummary(run: RunView): HTMLElement[] {
  const out: HTMLElement[] = [];
  if (run.adaptive) out.push(wavesCard(run.adaptive));
  const tournament = run.judging ? tournamentCard(run.judging) : null;
  if (tournament) out.push(tournament);
  return out;
}
