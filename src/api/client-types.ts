/**
 * The API as its clients read it (the CLI, the dashboard's browser code): types inferred from the
 * schemas the Worker answers with, and the status lists clients show, checked against those types.
 * Type-only imports: neither zod nor anything of the Worker comes along into a client.
 */
import type { z } from "zod";
import type { artifactList, compareView, createdRun, forkDiffView, deletedRun, rankEntry, reaperReport, runEventData, runPage } from "./responses.ts";
import type { createRunRequest, ForkStatus, RunStatus } from "./runs.ts";
import type { createdSession, deletedSession, forkedSessions, messageAccepted, sessionPage, transcriptPage } from "./session-responses.ts";
import type { createSessionRequest, SessionStatus } from "./sessions.ts";
import type { createEvalBody } from "./evals.ts";

export type { AgentView, BranchRequest, BranchResponse, MergeResponse, CommandResult, CreateRunRequest, ForkStatus, ForkView, RunStatus, RunSummary, RunView, StepView, TokenCounts } from "./runs.ts";
export type { SessionSummary, SessionView, TranscriptEntry, TurnView } from "./sessions.ts";
export type { PickResult } from "./pick-responses.ts";
export type SessionPickResult = z.infer<typeof import("./pick-responses.ts").sessionPickResult>;
export type { ForkTranscriptEntry, ForkTranscriptPage } from "./fork-transcript.ts";
export type { EvalResults, EvalView, EvalPage, EvalSummary, ConfigResults, DeletedEval } from "./evals.ts";
/** The body of POST /v1/evals as sent. */
export type CreateEvalBody = z.input<typeof createEvalBody>;

/** The body of POST /v1/runs as sent (defaults filled in by the server). */
export type CreateRunBody = z.input<typeof createRunRequest>;
/** 202 answer of POST /v1/runs. */
export type CreatedRun = z.infer<typeof createdRun>;
export type RunPage = z.infer<typeof runPage>;
/** 200 answer of DELETE /v1/runs/:id. */
export type DeletedRun = z.infer<typeof deletedRun>;
export type DeletedSession = z.infer<typeof deletedSession>;
export type ReaperResult = z.infer<typeof reaperReport>;
export type ArtifactList = z.infer<typeof artifactList>;
export type CompareView = z.infer<typeof compareView>;
export type CompareFork = CompareView["forks"][number];
export type ForkDiffView = z.infer<typeof forkDiffView>;
export type RankEntry = z.infer<typeof rankEntry>;
/** One event of GET /v1/runs/:id/events (its SSE `data`). */
export type RunEvent = z.infer<typeof runEventData>;

export type CreateSessionBody = z.input<typeof createSessionRequest>;
export type CreatedSession = z.infer<typeof createdSession>;
export type SessionPage = z.infer<typeof sessionPage>;
export type TranscriptPage = z.infer<typeof transcriptPage>;
export type MessageAccepted = z.infer<typeof messageAccepted>;
export type ForkedSessions = z.infer<typeof forkedSessions>;

export const RUN_STATUSES = ["running", "paused", "completed", "cancelled", "failed", "budget_exceeded"] as const satisfies readonly RunStatus[];
// Mirror TERMINAL_RUN_STATUSES / TERMINAL_FORK_STATUSES of runs.ts; `satisfies` keeps them in step with the types.
export const TERMINAL_RUN_STATUSES = ["completed", "cancelled", "failed"] as const satisfies readonly RunStatus[];
export const TERMINAL_FORK_STATUSES = ["succeeded", "failed", "cancelled", "timed_out", "budget_exceeded"] as const satisfies readonly ForkStatus[];
export const SESSION_STATUSES = ["setting_up", "idle", "running", "paused", "failed", "destroyed"] as const satisfies readonly SessionStatus[];
