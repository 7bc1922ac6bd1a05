/**
 * Picking a fork ("take this one"). POST /v1/runs/:id/forks/:n/pick and the GitHub `/pick k`
 * comment (src/webhooks/pick-reply.ts) both come here. A fork that succeeded with changes can be
 * picked:
 *
 * - On GitHub (a GITHUB_TOKEN, and the run's repo on GITHUB_API_URL's host), its pushed branch
 *   gets a pull request into the run's base branch, found by its head branch before one is
 *   opened: picking again, or picking the fork the report already opened one for, answers that
 *   same pull request. The branch must be on GitHub, so the run must have had `push: true`;
 *   otherwise the pick is refused (409 `branch_not_pushed`, naming `push`, with the fetch command
 *   that takes the work from the patch). Pushing from the stored patch was weighed and left out: it
 *   would mean applying a diff to GitHub trees in the Worker, a second way to build a commit.
 * - Anywhere, the answer carries `fetch`: the command that takes the fork's work into a clone
 *   (src/runs/fetch-command.ts), and the link to its patch.
 *
 * The pick is recorded on the run (its view's `picked`, the latest; a `run.picked` event each
 * time), and an ended run that comments on GitHub is reported again, so its summary shows it. It
 * is a person's choice beside the ranking: `winner` does not change.
 */
import type { PickResult, RunPick } from "../api/pick-responses";
import { TERMINAL_FORK_STATUSES, TERMINAL_RUN_STATUSES, type ForkView, type RunView } from "../api/runs";
import { loadConfig, type Config, type Env } from "../core/env";
import { ConflictError, NotFoundError, unwrap } from "../core/errors";
import { githubClient, githubError } from "../github/client";
import { ensurePullRequest } from "../github/operations";
import { renderPullRequest, runSnapshot } from "../github/report";
import { headOwner, pushRepoUrl } from "../github/push-repo";
import { githubRepository } from "../github/targets";
import { fetchCommand } from "../runs/fetch-command";
import { RUN_ID_PATTERN } from "../protocol/run-ids";
import { reportPick } from "../protocol/report-launch";

export interface PickInput {
  runId: string;
  n: number;
  /** The origin the API is reached at (the patch's URL in `fetch`). */
  apiOrigin: string;
  /** The GitHub login of a `/pick` comment's author. */
  by?: string;
}

/** The fork `n` of the run, if it can be picked: it ended, succeeded and changed something. */
export function pickableFork(view: RunView, n: number): ForkView {
  const fork = view.forks.find((f) => f.n === n);
  if (!fork) throw new NotFoundError("fork", `${view.id}/${n}`, { field: "n" });
  const details = { field: "n", n, status: fork.status };
  if (!TERMINAL_FORK_STATUSES.includes(fork.status)) throw new ConflictError("fork_running", `Fork ${n} has not ended yet (${fork.status}): pick it once it has succeeded.`, details);
  if (fork.status !== "succeeded") {
    const why = fork.error ? ` (${fork.error.code})` : "";
    throw new ConflictError("fork_not_succeeded", `Fork ${n} ${fork.status.replace("_", " ")}${why}: only a fork that succeeded can be picked.`, details);
  }
  if (fork.diff?.files === 0) throw new ConflictError("nothing_to_pick", `Fork ${n} succeeded without changing anything: there is nothing to take.`, details);
  return fork;
}

/** Picks fork `n` of a run: opens (or finds) its pull request on GitHub, and records the pick. */
export async function pickFork(env: Env, input: PickInput): Promise<PickResult> {
  if (!RUN_ID_PATTERN.test(input.runId)) throw new NotFoundError("run", input.runId, { field: "id" });
  const stub = env.ORCHESTRATOR.getByName(input.runId);
  const view = (await stub.view()) as RunView | null;
  if (!view) throw new NotFoundError("run", input.runId, { field: "id" });
  const fork = pickableFork(view, input.n);
  const config = loadConfig(env);
  const branch = fork.pushed?.branch ?? fork.branch;
  const patchUrl = `${input.apiOrigin}/v1/runs/${view.id}/forks/${fork.n}/patch`;
  const repository = config.GITHUB_TOKEN ? githubRepository(view.request.repo, config) : null;
  // A pushed branch lives in GITHUB_PUSH_REPO when that is set.
  const fetchFrom = (fork.pushed && repository && pushRepoUrl(config)) || view.request.repo;
  const fetch = fetchCommand({ repo: fetchFrom, branch, pushed: fork.pushed !== undefined, baseBranch: view.request.branch, ...(view.request.commit ? { baseCommit: view.request.commit } : {}), patchUrl, message: `forkyard: run ${view.id} fork ${fork.n}` });
  if (!fork.pushed && !fork.artifacts?.patch) {
    throw new ConflictError("patch_unavailable", `Fork ${fork.n} pushed no branch and stored no patch: its work cannot be taken.`, { field: "n", n: fork.n });
  }
  const result: PickResult = { n: fork.n, branch, fetch, ...(fork.artifacts?.patch ? { patch: patchUrl } : {}) };

  if (repository) {
    if (!fork.pushed) {
      throw new ConflictError(
        "branch_not_pushed",
        `push: run ${view.id} did not push its forks' branches, so fork ${fork.n} has no branch on GitHub to open a pull request from. Create the run with "push": true to pick on GitHub; the fork's work can still be taken with: ${fetch}`,
        { field: "push", n: fork.n, fetch },
      );
    }
    result.pullRequest = await openPullRequest(config, repository, view, fork.n, fork.pushed.branch);
  }
  const picked: RunPick = { n: fork.n, at: new Date().toISOString(), ...(result.pullRequest ? { pullRequest: result.pullRequest } : {}), ...(input.by ? { by: input.by } : {}) };
  unwrap(await stub.recordPick(picked));
  if (view.request.github?.comment && TERMINAL_RUN_STATUSES.includes(view.status)) await reportPick(env, view.id, picked.at);
  return result;
}

/** The pull request from the fork's pushed branch into the run's base branch: the open one, or a new one. */
async function openPullRequest(config: Config, repository: { owner: string; repo: string }, view: RunView, n: number, head: string): Promise<{ number: number; url: string }> {
  const snapshot = runSnapshot(view);
  const text = renderPullRequest(snapshot, snapshot.forks.find((f) => f.n === n)!, n === view.winner, true);
  try {
    const pr = await ensurePullRequest(githubClient(config), { ...repository, head, headOwner: headOwner(repository, config), base: view.request.branch, title: text.title, body: text.body });
    return { number: pr.number, url: pr.url };
  } catch (err) {
    throw githubError(err, `opening a pull request for ${head}`, config.GITHUB_TOKEN);
  }
}
