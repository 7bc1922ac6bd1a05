import type { Task } from "../api/runs";
import type { SandboxRate } from "../core/costs";
import type { HolderWorkflow, LeaseHolder, LeasePriority, LeaseRequest } from "../objects/pool/pool";
import type { BranchSource } from "../objects/orchestrator/branch-store";
import type { NetworkPolicy } from "../api/network-policy";
import type { MergeSpec } from "../runs/merge-prompt";

/** What a fork Workflow instance is created with (immutable for the instance's life). */
export interface ForkParams {
  runId: string;
  n: number;
  forks: number;
  repo: string;
  baseBranch: string;
  /** The run's `commit`: the fork's clone starts there (absent: the branch's head). */
  commit?: string;
  workBranch: string;
  /**
   * The run's task, in instances launched before tasks were passed by reference. Since, absent: the
   * budget step's result carries it (forkBegin with `withTask`), so a createBatch of many forks
   * carries no copy of a large prompt per instance.
   */
  task?: Task;
  timeoutSeconds: number;
  /** The stall watchdog's limit (absent in instances launched before runs carried it: none). */
  stallSeconds?: number;
  /** The template id the fork's sandbox is created from (the run's, resolved when it was created). */
  template: string;
  /** What its sandbox time is costed at (absent in instances launched before runs carried it: the global rate). */
  sandboxRate?: SandboxRate;
  check?: string;
  /** Globs of files to store from the clone (the run's `artifacts`). */
  artifacts?: string[];
  /** Push the work branch after `collect` (runs with `push: true`). */
  push?: boolean;
  /** Keep the sandbox (paused) when the fork ends instead of killing it (runs with keepSandboxes). */
  keepSandbox?: boolean;
  /**
   * Runs with `prepare`: `forked` — the fork's sandbox is a fork of the prepared one (no clone; the
   * commands are journaled so a replacement sandbox redoes them); `per_fork` — the fork runs them itself.
   */
  prepare?: { mode: "forked" | "per_fork"; commands: string[]; baseSha?: string };
  /** A fork branched from another: it starts from that fork's workspace (and conversation), no clone. */
  branch?: BranchSource;
  /** Runs with `snapshots: "steps"`: what changed at each step boundary goes to R2 (workflows/step-snapshots.ts). */
  snapshots?: "steps";
  /** A merge fork (POST …/merge): it starts from the base, its agent combining these forks' patches (src/workflows/fork-merge.ts). */
  merge?: MergeSpec;
  leaseKey: string;
  /**
   * Runs launched since verification: check, diff, patch and push come from a fresh sandbox
   * (workflows/fork-verification.ts), with these paths restored from the base first. Absent in
   * instances launched before: they keep the in-sandbox `check` and `collect` steps.
   */
  verify?: { protectedPaths?: string[] };
  /** The run's outbound network rules with the defaults added (runs with `network` only). */
  network?: NetworkPolicy;
  /** `background`: an eval's run, whose sandboxes wait behind interactive runs' (absent: interactive). */
  priority?: LeasePriority;
  /**
   * The code version the run started on (src/protocol/code-version.ts): the instance pins its plan to
   * it in its first step. Absent in instances launched before runs recorded one: version 1, no pin step.
   */
  codeVersion?: number;
  /**
   * A fork that neared its instance's step limit goes on in a new instance (src/workflows/fork-continuation.ts):
   * its k-th continuation, where the fork stood (R2), and the fork's first instance (ids derive from it).
   */
  continuation?: ForkContinuationRef;
}

/** Where a continuation instance of a fork picks up. */
export interface ForkContinuationRef {
  k: number;
  stateKey: string;
  /** The instance the fork was launched as: the k-th continuation is `<base>-c<k>`. */
  base: string;
}

/** What a sandbox holder (a fork, or a session's setup) tells ForkSandbox: its lease and what to clone. */
export type SandboxHolder = Pick<ForkParams, "runId" | "n" | "leaseKey" | "repo" | "baseBranch" | "commit" | "workBranch" | "template" | "timeoutSeconds" | "network" | "priority"> & {
  holder?: LeaseHolder;
  /** The Workflow the holder runs in (the Pool tells it when capacity frees): a fork's by default. */
  workflow?: HolderWorkflow;
};

/** The stall watchdog's limit for the fork's commands and tool calls (undefined: none). */
export function stallMs(p: ForkParams): number | undefined {
  return p.stallSeconds ? p.stallSeconds * 1000 : undefined;
}

/** A sandbox outlives its fork's deadline by this much, so E2B itself kills what we might leak. */
const SANDBOX_TTL_MARGIN_SECONDS = 600;
/** E2B's longest sandbox lifetime (Pro; a create asking for more is refused). */
const MAX_SANDBOX_TTL_SECONDS = 86_400;

/** The Pool lease a fork holds its sandbox by: the same whether the Orchestrator prepares it or the fork asks. */
export function forkLeaseRequest(p: SandboxHolder, instanceId: string): LeaseRequest {
  return {
    ...(p.holder ? { holder: p.holder } : {}),
    ...(p.workflow ? { workflow: p.workflow } : {}),
    key: p.leaseKey,
    runId: p.runId,
    fork: p.n,
    template: p.template,
    // The fork's deadline plus time to collect and clean up, within E2B's cap.
    timeoutSeconds: Math.min(p.timeoutSeconds + SANDBOX_TTL_MARGIN_SECONDS, MAX_SANDBOX_TTL_SECONDS),
    instanceId,
    ...(p.network ? { network: p.network } : {}),
    ...(p.priority ? { priority: p.priority } : {}),
  };
}
