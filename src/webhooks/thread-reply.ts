/**
 * What `/pick k` and `/refork k` comments share: they act on fork k of the thread's latest run
 * and reply on the thread, once per comment (the reply carries a hidden marker naming the
 * comment, so a redelivery updates it). An error the commenter can act on (an unknown fork, a
 * fork that failed, …) is the reply; one worth retrying fails the delivery, for GitHub to redeliver.
 */
import type { Config, Env } from "../core/env";
import { ForkyardError } from "../core/errors";
import { latestRunOnThread } from "../d1-index/run-index";
import { githubClient, githubError } from "../github/client";
import { ownLogin } from "../github/identity";
import { upsertIssueComment } from "../github/operations";
import { publicErrorSentence } from "../github/public-errors";
import { log } from "../observability/log";
import { MARKER_PREFIX } from "../github/report";
import type { PickTrigger } from "../github/triggers";

export type ThreadCommandName = "pick" | "refork";

/** What a command did: its result, or why it did nothing, and the run it was about (null: none on the thread). */
export interface ThreadOutcome<T> {
  runId: string | null;
  done?: T;
  error?: { code: string; message: string };
}

/** The hidden marker of the reply to one command comment. */
export function threadReplyMarker(command: ThreadCommandName, commentId: number): string {
  return `${MARKER_PREFIX}${command}:${commentId} -->`;
}

/** Runs `act` on the thread's latest run; a ForkyardError that retrying cannot help becomes the outcome's error. */
export async function actOnThreadRun<T>(env: Env, command: ThreadCommandName, trigger: PickTrigger, act: (runId: string) => Promise<T>): Promise<ThreadOutcome<T>> {
  const { owner, repo, issueNumber } = trigger;
  const runId = await latestRunOnThread(env.DB, { owner, repo, issueNumber });
  if (!runId) return { runId, error: { code: "no_run", message: `no Forkyard run reports to ${owner}/${repo}#${issueNumber}: start one with /fork, then /${command} a fork of it.` } };
  try {
    return { runId, done: await act(runId) };
  } catch (err) {
    if (!(err instanceof ForkyardError) || err.retryable) throw err;
    // An internal error's message is raw exception text: logged, never posted on the thread.
    if (err.code !== "internal_error") return { runId, error: { code: err.code, message: err.message } };
    log("warn", "github.thread_command_failed", { runId, command, errorCode: err.code, errorMessage: err.message });
    return { runId, error: { code: err.code, message: `${publicErrorSentence(err.code)}: the details are in the deployment's logs.` } };
  }
}

/** Our own message on one line (no line of it can start a command). */
export function oneLine(message: string): string {
  return message.replace(/\s+/g, " ").replace(/</g, "&lt;");
}

/** Posts the reply to a command comment, or updates the one posted for it before. */
export async function replyOnThread(config: Config, command: ThreadCommandName, trigger: PickTrigger, body: string): Promise<{ id: number; url: string }> {
  const { owner, repo, issueNumber, commentId } = trigger;
  const gh = githubClient(config);
  const marker = threadReplyMarker(command, commentId);
  const reply = await ownLogin(gh, config.GITHUB_TOKEN ?? "")
    .then((author) => upsertIssueComment(gh, { owner, repo, issueNumber, marker, body, author }))
    .catch((err: unknown) => Promise.reject(githubError(err, `replying on #${issueNumber}`, config.GITHUB_TOKEN)));
  return { id: reply.id, url: reply.url };
}
