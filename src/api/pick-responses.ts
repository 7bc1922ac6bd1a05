/**
 * zod schemas of picking a fork ("take this one": POST /v1/runs/:id/forks/:n/pick and the GitHub
 * `/pick k` comment, src/actions/pick.ts); the TypeScript types the code uses are inferred from them,
 * so the OpenAPI document and the code cannot drift.
 *
 * Imports carry their `.ts` extension: the Node-side OpenAPI test imports this module too.
 */
import { z } from "zod";

const isoDateTime = z.string().describe("ISO 8601 date-time (UTC)");

export const pullRequestLink = z.object({
  number: z.number().int(),
  url: z.string().describe("the pull request's web page"),
});

/** The pick recorded on the run (its view's `picked`): the latest one. */
export const runPick = z.object({
  n: z.number().int().min(1).describe("the fork picked"),
  at: isoDateTime,
  pullRequest: pullRequestLink.optional().describe("the pull request opened (or found open) for the fork's branch, when the run is on GitHub"),
  by: z.string().optional().describe("the GitHub login whose `/pick` comment picked it (absent when picked through the API)"),
});

/** 200 answer of POST /v1/runs/:id/forks/:n/pick. */
export const pickResult = z.object({
  n: z.number().int().min(1),
  branch: z.string().describe("the fork's work branch"),
  pullRequest: pullRequestLink.optional().describe("runs on GitHub: the pull request from the fork's pushed branch into the run's base branch (the same one on every pick)"),
  fetch: z
    .string()
    .describe(
      "the shell command that takes the fork's work into a clone of the repository, on a local branch named like the fork's: `git fetch <repo> <branch>:<branch>` when the branch was pushed, " +
        "else the base branch fetched and the fork's patch applied (`curl … | git apply --3way`, reading the API token from $FORKYARD_TOKEN) and committed",
    ),
  patch: z.string().optional().describe("the URL of the fork's patch (GET …/forks/{n}/patch), when it stored one"),
});

/** 200 answer of a `/pick k` comment delivered to POST /v1/webhooks/github: the pick, or why not, and the reply comment. */
export const webhookPick = z.object({
  command: z.literal("pick"),
  event: z.string(),
  deliveryId: z.string(),
  fork: z.number().int().describe("the fork the comment asked for"),
  runId: z.string().nullable().describe("the thread's latest run (null: no run on this issue or pull request)"),
  picked: pickResult.optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional().describe("why nothing was picked: not_found, fork_not_ended, fork_not_succeeded, branch_not_pushed, …"),
  reply: z.object({ id: z.number().int(), url: z.string() }).describe("Forkyard's reply comment on the thread (one per /pick comment, updated on a redelivery)"),
});

/** 200 answer of the webhook to a `/refork k [prompt]` comment (src/webhooks/refork-reply.ts). */
export const webhookRefork = z.object({
  command: z.literal("refork"),
  event: z.string(),
  deliveryId: z.string(),
  fork: z.number().int().describe("the fork the comment asked to branch"),
  runId: z.string().nullable().describe("the thread's latest run (null: no run on this issue or pull request)"),
  branched: z.object({ runId: z.string(), forks: z.array(z.number().int()) }).optional().describe("the new fork (as POST …/forks/{n}/branch answers)"),
  error: z.object({ code: z.string(), message: z.string() }).optional().describe("why no fork was started: not_found, fork_ended, invalid_input, …"),
  reply: webhookPick.shape.reply,
});

export type RunPick = z.infer<typeof runPick>;
export type PickResult = z.infer<typeof pickResult>;
export type WebhookPick = z.infer<typeof webhookPick>;
export type WebhookRefork = z.infer<typeof webhookRefork>;

/** 200 answer of POST /v1/sessions/:id/pick: how to take a session's work. */
export const sessionPickResult = z.object({
  sessionId: z.string(),
  branch: z.string().describe("the session's work branch: the branch the fetch command makes"),
  turn: z.number().int().describe("the last turn that had ended when the work was taken"),
  diff: z.object({ files: z.number().int(), insertions: z.number().int(), deletions: z.number().int() }),
  fetch: z.string().describe("the command that takes the session's work into a clone: fetch the base branch, apply the patch on a new branch, commit"),
  patch: z.string().describe("the patch's URL (GET /v1/sessions/{id}/patch)"),
});
