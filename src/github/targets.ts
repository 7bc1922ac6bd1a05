import type { CreateRunRequest } from "../api/runs";
import type { Config } from "../env";
import { InvalidInputError } from "../errors";
import { DEFAULT_GITHUB_API_URL, GitHubUnavailableError, githubWebOrigin } from "./client";

export interface PushTarget {
  /** Where git pushes: the run's repo URL (never with credentials) or a local path. */
  url: string;
  /** The origin the token is offered to (git's credential helper is scoped to it); none for local paths. */
  credentialUrl?: string;
}

/**
 * Where a run's branches are pushed, and to whom the token may be offered: only the GitHub host
 * of GITHUB_API_URL (github.com for api.github.com). A repo elsewhere cannot be pushed, so the
 * token never goes to another host, whatever the run's repo says.
 */
export function pushTarget(repo: string, config: Config): PushTarget {
  if (repo.startsWith("/")) return { url: repo };
  const origin = githubWebOrigin(config.GITHUB_API_URL ?? DEFAULT_GITHUB_API_URL);
  const url = new URL(repo);
  if (url.origin !== origin) throw new InvalidInputError(`push: only repositories on ${origin} can be pushed (GITHUB_API_URL's host); ${url.origin} is not it.`, { field: "push" });
  return { url: repo, credentialUrl: origin };
}

/** The `owner/repo` a GitHub repo URL names (`https://github.com/acme/app(.git)`), if it is one. */
export function repoSlug(repo: string): { owner: string; repo: string } | null {
  if (repo.startsWith("/")) return null;
  const match = /^\/([^/]+)\/([^/]+?)(?:\.git)?\/?$/.exec(new URL(repo).pathname);
  return match ? { owner: decodeURIComponent(match[1]!), repo: decodeURIComponent(match[2]!) } : null;
}

/** Checks `push` and `github` of a run request against the deployment (token, GitHub host, repo). */
export function validateGitHubTarget(request: CreateRunRequest, config: Config): void {
  if (!request.push && !request.github) return;
  if (!config.GITHUB_TOKEN) throw new GitHubUnavailableError(`${request.push ? "push" : "github"}: this deployment has no GITHUB_TOKEN, so it cannot push branches or talk to GitHub.`);
  if (request.push) pushTarget(request.repo, config);
  if (request.github && !request.repo.startsWith("/")) {
    const origin = githubWebOrigin(config.GITHUB_API_URL ?? DEFAULT_GITHUB_API_URL);
    const slug = new URL(request.repo).origin === origin ? repoSlug(request.repo) : null;
    if (!slug || slug.owner.toLowerCase() !== request.github.owner.toLowerCase() || slug.repo.toLowerCase() !== request.github.repo.toLowerCase()) {
      throw new InvalidInputError(`github: repo must be ${origin}/${request.github.owner}/${request.github.repo}(.git) for github.owner/repo to apply.`, { field: "github.repo" });
    }
  }
}
