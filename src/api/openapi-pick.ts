/** The pick part of the OpenAPI document ("take this one", src/actions/pick.ts): its operation and the schemas it uses. */
import type { z } from "zod";
import { errors, json, ref, type Json } from "./openapi-common.ts";
import * as res from "./pick-responses.ts";

export const PICK_RESPONSE_SCHEMAS: [string, z.core.$ZodType][] = [
  ["PickResult", res.pickResult],
  ["RunPick", res.runPick],
  ["PullRequestLink", res.pullRequestLink],
  ["WebhookPick", res.webhookPick],
  ["WebhookRefork", res.webhookRefork],
];

/** The pick operation, with the document's run id and fork number parameters. */
export function pickPaths(params: { runId: Json; fork: Json }): Record<string, Record<string, Json>> {
  return {
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
