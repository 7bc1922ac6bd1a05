import type { CreateRunRequest } from "../api/runs";
import type { Config } from "../core/env";
import { InvalidInputError } from "../core/errors";
import { DEFAULT_GITHUB_API_URL, GitHubUnavailableError, githubWebOrigin } from "./client";

/**
 * The GitHub repository a run's branches are pushed to: only on the host of GITHUB_API_URL
 * (github.com for api.github.com), so the token never goes to another host whatever the run's
 * repo says. A local path cannot be pushed.
 */
export function pushTarget(repo: string, config: Config): { owner: string; repo: string } {
  const origin = githubWebOrigin(config.GITHUB_API_URL ?? DEFAULT_GITHUB_API_URL);
  if (repo.startsWith("/")) throw new InvalidInputError(`push: only repositories on ${origin} can be pushed; a local path cannot.`, { field: "push" });
  const url = new URL(repo);
  if (url.origin !== origin) throw new InvalidInputError(`push: only repositories on ${origin} can be pushed (GITHUB_API_URL's host); ${url.origin} is not it.`, { field: "push" });
  const slug = repoSlug(repo);
  if (!slug) throw new InvalidInputError(`push: ${repo} does not name a repository (${origin}/<owner>/<repo>).`, { field: "push" });
  return slug;
}

/** The `owner/repo` a GitHub repo URL names (`https://github.com/acme/app(.git)`), if it is one. */
export function repoSlug(repo: string): { owner: string; repo: string } | null {
  if (repo.startsWith("/")) return null;
  const match = /^\/([^/]+)\/([^/]+?)(?:\.git)?\/?$/.exec(new URL(repo).pathname);
  return match ? { owner: decodeURIComponent(match[1]!), repo: decodeURIComponent(match[2]!) } : null;
}

/** The GitHub repository `repo` names on GITHUB_API_URL's host; null for a local path or a repo elsewhere. */
export function githubRepository(repo: string, config: Config): { owner: string; repo: string } | null {
  if (repo.startsWith("/")) return null;
  const origin = githubWebOrigin(config.GITHUB_API_URL ?? DEFAULT_GITHUB_API_URL);
  return new URL(repo).origin === origin ? repoSlug(repo) : null;
}

/** Checks `push` and `github` of a run request against the deployment (token, GitHub host, repo; no thread for a local path). */
export function validateGitHubTarget(request: CreateRunRequest, config: Config): void {
  if (!request.push && !request.github) return;
  // A thread is reported to with the repository's branches and pull requests: a local path has none.
  if (request.github && request.repo.startsWith("/")) {
    throw new InvalidInputError("github: a run on a local path cannot report to a GitHub thread; its repo must be the GitHub repository's URL.", { field: "github" });
  }
  if (!config.GITHUB_TOKEN) throw new GitHubUnavailableError(`${request.push ? "push" : "github"}: this deployment has no GITHUB_TOKEN, so it cannot push branches or talk to GitHub.`);
  if (request.push) pushTarget(request.repo, config);
  if (request.github) {
    const origin = githubWebOrigin(config.GITHUB_API_URL ?? DEFAULT_GITHUB_API_URL);
    const slug = githubRepository(request.repo, config);
    if (!slug || slug.owner.toLowerCase() !== request.github.owner.toLowerCase() || slug.repo.toLowerCase() !== request.github.repo.toLowerCase()) {
      throw new InvalidInputError(`github: repo must be ${origin}/${request.github.owner}/${request.github.repo}(.git) for github.owner/repo to apply.`, { field: "github.repo" });
    }
  }
}
