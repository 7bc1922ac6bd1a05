/**
 * Answers a `/pick k` comment (triggers.ts decided it, with the same permission rule as `/fork`):
 * picks fork k of the thread's latest run through the same code path as the API
 * (src/actions/pick.ts), then replies on the thread with the pull request, or with why nothing was
 * picked (no run on this thread, an unknown fork, a fork that failed or is still running).
 *
 * It runs within the webhook delivery (a few GitHub calls) and is safe to repeat: the pull
 * request is found by its head branch before one is opened, and the reply carries a hidden marker
 * naming the `/pick` comment, so a redelivery updates it instead of posting another. A failure
 * worth retrying (GitHub 5xx, a network error) fails the delivery (502), for GitHub to redeliver.
 */
import type { PickResult, WebhookPick } from "../api/pick-responses";
import type { Config, Env } from "../core/env";
import { log } from "../observability/log";
import { pickFork } from "../actions/pick";
import { actOnThreadRun, oneLine, replyOnThread, threadReplyMarker, type ThreadOutcome } from "./thread-reply";
import type { PickTrigger } from "../github/triggers";

/** The hidden marker of the reply to one `/pick` comment. */
export function pickReplyMarker(commentId: number): string {
  return threadReplyMarker("pick", commentId);
}

/** The reply's text: the pull request (and how to take the work locally), or why nothing was picked. */
export function renderPickReply(pick: PickTrigger, outcome: ThreadOutcome<PickResult>): string {
  const lines = [pickReplyMarker(pick.commentId)];
  const { done: picked, runId } = outcome;
  if (picked) {
    const pr = picked.pullRequest ? `: pull request [#${picked.pullRequest.number}](${picked.pullRequest.url})` : "";
    lines.push(`👉 Picked fork **${picked.n}** of Forkyard run \`${runId}\`${pr}.`, "", "To take its work locally:", "", "```sh", picked.fetch, "```");
  } else {
    lines.push(`⚠️ Could not pick fork ${pick.fork}${runId ? ` of Forkyard run \`${runId}\`` : ""}: ${oneLine(outcome.error?.message ?? "")}`);
  }
  return lines.join("\n");
}

export async function answerPickCommand(env: Env, config: Config, pick: PickTrigger, context: { apiOrigin: string; event: string; deliveryId: string }): Promise<WebhookPick> {
  const outcome = await actOnThreadRun(env, "pick", pick, (runId) => pickFork(env, { runId, n: pick.fork, apiOrigin: context.apiOrigin, by: pick.login }));
  const reply = await replyOnThread(config, "pick", pick, renderPickReply(pick, outcome));
  log("info", "github.pick", { runId: outcome.runId, fork: pick.fork, issue: pick.issueNumber, picked: outcome.done !== undefined, errorCode: outcome.error?.code ?? null });
  return {
    command: "pick",
    event: context.event,
    deliveryId: context.deliveryId,
    fork: pick.fork,
    runId: outcome.runId,
    ...(outcome.done ? { picked: outcome.done } : {}),
    ...(outcome.error ? { error: outcome.error } : {}),
    reply,
  };
}
