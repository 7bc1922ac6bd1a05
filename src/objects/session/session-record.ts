import type { RunSandbox } from "../../api/runs";
import type { CreateSessionRequest, SessionView } from "../../api/sessions";
import { sessionLeaseKey } from "../../protocol/session-ids";
import type { SessionHistory } from "./session-store";
import type { SessionWork } from "./session-work";

/** A new session (POST /v1/sessions), as the route hands it to its Session object. */
export interface CreateSessionInput {
  id: string;
  /** The request, normalised: repo validated, model resolved. */
  request: CreateSessionRequest & { model: string };
  sandbox: RunSandbox;
  workBranch: string;
}

/** A new session continuing another one (POST …/fork): its history and a copy of its sandbox. */
export interface ForkedSessionInput {
  record: SessionRecord;
  history: SessionHistory;
}

/** A new session's record: setting up, no sandbox yet. */
export function newSessionRecord(input: CreateSessionInput): SessionRecord {
  const { request: req } = input;
  const now = new Date().toISOString();
  return {
    id: input.id,
    title: req.title ?? `Session on ${req.repo.split("/").pop() ?? req.repo}`,
    status: "setting_up",
    repo: req.repo,
    branch: req.branch,
    workBranch: input.workBranch,
    model: req.model,
    system: req.system ?? null,
    idleSeconds: req.idleSeconds,
    budgetUsd: req.budgetUsd ?? null,
    sandbox: input.sandbox,
    leaseKey: sessionLeaseKey(input.id),
    sandboxId: null,
    sandboxState: null,
    sandboxMs: 0,
    runningSince: null,
    idleSince: null,
    baseSha: null,
    createdAt: now,
    updatedAt: now,
  };
}

/** A session as its Durable Object keeps it (one JSON row: it is small and always read whole). */
export type SessionRecord = Pick<SessionView, "id" | "title" | "status" | "repo" | "branch" | "workBranch" | "model" | "system" | "idleSeconds" | "budgetUsd" | "parent" | "run" | "error" | "createdAt" | "updatedAt"> & {
  sandbox: RunSandbox;
  leaseKey: string;
  sandboxId: string | null;
  sandboxState: SessionView["sandbox"]["state"];
  /** Sandbox milliseconds billed before `runningSince` (paused time excluded). */
  sandboxMs: number;
  runningSince: number | null;
  /** When the session last had nothing to do (its sandbox is paused idleSeconds later). */
  idleSince: number | null;
  baseSha: string | null;
  /** The running turn asked to stop at its next step. */
  cancelling?: number;
  /** A fork of a session whose sandbox is still on its parent's branch: its next turn checks out `workBranch` first. */
  switchBranch?: boolean;
  /** The sandbox was paused with its workspace recorded (session-workspace.ts): its resume is verified. */
  verifyOnResume?: boolean;
  /** The last workspace snapshot: taken after turn `turn`, at `commit`; `complete` when every changed file was stored. */
  snapshot?: { turn: number; commit: string | null; complete: boolean };
  /** The gated step the running turn (0: setup) is inside: a stuck instance is restarted from it. */
  runningStep?: { turn: number; name: string };
  /**
   * A session continuing a run's fork (its base commit is the fork's clone, or the prepared one):
   * what its workspace was made of besides the turns' tool calls (actions/session-origin.ts) — the
   * run's prepare commands (a rebuild runs them, then EXCLUDE_PREPARED_SCRIPT, on its clone first),
   * the fork's commands (replayed when it rebuilds from its origin), a Claude Code fork's verified
   * patch (`patch`: its R2 key under the session, laid on the clone after them) whose imported turns
   * 1..`replayAfter` are not replayed. A fork of the session inherits it with its turns.
   */
  origin?: { prepare: string[]; commands: string[]; patch?: string; replayAfter?: number };
  /** Times the sandbox was lost and rebuilt. */
  rebuilds?: number;
  /** New sessions asked for while a turn runs: forked at its next step boundary (or when it ends). */
  pendingForks?: PendingFork[];
  /** Its diff and patch against the base when last taken (session-work.ts). */
  work?: SessionWork;
};

/** A new session of a fork asked for while a turn runs; its id, title and budget are fixed when asked. */
export interface PendingFork {
  id: string;
  title: string;
  budgetUsd: number | null;
}
