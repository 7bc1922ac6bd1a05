import type { TokenUsage } from "../agent/pricing";
import type { TurnStatus } from "../api/sessions";
import type { SandboxHandle } from "../sandbox/handle";

/**
 * What a session's Workflow instance does: set the session up, or run turn n. `codeVersion`: the
 * code the job started on (src/protocol/code-version.ts), pinned by its instance; absent in
 * instances launched before jobs recorded it (version 1).
 */
export type SessionJob = ({ sessionId: string; kind: "setup" } | { sessionId: string; kind: "turn"; n: number; continuation?: TurnContinuationRef }) & { codeVersion?: number };

/**
 * A turn that neared its instance's step limit goes on in instance `<base>-c<k>`: where it stood
 * (its conversation so far) is stored in R2 at `stateKey` (src/workflows/turn-continuation.ts).
 */
export interface TurnContinuationRef {
  k: number;
  stateKey: string;
  /** The turn's first instance. */
  base: string;
}

/** An instance whose turn went on in `instanceId` (near the step limit): it reports nothing; the new one does. */
export interface TurnContinuedOutcome {
  kind: "continued";
  n: number;
  instanceId: string;
}

/** A turn's inputs, fixed when it begins (its `begin` step's result). */
export interface TurnStart {
  prompt: string;
  model: string;
  repo: string;
  baseBranch: string;
  workBranch: string;
  system: string | null;
  /** Null when the sandbox was lost: `rebuild` says how the turn rebuilds it first. */
  handle: SandboxHandle | null;
  rebuild?: RebuildPlan;
  startedAt: number;
  /** A forked session's first turn: the workspace is still on its parent's branch; `workBranch` is checked out first. */
  switchBranch?: boolean;
}

/** How a turn ended, reported by its last step (and read from the instance by the reconciler). */
export interface TurnOutcome {
  kind: "turn";
  n: number;
  status: Exclude<TurnStatus, "queued" | "running">;
  stopReason?: string;
  summary?: string;
  toolCalls?: number;
  tokens?: TokenUsage;
  error?: { code: string; message: string };
}

/** How a session's setup ended. */
export type SetupOutcome = { kind: "setup"; ok: true; sandboxId: string; baseSha: string } | { kind: "setup"; ok: false; error: { code: string; message: string } };

/** What the session's sandbox is held by in the Pool and cloned as, for the setup's ForkSandbox. */
export interface SetupInfo {
  repo: string;
  branch: string;
  workBranch: string;
  templateId: string;
  leaseKey: string;
  timeoutSeconds: number;
}

/** A turn may run this long (its tool calls' deadline). */
export const TURN_TIMEOUT_SECONDS = 3600;
/** The session's setup (acquire, health, clone) may take this long. */
export const SETUP_TIMEOUT_SECONDS = 1800;

/** E2B kills a session's running sandbox this long after its last turn began, should pausing it ever fail. */
export function sessionSandboxTtl(idleSeconds: number): number {
  return Math.min(TURN_TIMEOUT_SECONDS + idleSeconds + 600, 86_400);
}

/** A tool call of an earlier turn, replayed into a rebuilt workspace, with the output it had. */
export interface ReplayCall {
  turn: number;
  name: string;
  /** The call's input, JSON-encoded. */
  input: string;
  output: string;
}

/**
 * How a turn rebuilds the session's lost sandbox (issue 24, item 2): a new sandbox under
 * `leaseKey`, cloned at `baseSha`, the workspace snapshot of the last pause laid on it when
 * `fromSnapshot` (else the session's origin), then the later turns' tool calls replayed.
 */
export interface RebuildPlan {
  /** The k-th rebuild of this session. */
  k: number;
  lostLeaseKey: string;
  leaseKey: string;
  baseSha: string;
  fromSnapshot: boolean;
  templateId: string;
  timeoutSeconds: number;
  replay: ReplayCall[];
  /** Commands run on the clone before the snapshot and the replay (a prepared run's prepare, a commands fork's commands). */
  setup?: string[];
  /** R2 key of a patch laid on the clone after `setup` (a Claude Code fork's verified work). */
  patch?: string;
  /** A rebuild during the turn: the tool step that found the sandbox gone (run again after the rebuild). */
  during?: string;
}

/** What a rebuild reports to its session: where it started and which replayed commands answered differently. */
export interface RebuildReport {
  k: number;
  leaseKey: string;
  sandboxId: string;
  from: "snapshot" | "origin";
  replayed: number;
  differences: { turn: number; name: string; command?: string }[];
}
