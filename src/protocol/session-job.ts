import type { TokenUsage } from "../agent/pricing";
import type { TurnStatus } from "../api/sessions";
import type { SandboxHandle } from "../sandbox/handle";

/** What a session's Workflow instance does: set the session up, or run turn n. */
export type SessionJob = { sessionId: string; kind: "setup" } | { sessionId: string; kind: "turn"; n: number };

/** A turn's inputs, fixed when it begins (its `begin` step's result). */
export interface TurnStart {
  prompt: string;
  model: string;
  repo: string;
  baseBranch: string;
  workBranch: string;
  system: string | null;
  handle: SandboxHandle;
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
