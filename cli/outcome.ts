import type { RunView } from "./types.ts";

/** Exit codes of the `forkyard` command. */
export const EXIT = {
  /** Completed with every fork succeeded (or: the command did what was asked). */
  ok: 0,
  /** Some forks failed, or the run failed / went over budget. */
  failed: 1,
  /** Bad usage or an API error (4xx, unreachable). */
  usage: 2,
  /** The run was cancelled. */
  cancelled: 3,
  /** Ctrl-C while waiting; the run keeps going. */
  interrupted: 130,
} as const;

/**
 * The exit code a run's state stands for; a run still going (running, paused) is not a failure.
 * A run stopped at its first passing fork (stopWhen) succeeded: the others were cancelled on purpose.
 */
export function runExitCode(view: Pick<RunView, "status" | "forks" | "request" | "winner">): number {
  switch (view.status) {
    case "completed":
      if (view.request.stopWhen && view.winner) return EXIT.ok;
      return view.forks.every((f) => f.status === "succeeded") ? EXIT.ok : EXIT.failed;
    case "cancelled":
      return EXIT.cancelled;
    case "failed":
    case "budget_exceeded":
      return EXIT.failed;
    default:
      return EXIT.ok;
  }
}
