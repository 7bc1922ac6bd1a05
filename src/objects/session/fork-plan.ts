/**
 * What each new session of a session fork (POST …/fork) starts with besides the history and the
 * workspace: a distinct title and its budget. Pure, so it is unit-tested.
 */

/** Budgets are split in whole micro-dollars, rounded down: the children never get more than there is. */
const MICRO_USD = 1e6;
/** Rounded down to the micro-dollar, float error aside (0.876543 / 3 is 0.292181, not 0.29218). */
const floorMicro = (usd: number) => Math.floor(usd * MICRO_USD + 1e-6) / MICRO_USD;

/** What is left of a budget after `spentUsd` (never below 0); null for no budget. */
export function remainingUsd(budgetUsd: number | null | undefined, spentUsd: number): number | null {
  if (budgetUsd === null || budgetUsd === undefined) return null;
  return Math.max(0, floorMicro(budgetUsd - spentUsd));
}

/**
 * Each child's budget: the one asked for (one number for every child, or one per child), else an
 * even share of the parent's remaining budget (none when the parent has none). The parent keeps its
 * own budget; its children together get at most what it had left.
 */
export function childBudgets(remaining: number | null, count: number, requested?: number | number[]): (number | null)[] {
  if (Array.isArray(requested)) return Array.from({ length: count }, (_, i) => requested[i] ?? requested[requested.length - 1]!);
  if (requested !== undefined) return Array.from({ length: count }, () => requested);
  const share = remaining === null ? null : floorMicro(remaining / count);
  return Array.from({ length: count }, () => share);
}

/** Distinct titles: "<title> (fork i of n)", or "<title> (fork)" for a single child; `given` replaces the parent's title. */
export function forkTitles(parentTitle: string, given: string | undefined, count: number): string[] {
  if (count === 1) return [given ?? `${parentTitle} (fork)`];
  const base = given ?? parentTitle;
  return Array.from({ length: count }, (_, i) => `${base} (fork ${i + 1} of ${count})`);
}
