/**
 * GITHUB_PUSH_REPO: where the forks' branches are pushed instead of the run's repository — a fork
 * of it (`owner/name`), synced with its upstream before each tree is built. Pull requests then come
 * from that fork, and GitHub runs a fork's pull request's workflows without the base repository's
 * secrets: agent-written code never runs with them. Unset, branches go to the repository itself.
 */
import type { Config } from "../core/env";
import { ForkyardError } from "../core/errors";
import { githubWebOrigin, DEFAULT_GITHUB_API_URL, type GitHubClient } from "./client";
import type { RepoRef } from "./operations";

/** GITHUB_PUSH_REPO cannot take the run's branches: not a fork of the repository, or not synced with it. */
export class PushRepoError extends ForkyardError {
  constructor(message: string) {
    super("push_repo_invalid", message, { status: 422 });
  }
}

/** GITHUB_PUSH_REPO as owner and name, or null when it is unset. */
export function pushRepoSetting(config: Pick<Config, "GITHUB_PUSH_REPO">): RepoRef | null {
  const [owner, repo] = config.GITHUB_PUSH_REPO?.split("/") ?? [];
  return owner && repo ? { owner, repo } : null;
}

const fullName = (r: RepoRef) => `${r.owner}/${r.repo}`;

/**
 * Where a run on `upstream` pushes: `upstream` itself, or GITHUB_PUSH_REPO once it is known to be a
 * fork of `upstream` and its `baseBranch` is synced with the upstream's (merge-upstream, a
 * fast-forward); anything else is a clear PushRepoError, never a push to the wrong place.
 */
export async function preparePushRepo(gh: GitHubClient, upstream: RepoRef, baseBranch: string, config: Pick<Config, "GITHUB_PUSH_REPO">): Promise<RepoRef> {
  const fork = pushRepoSetting(config);
  if (!fork) return upstream;
  const status = (err: unknown) => (err as { status?: number })?.status;
  const { data } = await gh.rest.repos.get({ owner: fork.owner, repo: fork.repo }).catch((err: unknown) =>
    Promise.reject(status(err) === 404 ? new PushRepoError(`GITHUB_PUSH_REPO ${fullName(fork)} does not exist, or the token cannot see it.`) : err),
  );
  const parent = data.parent?.full_name;
  if (!data.fork || parent?.toLowerCase() !== fullName(upstream).toLowerCase()) {
    throw new PushRepoError(`GITHUB_PUSH_REPO ${fullName(fork)} is not a fork of ${fullName(upstream)}${parent ? ` (it forks ${parent})` : ""}: branches of runs on ${fullName(upstream)} cannot be pushed there.`);
  }
  await gh.rest.repos.mergeUpstream({ owner: fork.owner, repo: fork.repo, branch: baseBranch }).catch((err: unknown) => {
    const code = status(err);
    if (code !== 409 && code !== 422) return Promise.reject(err);
    return Promise.reject(new PushRepoError(`GITHUB_PUSH_REPO ${fullName(fork)} could not be synced with ${fullName(upstream)}'s ${baseBranch} (GitHub ${code}): its ${baseBranch} has commits of its own or is missing; reset it to the upstream's.`));
  });
  return fork;
}

/** The owner of the branches a pull request into `base` comes from (`owner:branch` when it is not `base`'s). */
export function headOwner(base: RepoRef, config: Pick<Config, "GITHUB_PUSH_REPO">): string {
  return pushRepoSetting(config)?.owner ?? base.owner;
}

/** GITHUB_PUSH_REPO's clone URL (where pushed branches are fetched from), or null when branches go to the run's repository. */
export function pushRepoUrl(config: Pick<Config, "GITHUB_PUSH_REPO" | "GITHUB_API_URL">): string | null {
  const fork = pushRepoSetting(config);
  return fork ? `${githubWebOrigin(config.GITHUB_API_URL ?? DEFAULT_GITHUB_API_URL)}/${fullName(fork)}.git` : null;
}
