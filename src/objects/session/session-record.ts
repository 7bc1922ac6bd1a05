import type { RunSandbox } from "../../api/runs";
import type { CreateSessionRequest } from "../../api/sessions";
import { sessionLeaseKey } from "../../protocol/session-ids";
import type { SessionHistory, SessionRecord } from "./session-store";

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
