import { z } from "zod";
import { PROFILE_NAMES, templateName } from "../sandbox/profiles.ts";
import type { RunSandbox } from "./runs.ts";
import { gitRefName } from "./runs.ts";

export const DEFAULT_IDLE_SECONDS = 300;

export const createSessionRequest = z.strictObject({
  repo: z.string().min(1).max(2048),
  branch: gitRefName.default("main"),
  /** A full model id or a short name (`sonnet`, `opus`, `haiku`); resolved at POST time. */
  model: z.string().min(1).max(100).optional(),
  /** A size profile: its template (unless given here) and its cost rates. */
  profile: z.enum(PROFILE_NAMES).optional(),
  /** A template id or alias, resolved when the session is created. Default: the profile's, else `base`. */
  template: templateName.optional(),
  title: z.string().min(1).max(200).optional(),
  budgetUsd: z.number().positive().max(100_000).optional(),
  /** After this long with nothing to do the sandbox is paused (not billed, files kept). */
  idleSeconds: z.number().int().min(1).max(7 * 86_400).default(DEFAULT_IDLE_SECONDS),
  /** Extra instructions appended to the agent's system prompt for every turn. */
  system: z.string().min(1).max(20_000).optional(),
});
export type CreateSessionRequest = z.infer<typeof createSessionRequest>;

export const sendMessageRequest = z.strictObject({
  prompt: z.string().min(1).max(100_000),
  /** Switches the session's model from this turn on. */
  model: z.string().min(1).max(100).optional(),
});

export const patchSessionRequest = z.strictObject({
  title: z.string().min(1).max(200).optional(),
  /** Raises (or sets) the budget; a turn waiting for budget continues. */
  budgetUsd: z.number().positive().max(100_000).optional(),
});

export const forkSessionRequest = z.strictObject({
  count: z.number().int().min(1).max(10).default(1),
  title: z.string().min(1).max(200).optional(),
});

export const SESSION_STATUSES = ["setting_up", "idle", "running", "paused", "failed", "destroyed"] as const;
export const sessionStatus = z.enum(SESSION_STATUSES);
export type SessionStatus = z.infer<typeof sessionStatus>;

export const listSessionsQuery = z.strictObject({
  status: sessionStatus.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
});

export const transcriptQuery = z.strictObject({
  /** Entries after this sequence number (the `seq` of the last entry read). */
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const TURN_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled", "budget_exceeded"] as const;
export type TurnStatus = (typeof TURN_STATUSES)[number];

export interface TurnView {
  n: number;
  prompt: string;
  model: string;
  status: TurnStatus;
  stopReason: string | null;
  summary: string | null;
  toolCalls: number;
  tokens: { input: number; output: number; cacheRead: number; cacheWrite: number };
  costUsd: number;
  error?: { code: string; message: string };
  startedAt: string | null;
  finishedAt: string | null;
}

export interface SessionView {
  id: string;
  title: string;
  status: SessionStatus;
  repo: string;
  branch: string;
  workBranch: string;
  model: string;
  system: string | null;
  idleSeconds: number;
  sandbox: { id: string | null; state: "running" | "paused" | "gone" | null } & RunSandbox;
  turns: TurnView[];
  /** Turns waiting for the running one. */
  queued: number;
  costUsd: { sandbox: number; llm: number; total: number };
  budgetUsd: number | null;
  parent?: { sessionId: string; turn: number };
  error?: { code: string; message: string };
  createdAt: string;
  updatedAt: string;
  links: SessionLinks;
}

export interface SessionLinks {
  self: string;
  messages: string;
  transcript: string;
  events: string;
  fork: string;
  pause: string;
  cancel: string;
}

export function sessionLinks(id: string): SessionLinks {
  const self = `/v1/sessions/${id}`;
  return { self, messages: `${self}/messages`, transcript: `${self}/transcript`, events: `${self}/events`, fork: `${self}/fork`, pause: `${self}/pause`, cancel: `${self}/cancel` };
}

/** One entry of a session's transcript, in order. Tool results are bounded as the agent saw them. */
export type TranscriptEntry = { seq: number; turn: number; at: string } & (
  | { role: "user"; text: string }
  | { role: "assistant"; text: string; toolCalls: { id: string; name: string; input: unknown }[] }
  | { role: "tool"; toolUseId: string; name: string; content: string; isError: boolean }
);

/** A session as GET /v1/sessions lists it. */
export type SessionSummary = Pick<SessionView, "id" | "title" | "status" | "repo" | "branch" | "model" | "createdAt" | "updatedAt"> & { turns: number; costUsd: number };
