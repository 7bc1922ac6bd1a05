/** API types, taken from the Worker's own schema modules (type-only: nothing of src/ runs here). */
import type { z } from "zod";
import type { artifactList, compareView, createdRun, reaperReport, runPage } from "../src/api/responses.ts";
import type { createRunRequest, ForkStatus, ForkView, RunStatus, RunView } from "../src/api/runs.ts";
import type { createdSession, sessionPage, transcriptPage } from "../src/api/session-responses.ts";
import type { createSessionRequest, SessionStatus } from "../src/api/sessions.ts";

export type { AgentView, BranchResponse, CommandResult, ForkStatus, ForkView, RunStatus, RunSummary, RunView, StepView, TokenCounts } from "../src/api/runs.ts";

/** The body of POST /v1/runs as sent (defaults filled in by the server). */
export type CreateRunBody = z.input<typeof createRunRequest>;

/** 202 answer of POST /v1/runs. */
export type CreatedRun = z.infer<typeof createdRun>;

export type RunPage = z.infer<typeof runPage>;

export type ReaperResult = z.infer<typeof reaperReport>;

export type ArtifactList = z.infer<typeof artifactList>;

export type CompareView = z.infer<typeof compareView>;

export type { PickResult } from "../src/api/pick-responses.ts";

export type { SessionSummary, SessionView, TranscriptEntry, TurnView } from "../src/api/sessions.ts";
export type CreateSessionBody = z.input<typeof createSessionRequest>;
export type CreatedSession = z.infer<typeof createdSession>;
export type SessionPage = z.infer<typeof sessionPage>;
export type TranscriptPage = z.infer<typeof transcriptPage>;
export const SESSION_STATUSES = ["setting_up", "idle", "running", "paused", "failed", "destroyed"] as const satisfies readonly SessionStatus[];

export const RUN_STATUSES = ["running", "paused", "completed", "cancelled", "failed", "budget_exceeded"] as const satisfies readonly RunStatus[];

/**
 * Where watching a run stops: the statuses it never leaves, and `budget_exceeded`, which waits
 * for someone to raise the budget (a waiting `fork` must not hang a script on it).
 */
export const SETTLED_RUN_STATUSES = ["completed", "cancelled", "failed", "budget_exceeded"] as const satisfies readonly RunStatus[];
// Mirrors TERMINAL_FORK_STATUSES of src/api/runs.ts; `satisfies` keeps it in step with the type.
export const TERMINAL_FORK_STATUSES = ["succeeded", "failed", "cancelled", "timed_out", "budget_exceeded"] as const satisfies readonly ForkStatus[];

export const isSettledRun = (view: Pick<RunView, "status">): boolean => (SETTLED_RUN_STATUSES as readonly string[]).includes(view.status);
export const isTerminalFork = (fork: Pick<ForkView, "status">): boolean => (TERMINAL_FORK_STATUSES as readonly string[]).includes(fork.status);
