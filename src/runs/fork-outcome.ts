import type { Provenance } from "./provenance";
import type { AgentView, ArtifactsView, CheckResult, CommandResult, DiffStats, ForkStatus, PushedBranch } from "../api/runs";

/** What a fork Workflow returns and reports to its Orchestrator: plain JSON, bounded in size. */
export interface ForkOutcome {
  n: number;
  status: ForkStatus;
  sandboxId: string | null;
  branch: string;
  commands: CommandResult[];
  check?: CheckResult;
  diff?: DiffStats;
  agent?: AgentView;
  pushed?: PushedBranch;
  artifacts?: ArtifactsView;
  sandboxSeconds: number;
  /** Sandboxes lost mid-fork and replaced (the fork re-cloned and replayed its work). */
  recoveries?: number;
  /** `sandbox` is the fork's own sandbox; `verification` its verification sandbox's (absent before verification). */
  costUsd: { sandbox: number; llm: number; verification?: number };
  /** The verification sandbox's seconds alive. */
  verificationSeconds?: number;
  /** The sandbox kept (paused) for a session to continue: its lease and until when. */
  kept?: { leaseKey: string; until: string };
  /** A merge fork that ended with a stored patch: how much of each source survived (src/runs/provenance.ts). */
  provenance?: Provenance;
  /** A merge fork whose own patch was not stored (too large): why it has no provenance. */
  provenanceOmitted?: { reason: string };
  error?: { code: string; message: string };
  /**
   * A fork that stopped for budget inside its task (code version 3): its next continuation (`<base>-c<k>`), where it
   * stood stored for it; raising the budget continues it there (objects/orchestrator/run-budget.ts).
   */
  budgetStop?: { k: number; base: string };
}

/** The fork status an error code ends a fork with. */
export function statusForErrorCode(code: string): ForkStatus {
  switch (code) {
    case "cancelled":
      return "cancelled";
    case "fork_timeout":
      return "timed_out";
    case "budget_exceeded":
      return "budget_exceeded";
    default:
      return "failed";
  }
}
