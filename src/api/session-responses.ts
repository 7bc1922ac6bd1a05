/**
 * zod schemas of the sessions API's responses; the TypeScript types the code uses are inferred
 * from them (api/sessions.ts re-exports them), so the OpenAPI document and the code cannot drift.
 */
import { z } from "zod";
import { costView, diffStats, forkError, runSandbox, tokenCounts } from "./responses.ts";

const isoDateTime = z.string().describe("ISO 8601 date-time (UTC)");

export const SESSION_STATUSES = ["setting_up", "idle", "running", "paused", "failed", "destroyed"] as const;
export const sessionStatus = z.enum(SESSION_STATUSES);
export const TURN_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled", "budget_exceeded"] as const;
export const turnStatus = z.enum(TURN_STATUSES);

export const turnView = z.object({
  n: z.number().int().describe("1, 2, … in the order the messages were sent"),
  prompt: z.string(),
  model: z.string(),
  status: turnStatus,
  stopReason: z.string().nullable().describe("end_turn, max_turns, max_tokens, refusal, …"),
  summary: z.string().nullable().describe("the agent's reply (its last text)"),
  toolCalls: z.number().int(),
  tokens: tokenCounts,
  costUsd: z.number().describe("the turn's model spend, USD"),
  error: forkError.optional(),
  startedAt: isoDateTime.nullable(),
  finishedAt: isoDateTime.nullable(),
});

export const sessionLinks = z.object({
  self: z.string(),
  messages: z.string(),
  transcript: z.string(),
  events: z.string(),
  fork: z.string(),
  pause: z.string(),
  cancel: z.string(),
});

export const sessionView = z.object({
  id: z.string(),
  title: z.string(),
  status: sessionStatus,
  repo: z.string(),
  branch: z.string().describe("the base branch"),
  workBranch: z.string().describe("the branch checked out in the session's sandbox"),
  model: z.string().describe("the model of the next turn"),
  system: z.string().nullable(),
  idleSeconds: z.number().int(),
  sandbox: runSandbox.extend({
    id: z.string().nullable(),
    state: z.enum(["running", "paused", "gone"]).nullable().describe("paused: not billed, files kept, resumed by the next turn"),
  }),
  turns: z.array(turnView),
  queued: z.number().int().describe("turns waiting for the running one"),
  costUsd: costView.describe("the session's own spend: sandbox time while running, and model calls"),
  budgetUsd: z.number().nullable(),
  parent: z.object({ sessionId: z.string(), turn: z.number().int() }).optional().describe("the session this one was forked from, and the last turn it shares"),
  run: z.object({ id: z.string(), fork: z.number().int() }).optional().describe("the run fork this session continues (POST /v1/runs/{id}/forks/{n}/session)"),
  error: forkError.optional(),
  work: z
    .object({
      turn: z.number().int().describe("the last turn that had ended when it was taken"),
      at: isoDateTime,
      diff: diffStats,
      patch: z.object({ bytes: z.number().int(), sha256: z.string(), href: z.string().describe("GET /v1/sessions/{id}/patch") }).nullable().describe("null when nothing differs from the base"),
    })
    .optional()
    .describe("the session's work against its base commit (committed or not), taken between turns: before each pause, and by GET …/patch while the sandbox runs idle"),
  createdAt: isoDateTime,
  updatedAt: isoDateTime,
  links: sessionLinks,
});

export const createdSession = sessionView.pick({ id: true, status: true, title: true, links: true });

export const messageAccepted = z.object({ turn: z.number().int().describe("the turn this message runs as"), links: sessionLinks });

export const forkedSessions = z.object({
  sessions: z.array(sessionView).describe("the new sessions (201); empty while they wait for the running turn's next step boundary (202)"),
  pending: z
    .array(z.object({ id: z.string(), title: z.string(), budgetUsd: z.number().nullable() }))
    .optional()
    .describe("202: the new sessions made at the running turn's next step boundary (404 until then; the parent's events say session.forked or session.fork_failed)"),
  turn: z.number().int().optional().describe("202: the running turn they are forked from"),
});

const entryBase = { seq: z.number().int().describe("position in the transcript; `after` of the next page"), turn: z.number().int(), at: isoDateTime };
export const transcriptEntry = z.discriminatedUnion("role", [
  z.object({ ...entryBase, role: z.literal("user"), text: z.string() }),
  z.object({ ...entryBase, role: z.literal("assistant"), text: z.string(), toolCalls: z.array(z.object({ id: z.string(), name: z.string(), input: z.unknown() })) }),
  z.object({ ...entryBase, role: z.literal("tool"), toolUseId: z.string(), name: z.string(), content: z.string().describe("the result as the agent saw it (bounded)"), isError: z.boolean() }),
]);

export const transcriptPage = z.object({ entries: z.array(transcriptEntry), next: z.number().int().nullable().describe("`after` for the next page; null at the end") });

export const sessionSummary = sessionView.pick({ id: true, title: true, status: true, repo: true, branch: true, model: true, createdAt: true, updatedAt: true }).extend({
  turns: z.number().int(),
  costUsd: z.number().describe("USD"),
});

export const sessionPage = z.object({ sessions: z.array(sessionSummary), nextCursor: z.string().nullable() });

/** DELETE /v1/sessions/:id?purge=true (src/actions/delete-session.ts). */
export const deletedSession = z.object({
  id: z.string(),
  deleted: z.literal(true),
  reason: z.enum(["deleted", "retention"]).describe("`deleted`: by DELETE /v1/sessions/:id?purge=true; `retention`: by SESSION_RETENTION_DAYS"),
  deletedAt: isoDateTime,
  objectsDeleted: z.number().int().describe("R2 objects (its patch, its workspace snapshots) this call deleted; 0 when a delete is repeated"),
});
