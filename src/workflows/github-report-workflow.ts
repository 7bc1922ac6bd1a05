import { NonRetryableError } from "cloudflare:workflows";
import { DEFAULT_GITHUB_API_URL, githubClient, githubError, githubWebOrigin } from "../github/client";
import { ownLogin } from "../github/identity";
import { headOwner, pushRepoSetting } from "../github/push-repo";
import { ensurePullRequest, upsertIssueComment } from "../github/operations";
import { commentMarker, pullRequestPlan, renderPullRequest, renderSummary, reportSnapshot, type PullRequestResult, type ReportSnapshot } from "../github/report";
import { scrubSecret } from "../observability/scrub";
import { log } from "../observability/log";
import { DurableJob, type JobContext, type JobTracking } from "./durable-job";
import type { JobPlan } from "./job-plan";
import { REPORT_LOAD_ATTEMPTS_WAITING, stepConfig } from "./step-policies";

export interface GitHubReportParams {
  runId: string;
}

export interface GitHubReportOutput {
  pullRequests: PullRequestResult[];
  comment: { id: number; url: string; created: boolean } | null;
}

/** Step names of the report Workflow. */
export const REPORT_STEP = {
  load: "load-run",
  pullRequest: (n: number) => `pull-request-${n}`,
  comment: "comment",
} as const;


/**
 * Reports a GitHub run that ended: opens pull requests for its pushed forks (each, or the best
 * one), then comments a summary table on the issue. Every GitHub call is its own step and safe
 * to repeat: pull requests are looked up by head branch before one is created, the comment is
 * found by its hidden marker, in a comment by Forkyard's own login, and updated.
 */
export class GitHubReportWorkflow extends DurableJob<GitHubReportParams, GitHubReportOutput> {
  /** No object watches the report's steps: a failure fails the instance (each GitHub call's own failure is reported in the comment). */
  protected tracking({ runId }: GitHubReportParams): JobTracking {
    return { runId, n: 0 };
  }

  protected plan(job: JobContext<GitHubReportParams>): JobPlan<GitHubReportOutput> {
    return { work: () => this.#report(job) };
  }

  async #report(job: JobContext<GitHubReportParams>): Promise<GitHubReportOutput> {
    const { step, config } = job;
    const { runId } = job.params;
    const token = config.GITHUB_TOKEN;
    const retries = config.RETRY_POLICIES;
    const githubStep = stepConfig("github", retries);
    /** Runs a GitHub call; errors leave the step with the token scrubbed, non-retryable ones marked so. */
    const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
      try {
        return await fn();
      } catch (err) {
        const error = githubError(err, what, token);
        log("warn", "github.call_failed", { runId, what, errorCode: error.code, errorMessage: error.message });
        if (!error.retryable) throw new NonRetryableError(error.message);
        throw new Error(error.message);
      }
    };

    const snapshot: ReportSnapshot = await step.do(REPORT_STEP.load, stepConfig("reportLoad", retries), async (ctx) => {
      const view = await this.env.ORCHESTRATOR.getByName(runId).view();
      if (!view) throw new NonRetryableError(`Run ${runId} does not exist.`);
      if (!view.request.github) throw new NonRetryableError(`Run ${runId} has no github target.`);
      const unfinished = view.forks.filter((f) => f.status === "queued" || f.status === "running").length;
      if (unfinished > 0 && ctx.attempt <= REPORT_LOAD_ATTEMPTS_WAITING) throw new Error(`${unfinished} forks of run ${runId} are still ending.`);
      return reportSnapshot(view);
    });

    const client = () => githubClient(config);
    const { owner, repo, issueNumber } = snapshot.github;
    const plan = pullRequestPlan(snapshot);
    const pullRequests: PullRequestResult[] = [];
    for (const [i, fork] of plan.entries()) {
      const branch = fork.pushed?.branch ?? fork.branch;
      try {
        const pr = await step.do(REPORT_STEP.pullRequest(fork.n), githubStep, async () => {
          const text = renderPullRequest(snapshot, fork, i === 0 && snapshot.github.pullRequests === "best");
          const result = await call(`opening a pull request for ${branch}`, () =>
            ensurePullRequest(client(), { owner, repo, head: branch, headOwner: headOwner({ owner, repo }, config), base: snapshot.baseBranch, title: text.title, body: text.body }),
          );
          log("info", "github.pull_request", { runId, fork: fork.n, number: result.number, created: result.created });
          return { n: fork.n, number: result.number, url: result.url };
        });
        pullRequests.push(pr);
      } catch (err) {
        // The comment still reports the fork (and says the pull request failed).
        pullRequests.push({ n: fork.n, error: scrubSecret(err instanceof Error ? err.message : String(err), token) });
      }
    }

    let comment: GitHubReportOutput["comment"] = null;
    if (snapshot.github.comment) {
      const webOrigin = githubWebOrigin(config.GITHUB_API_URL ?? DEFAULT_GITHUB_API_URL);
      comment = await step.do(REPORT_STEP.comment, githubStep, async () => {
        const body = renderSummary(snapshot, pullRequests, webOrigin, pushRepoSetting(config) ?? undefined);
        const author = await call("reading its own login", () => ownLogin(client(), token ?? ""));
        const result = await call(`commenting on #${issueNumber}`, () => upsertIssueComment(client(), { owner, repo, issueNumber, marker: commentMarker(runId), body, author }));
        log("info", "github.comment", { runId, issue: issueNumber, created: result.created });
        return result;
      });
    }
    return { pullRequests, comment };
  }
}
