/** The pick part of the OpenAPI document ("take this one", src/actions/pick.ts): its operation and the schemas it uses. */
import type { z } from "zod";
import { errors, json, ref, type Json } from "./openapi-common.ts";
import * as res from "./pick-responses.ts";

export const PICK_RESPONSE_SCHEMAS: [string, z.core.$ZodType][] = [
  ["PickResult", res.pickResult],
  ["SessionPickResult", res.sessionPickResult],
  ["RunPick", res.runPick],
  ["PullRequestLink", res.pullRequestLink],
  ["WebhookPick", res.webhookPick],
  ["WebhookRefork", res.webhookRefork],
];

/** The pick operations, with the document's run id, fork number and session id parameters. */
export function pickPaths(params: { runId: Json; fork: Json; sessionId: Json }): Record<string, Record<string, Json>> {
  return {
    ...sessionWorkPaths(params.sessionId),
    "/v1/runs/{id}/forks/{n}/pick": {
      post: {
        tags: ["runs"],
        operationId: "pickFork",
        summary: "Take this fork: its pull request on GitHub, or the command that fetches its work",
        description:
          "For an ended fork that succeeded with changes. On GitHub (a GITHUB_TOKEN, and the run's repo on GITHUB_API_URL's host) it opens a pull request from the fork's pushed branch " +
          "into the run's base branch, or answers the one already there (picking again opens no second one); the branch must have been pushed (`push: true`), else 409 `branch_not_pushed` " +
          "(`details.field: push`, `details.fetch`). Always answers `fetch`, the shell command that takes the fork's work into a clone, and the patch's URL. The pick is recorded as the run's " +
          "`picked` (the latest; a `run.picked` event each time); the ranking's `winner` does not change. 404 for an unknown run or fork; 409 `fork_running` (not ended), " +
          "`fork_not_succeeded`, `nothing_to_pick` (it changed nothing), `patch_unavailable`; 502 `github_error` when GitHub fails.",
        parameters: [params.runId, params.fork],
        responses: {
          "200": json(ref("PickResult"), "The fork's branch, its pull request (GitHub) and the command that fetches its work."),
          ...errors(["BadRequest", "Unauthorized", "NotFound", "Conflict"]),
        },
      },
    },
  };
}

/** A session's work: its patch and its pick (src/actions/session-work.ts). */
function sessionWorkPaths(sessionId: Json): Record<string, Record<string, Json>> {
  const taken =
    "The work is the session's workspace against its base commit (committed and uncommitted changes, untracked files included), taken between turns: before each pause, " +
    "and by this call while the sandbox runs with no turn; while a turn runs, as the last pause took it. It is taken in the session's own sandbox (not rebuilt in a fresh one like a fork's).";
  return {
    "/v1/sessions/{id}/patch": {
      get: {
        tags: ["sessions"],
        operationId: "getSessionPatch",
        summary: "The session's work as a patch",
        description: `${taken} The session's view carries its diff stats (\`work\`). 404 when the work changed nothing; 409 \`no_work_yet\` before a turn has ended.`,
        parameters: [sessionId],
        responses: {
          "200": { description: "The patch (`git diff --binary` against the base commit).", content: { "text/x-diff": { schema: { type: "string" } } } },
          ...errors(["Unauthorized", "NotFound", "Conflict"]),
        },
      },
    },
    "/v1/sessions/{id}/pick": {
      post: {
        tags: ["sessions"],
        operationId: "pickSession",
        summary: "Take the session's work: the command that fetches it",
        description: `${taken} Answers \`fetch\`, the shell command that applies the patch on a new branch (the session's work branch) in a clone, the patch's URL and the diff stats. No pull request is opened (a session's work is not pushed). 409 \`no_work_yet\`, \`nothing_to_pick\` (it changed nothing).`,
        parameters: [sessionId],
        responses: { "200": json(ref("SessionPickResult"), "How to take the session's work."), ...errors(["Unauthorized", "NotFound", "Conflict"]) },
      },
    },
  };
}
