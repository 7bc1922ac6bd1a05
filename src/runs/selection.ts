import type { ForkView, RankEntry } from "../api/runs";
import { rankForks } from "./ranking";
import type { TournamentResult } from "./tournament";

/** Which selector ordered the forks a run's ranking follows. */
export type RankedBy = "pointwise" | "tournament";

/** The ranking of a judged run and what each selector would pick (the same forks, side by side). */
export interface Selections {
  ranking: RankEntry[];
  rankedBy: RankedBy;
  /** The fork ranked first by the pointwise scores alone (check, score, diff, cost). */
  pointwise: number | null;
  /** The fork ranked first with the tournament's order (check, tournament place, score, …); null without a tournament. */
  tournament: number | null;
}

/** A fork's tournament record in words, for its ranking's reasons. */
function standingText(result: TournamentResult, n: number): string | undefined {
  const s = result.standings.find((x) => x.n === n);
  if (!s) return undefined;
  if (result.format === "round_robin") return `tournament ${s.wins}W ${s.ties}T ${s.losses}L`;
  return result.order[0] === n ? "tournament champion" : `tournament out in round ${s.reached ?? 0}`;
}

/** The run's ranking with the latest judging's scores, and with its tournament when there is one. */
export function selectForks(forks: readonly ForkView[], scores: ReadonlyMap<number, number>, tournament?: TournamentResult): Selections {
  const pointwise = rankForks(forks, scores);
  if (!tournament) return { ranking: pointwise, rankedBy: "pointwise", pointwise: pointwise[0]?.n ?? null, tournament: null };
  const standing = new Map(tournament.order.flatMap((n) => {
    const text = standingText(tournament, n);
    return text === undefined ? [] : [[n, text] as const];
  }));
  const ranking = rankForks(forks, scores, { order: tournament.order, standing });
  return { ranking, rankedBy: "tournament", pointwise: pointwise[0]?.n ?? null, tournament: ranking[0]?.n ?? null };
}
