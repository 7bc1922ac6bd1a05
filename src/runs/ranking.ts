import type { ForkView, RankEntry } from "../api/runs";

/** What ranking looks at in a fork. */
export interface Rankable {
  n: number;
  check?: { passed: boolean };
  diff?: { files: number; insertions: number; deletions: number };
  /** USD, all kinds. */
  cost?: number;
  /** The LLM judge's score, 0-10. */
  score?: number;
  /** Its place in the tournament's order (1 = best; judge.mode "tournament"), and what earned it. */
  place?: number;
  standing?: string;
}

/** A passed check before no check before a failed one. */
function checkRank(f: Rankable): number {
  if (!f.check) return 1;
  return f.check.passed ? 2 : 0;
}

function diffSize(f: Rankable): number {
  return f.diff ? f.diff.files + f.diff.insertions + f.diff.deletions : Number.POSITIVE_INFINITY;
}

/**
 * Best first: a passed check first; then the tournament's place (when there was one); then the
 * judge's score (when there is one); then the smaller diff (files + insertions + deletions); then
 * the lower cost; then the lower fork number.
 */
export function compareForks(a: Rankable, b: Rankable): number {
  const place = (f: Rankable) => f.place ?? Number.POSITIVE_INFINITY;
  return checkRank(b) - checkRank(a) || (place(a) === place(b) ? 0 : place(a) - place(b)) || (b.score ?? -1) - (a.score ?? -1) || diffSize(a) - diffSize(b) || (a.cost ?? 0) - (b.cost ?? 0) || a.n - b.n;
}

/** Why a fork ranks where it does, in words. */
function reasons(f: Rankable): string[] {
  const out = [f.check ? (f.check.passed ? "check passed" : "check failed") : "no check"];
  if (f.standing !== undefined) out.push(f.standing);
  if (f.score !== undefined) out.push(`score ${f.score}/10`);
  out.push(f.diff ? `${f.diff.files} files +${f.diff.insertions} −${f.diff.deletions}` : "no diff");
  if (f.cost !== undefined) out.push(`$${f.cost.toFixed(4)}`);
  return out;
}

/** A tournament's outcome as ranking reads it: the order best first, and each fork's record in words. */
export interface TournamentPlaces {
  order: readonly number[];
  standing: ReadonlyMap<number, string>;
}

/** The forks that succeeded, ranked (rank 1 = best); with a tournament, its order after the check. */
export function rankForks(forks: readonly ForkView[], scores: ReadonlyMap<number, number> = new Map(), tournament?: TournamentPlaces): RankEntry[] {
  const placed = (n: number) => {
    const at = tournament?.order.indexOf(n) ?? -1;
    return at === -1 ? {} : { place: at + 1, ...(tournament!.standing.has(n) ? { standing: tournament!.standing.get(n)! } : {}) };
  };
  return forks
    .filter((f) => f.status === "succeeded")
    .map((f): Rankable => ({ n: f.n, check: f.check, diff: f.diff, cost: f.costUsd.total, ...(scores.has(f.n) ? { score: scores.get(f.n)! } : {}), ...placed(f.n) }))
    .sort(compareForks)
    .map((f, i) => ({ n: f.n, rank: i + 1, ...(f.score !== undefined ? { score: f.score } : {}), reasons: reasons(f) }));
}
