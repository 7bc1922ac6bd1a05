import { continuationInstanceId } from "../protocol/instance-ids";
import type { ForkOutcome } from "./fork-outcome";

/** A fork that a budget stop ended and that a raise can continue: the instance it goes on as. */
export interface BudgetStop {
  n: number;
  /** Its next continuation instance, `<base>-c<k>` (where it stood is stored for that k). */
  instanceId: string;
  k: number;
}

/**
 * The forks a raise of the budget continues after their instance ended: those that ended
 * `budget_exceeded` and stored where they stood (`budgetStop`: a stop inside the task, code
 * version 3). Forks stopped elsewhere (before their task, in verification) or by older code, and
 * forks that ended any other way, are not among them. `outcome` is the stored ForkOutcome's JSON.
 */
export function budgetStopsToContinue(forks: readonly { n: number; status: string; outcome: string | null }[]): BudgetStop[] {
  const stops: BudgetStop[] = [];
  for (const fork of forks) {
    if (fork.status !== "budget_exceeded" || !fork.outcome) continue;
    const stop = (JSON.parse(fork.outcome) as Partial<ForkOutcome>).budgetStop;
    if (!stop || !Number.isInteger(stop.k) || stop.k < 1 || typeof stop.base !== "string" || stop.base === "") continue;
    stops.push({ n: fork.n, instanceId: continuationInstanceId(stop.base, stop.k), k: stop.k });
  }
  return stops;
}
