import { z } from "zod";
import { PROFILE_NAMES, templateName } from "../core/sandbox-profiles.ts";
import { gitRefName } from "./runs.ts";
import { sessionLinks as sessionLinksSchema, sessionStatus, sessionSummary, sessionView, transcriptEntry, turnStatus, turnView } from "./session-responses.ts";

export { SESSION_STATUSES, TURN_STATUSES } from "./session-responses.ts";

export const DEFAULT_IDLE_SECONDS = 300;

export const createSessionRequest = z.strictObject({
  repo: z.string().min(1).max(2048),
  /** The branch to start from. Default: the repository's default branch (a local repo's HEAD, a remote's symbolic HEAD). */
  branch: gitRefName.optional(),
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
/** A session's request as stored: validated, the branch resolved. */
export type CreateSessionRequest = Omit<z.infer<typeof createSessionRequest>, "branch"> & { branch: string };

export const sendMessageRequest = z.strictObject({
  prompt: z.string().min(1).max(100_000),
  /** Switches the session's model from this turn on. */
  model: z.string().min(1).max(100).optional(),
});

/** DELETE /v1/sessions/:id/messages/:n: the turn the message was queued as (`turn` of its 202). */
export const messagePathParams = z.object({ id: z.string(), n: z.coerce.number().int().min(1).max(1_000_000) });

export const patchSessionRequest = z.strictObject({
  title: z.string().min(1).max(200).optional(),
  /** Raises (or sets) the budget; a turn waiting for budget continues. */
  budgetUsd: z.number().positive().max(100_000).optional(),
});

const budget = z.number().positive().max(100_000);

export const forkSessionRequest = z
  .strictObject({
    count: z.number().int().min(1).max(10).default(1),
    /** Replaces the parent's title; with several new sessions each gets " (fork i of n)". */
    title: z.string().min(1).max(200).optional(),
    /** Each new session's budget: one number for all, or one per new session. Default: the parent's remaining budget split evenly (none if it has none). */
    budgetUsd: z.union([budget, z.array(budget).min(1).max(10)]).optional(),
  })
  .superRefine((req, ctx) => {
    if (Array.isArray(req.budgetUsd) && req.budgetUsd.length !== req.count) {
      ctx.addIssue({ code: "custom", path: ["budgetUsd"], message: `one budget per new session: ${req.count} expected, ${req.budgetUsd.length} given` });
    }
  });

export const listSessionsQuery = z.strictObject({
  status: sessionStatus.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
});

/** DELETE /v1/sessions/:id: `purge=true` deletes the session for good instead of only destroying it. */
export const deleteSessionQuery = z.strictObject({
  purge: z.enum(["true", "false"]).default("false").transform((v) => v === "true"),
});

export const transcriptQuery = z.strictObject({
  /** Entries after this sequence number (the `seq` of the last entry read). */
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export type SessionStatus = z.infer<typeof sessionStatus>;
export type TurnStatus = z.infer<typeof turnStatus>;
export type TurnView = z.infer<typeof turnView>;
export type SessionView = z.infer<typeof sessionView>;
export type SessionLinks = z.infer<typeof sessionLinksSchema>;
export type TranscriptEntry = z.infer<typeof transcriptEntry>;
export type SessionSummary = z.infer<typeof sessionSummary>;

export function sessionLinks(id: string): SessionLinks {
  const self = `/v1/sessions/${id}`;
  return { self, messages: `${self}/messages`, transcript: `${self}/transcript`, events: `${self}/events`, fork: `${self}/fork`, pause: `${self}/pause`, cancel: `${self}/cancel` };
}
