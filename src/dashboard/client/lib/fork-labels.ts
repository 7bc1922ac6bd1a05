/**
 * What the dashboard says of a fork and of a run's forks, as plain values (no DOM, so unit tests
 * read them): a fork's badge, and the runs list's counts.
 */
import type { RunSummary } from "../../../api/client-types.ts";

/** The badge status of a fork: its own, except a fork that succeeded with a failed check ("check failed", not a green success). */
export function forkBadgeStatus(fork: { status: string; check?: { passed: boolean } | null }): string {
  return fork.status === "succeeded" && fork.check && !fork.check.passed ? "check_failed" : fork.status;
}

export interface ForkCounts {
  /** "2 / 5 succeeded": of every fork the run has, branched forks included. */
  headline: string;
  /** The other ended forks, by how they ended: "1 failed", "1 cancelled", "1 over budget". */
  ended: { kind: "failed" | "cancelled" | "budget"; text: string }[];
  /** Bar widths in percent of all forks. */
  widths: { succeeded: number; failed: number; cancelled: number; budget: number };
}

export function forkCounts(run: Pick<RunSummary, "forks" | "succeeded" | "failed" | "cancelled" | "budgetExceeded">): ForkCounts {
  const { cancelled, budgetExceeded: budget } = run;
  const total = Math.max(run.forks || 0, run.succeeded + run.failed + cancelled + budget);
  const pct = (n: number) => (total ? (100 * n) / total : 0);
  const ended: ForkCounts["ended"] = [];
  if (run.failed) ended.push({ kind: "failed", text: run.failed + " failed" });
  if (cancelled) ended.push({ kind: "cancelled", text: cancelled + " cancelled" });
  if (budget) ended.push({ kind: "budget", text: budget + " over budget" });
  return {
    headline: run.succeeded + " / " + total + " succeeded",
    ended,
    widths: { succeeded: pct(run.succeeded), failed: pct(run.failed), cancelled: pct(cancelled), budget: pct(budget) },
  };
}
