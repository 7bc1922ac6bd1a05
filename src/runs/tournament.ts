/**
 * The tournament selector (judge.mode "tournament"), pure: which pairs of forks meet, how the two
 * orders of one pair combine into a result, and the standings and ranking that follow. The judge
 * Workflow (src/workflows/judge-tournament.ts) asks the model; everything here is decided from its
 * answers and the pointwise scores, so a replayed judging decides the same.
 *
 * Position bias: each pair is shown in both orders (a as A then b as A); a fork wins the pair only
 * when both answers agree that it is better; any disagreement (or a tie, or an unreadable answer)
 * is a tie. Round-robin when the judge's budget allows every pair in both orders, else single
 * elimination seeded by the pointwise scores (the higher seed goes through a tie).
 */

export type TournamentFormat = "round_robin" | "single_elimination";
/** One answer of the pairwise judge: which of the two shown (A first, B second) is better; null when unreadable. */
export type PairVerdict = "A" | "B" | "tie" | null;

/** One pair judged in both orders: `first` shows a as A, `second` shows b as A. */
export interface Match {
  /** Elimination round (1, 2, …); 1 for every match of a round-robin. */
  round: number;
  a: number;
  b: number;
  first: PairVerdict;
  second: PairVerdict;
  /** The fork that won (both orders agree), or null: a tie. */
  winner: number | null;
  /** The judge's reason for each order's answer. */
  reasons: [string, string];
}

export interface Standing {
  n: number;
  /** Its seed: place in the pointwise order (1 = best score). */
  seed: number;
  wins: number;
  ties: number;
  losses: number;
  /** Single elimination: the last round it played in (the champion's is the final's). */
  reached?: number;
}

export interface TournamentResult {
  format: TournamentFormat;
  matches: Match[];
  standings: Standing[];
  /** The forks best first by the tournament (points or rounds reached, then seed). */
  order: number[];
  /** Judge calls the tournament made (two per match). */
  calls: number;
}

/** A fork entering the tournament with its pointwise score (null when it has none). */
export interface Entrant {
  n: number;
  score: number | null;
}

/** Judge calls a round-robin of `forks` takes: every pair, both orders. */
export const roundRobinCalls = (forks: number) => forks * (forks - 1);
/** Judge calls a single elimination of `forks` takes: one match per fork knocked out, both orders. */
export const eliminationCalls = (forks: number) => 2 * Math.max(0, forks - 1);

/**
 * Round-robin when its calls fit both the call cap and the money left (`perCallUsd` each, when the
 * run has a budget), else single elimination.
 */
export function tournamentFormat(forks: number, maxCalls: number, perCallUsd: number, budgetLeftUsd: number | null): TournamentFormat {
  const calls = roundRobinCalls(forks);
  const affordable = budgetLeftUsd === null || calls * perCallUsd <= budgetLeftUsd;
  return calls <= maxCalls && affordable ? "round_robin" : "single_elimination";
}

/** The forks in seed order: the higher pointwise score first (no score last), then the lower fork number. */
export function seedOrder(entrants: readonly Entrant[]): number[] {
  return [...entrants].sort((x, y) => (y.score ?? -1) - (x.score ?? -1) || x.n - y.n).map((e) => e.n);
}

/** Every pair once, in a fixed order: (1,2), (1,3), …, (2,3), … by seed. */
export function roundRobinPairs(seeded: readonly number[]): [number, number][] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < seeded.length; i++) for (let j = i + 1; j < seeded.length; j++) pairs.push([seeded[i]!, seeded[j]!]);
  return pairs;
}

/**
 * One elimination round of the forks still in (in seed order): the best seed meets the worst, the
 * second the second worst, …; with an odd number the best seed has a bye.
 */
export function eliminationPairs(alive: readonly number[]): { pairs: [number, number][]; bye: number | null } {
  const list = [...alive];
  const bye = list.length % 2 === 1 ? list.shift()! : null;
  const pairs: [number, number][] = [];
  for (let i = 0; i < list.length / 2; i++) pairs.push([list[i]!, list[list.length - 1 - i]!]);
  return { pairs, bye };
}

/** The pair's result from its two orders: a wins only when a was better as A and as B; b likewise; else a tie. */
export function combineOrders(a: number, b: number, first: PairVerdict, second: PairVerdict): number | null {
  if (first === "A" && second === "B") return a;
  if (first === "B" && second === "A") return b;
  return null;
}

/** Who goes through an elimination match: its winner, or on a tie the better seed. */
export function advances(match: Match, seeded: readonly number[]): number {
  if (match.winner !== null) return match.winner;
  return seeded.indexOf(match.a) <= seeded.indexOf(match.b) ? match.a : match.b;
}

/** The forks still in after a round: the byes and those who went through, in seed order. */
export function nextAlive(alive: readonly number[], round: readonly Match[], seeded: readonly number[]): number[] {
  const out = new Set(round.map((m) => (advances(m, seeded) === m.a ? m.b : m.a)));
  return alive.filter((n) => !out.has(n));
}

/** Wins, ties and losses per fork, its seed and (elimination) the last round it played. */
export function standings(seeded: readonly number[], matches: readonly Match[]): Standing[] {
  return seeded.map((n, i) => {
    const own = matches.filter((m) => m.a === n || m.b === n);
    const wins = own.filter((m) => m.winner === n).length;
    const ties = own.filter((m) => m.winner === null).length;
    const reached = Math.max(0, ...own.map((m) => m.round));
    return { n, seed: i + 1, wins, ties, losses: own.length - wins - ties, reached };
  });
}

/**
 * The tournament's order, best first. Round-robin: points (a win 1, a tie ½), then seed.
 * Single elimination: the champion, then by the round reached, then seed.
 */
export function tournamentOrder(format: TournamentFormat, seeded: readonly number[], matches: readonly Match[], champion: number | null): number[] {
  const table = standings(seeded, matches);
  const key = (s: Standing) => (format === "round_robin" ? s.wins + s.ties / 2 : (s.n === champion ? 1000 : 0) + (s.reached ?? 0));
  return [...table].sort((x, y) => key(y) - key(x) || x.seed - y.seed).map((s) => s.n);
}

/** The whole result once every match is played. */
export function tournamentResult(format: TournamentFormat, seeded: readonly number[], matches: Match[], champion: number | null): TournamentResult {
  const table = standings(seeded, matches).map((s) => (format === "round_robin" ? { n: s.n, seed: s.seed, wins: s.wins, ties: s.ties, losses: s.losses } : s));
  return { format, matches, standings: table, order: tournamentOrder(format, seeded, matches, champion), calls: matches.length * 2 };
}
