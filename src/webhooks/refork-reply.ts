/**
 * Answers a `/refork k [prompt]` comment (triggers.ts decided it, with the same permission rule as
 * `/fork`): branches fork k of the thread's latest run — one new fork from its workspace and
 * conversation, as POST /v1/runs/:id/forks/:n/branch — and replies with the new fork's number, or
 * why not. The new fork reports like the run's others: the run is reported again when it ends.
 * The comment's id is the branch's Idempotency-Key: a redelivery answers the same fork and updates the reply.
 * Like `/fork`, it stays within the deployment's caps of GitHub-started work (GITHUB_MAX_FORKS,
 * GITHUB_MAX_BUDGET_USD): a run that would pass GITHUB_MAX_FORKS forks, or whose budget is above
 * GITHUB_MAX_BUDGET_USD (or unlimited: a run started through the API), is not branched from a comment.
 */
import type { BranchResponse } from "../api/runs";
import type { WebhookRefork } from "../api/pick-responses";
import type { Config, Env } from "../core/env";
import { ConflictError, unwrap } from "../core/errors";
import { log } from "../observability/log";
import { actOnThreadRun, oneLine, replyOnThread, threadReplyMarker, type ThreadOutcome } from "./thread-reply";
import type { ReforkTrigger } from "../github/triggers";

/** The reply's text: the new fork, or why none was started. */
export function renderReforkReply(refork: ReforkTrigger, outcome: ThreadOutcome<BranchResponse>): string {
  const lines = [threadReplyMarker("refork", refork.commentId)];
  const { done: branched, runId } = outcome;
  if (branched) {
    const what = refork.prompt ? "continuing with your prompt" : "continuing its task";
    lines.push(`🌿 Fork **${branched.forks.join(", ")}** of Forkyard run \`${runId}\` branches from fork ${refork.fork} at its next step (its workspace and conversation so far), ${what}. The run reports here again when it ends.`);
  } else {
    lines.push(`⚠️ Could not branch fork ${refork.fork}${runId ? ` of Forkyard run \`${runId}\`` : ""}: ${oneLine(outcome.error?.message ?? "")}`);
  }
  return lines.join("\n");
}

/** Why a `/refork` may not add a fork to a run of `forks` forks and budget `budgetUsd`, under the deployment's GitHub caps; null when it may. */
export function reforkCapRefusal(run: { forks: number; budgetUsd: number | undefined }, caps: Pick<Config, "GITHUB_MAX_FORKS" | "GITHUB_MAX_BUDGET_USD">): string | null {
  if (run.forks + 1 > caps.GITHUB_MAX_FORKS) return `the run has ${run.forks} forks: runs from GitHub have at most ${caps.GITHUB_MAX_FORKS} here (GITHUB_MAX_FORKS).`;
  if (run.budgetUsd === undefined || run.budgetUsd > caps.GITHUB_MAX_BUDGET_USD) {
    const budget = run.budgetUsd === undefined ? "no budget limit" : `a budget of $${run.budgetUsd}`;
    return `the run has ${budget}: forks started from GitHub spend at most $${caps.GITHUB_MAX_BUDGET_USD} a run here (GITHUB_MAX_BUDGET_USD).`;
  }
  return null;
}

export async function answerReforkCommand(env: Env, config: Config, refork: ReforkTrigger, context: { event: string; deliveryId: string }): Promise<WebhookRefork> {
  const request = { count: 1, ...(refork.prompt ? { prompt: refork.prompt } : {}) };
  const outcome = await actOnThreadRun(env, "refork", refork, async (runId) => {
    const orchestrator = env.ORCHESTRATOR.getByName(runId);
    const view = await orchestrator.view();
    const refused = view ? reforkCapRefusal({ forks: view.forks.length, budgetUsd: view.request.budgetUsd }, config) : null;
    if (refused) throw new ConflictError("github_cap", refused);
    return unwrap(await orchestrator.branch(refork.fork, request, `github-comment:${refork.commentId}`));
  });
  const reply = await replyOnThread(config, "refork", refork, renderReforkReply(refork, outcome));
  log("info", "github.refork", { runId: outcome.runId, fork: refork.fork, issue: refork.issueNumber, forks: outcome.done?.forks.join(",") ?? null, errorCode: outcome.error?.code ?? null });
  return {
    command: "refork",
    event: context.event,
    deliveryId: context.deliveryId,
    fork: refork.fork,
    runId: outcome.runId,
    ...(outcome.done ? { branched: outcome.done } : {}),
    ...(outcome.error ? { error: outcome.error } : {}),
    reply,
  };
}
