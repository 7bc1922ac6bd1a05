/**
 * Answers a `/pick k` comment (triggers.ts decided it, with the same permission rule as `/fork`):
 * picks fork k of the thread's latest run through the same code path as the API
 * (src/runs/pick.ts), then replies on the thread with the pull request, or with why nothing was
 * picked (no run on this thread, an unknown fork, a fork that failed or is still running).
 *
 * It runs within the webhook delivery (a few GitHub calls) and is safe to repeat: the pull
 * request is found by its head branch before one is opened, and the reply carries a hidden marker
 * naming the `/pick` comment, so a redelivery updates it instead of posting another. A failure
 * worth retrying (GitHub 5xx, a network error) fails the delivery (502), for GitHub to redeliver.
 */
import type { PickResult, WebhookPick } from "../api/pick-responses";
import type { Config, Env } from "../env";
import { ForkyardError } from "../errors";
import { log } from "../observability/log";
import { pickFork } from "../runs/pick";
import { latestRunOnThread } from "../runs/run-index";
import { githubClient, githubError } from "./client";
import { upsertIssueComment } from "./operations";
import { MARKER_PREFIX } from "./report";
import type { PickTrigger } from "./triggers";

/** The hidden marker of the reply to one `/pick` comment. */
export function pickReplyMarker(commentId: number): string {
  return `${MARKER_PREFIX}pick:${commentId} -->`;
}

type PickOutcome = { runId: string | null; picked?: PickResult; error?: { code: string; message: string } };

/** The reply's text: the pull request (and how to take the work locally), or why nothing was picked. */
export function renderPickReply(pick: PickTrigger, outcome: PickOutcome): string {
  const lines = [pickReplyMarker(pick.commentId)];
  const { picked, runId } = outcome;
  if (picked) {
    const pr = picked.pullRequest ? `: pull request [#${picked.pullRequest.number}](${picked.pullRequest.url})` : "";
    lines.push(`👉 Picked fork **${picked.n}** of Forkyard run \`${runId}\`${pr}.`, "", "To take its work locally:", "", "```sh", picked.fetch, "```");
  } else {
    // Our own messages, kept to one line (no line of them can start a command).
    const why = (outcome.error?.message ?? "").replace(/\s+/g, " ").replace(/</g, "&lt;");
    lines.push(`⚠️ Could not pick fork ${pick.fork}${runId ? ` of Forkyard run \`${runId}\`` : ""}: ${why}`);
  }
  return lines.join("\n");
}

export async function answerPickCommand(env: Env, config: Config, pick: PickTrigger, context: { apiOrigin: string; event: string; deliveryId: string }): Promise<WebhookPick> {
  const { owner, repo, issueNumber } = pick;
  const runId = await latestRunOnThread(env.DB, { owner, repo, issueNumber });
  const outcome: PickOutcome = { runId };
  if (!runId) {
    outcome.error = { code: "no_run", message: `no Forkyard run reports to ${owner}/${repo}#${issueNumber}: start one with /fork, then /pick a fork of it.` };
  } else {
    try {
      outcome.picked = await pickFork(env, { runId, n: pick.fork, apiOrigin: context.apiOrigin, by: pick.login });
    } catch (err) {
      if (!(err instanceof ForkyardError) || err.retryable) throw err;
      outcome.error = { code: err.code, message: err.message };
    }
  }
  const body = renderPickReply(pick, outcome);
  const reply = await upsertIssueComment(githubClient(config), { owner, repo, issueNumber, marker: pickReplyMarker(pick.commentId), body }).catch((err: unknown) =>
    Promise.reject(githubError(err, `replying on #${issueNumber}`, config.GITHUB_TOKEN)),
  );
  log("info", "github.pick", { runId, fork: pick.fork, issue: issueNumber, picked: outcome.picked !== undefined, errorCode: outcome.error?.code ?? null });
  return {
    command: "pick",
    event: context.event,
    deliveryId: context.deliveryId,
    fork: pick.fork,
    runId,
    ...(outcome.picked ? { picked: outcome.picked } : {}),
    ...(outcome.error ? { error: outcome.error } : {}),
    reply: { id: reply.id, url: reply.url },
  };
}
