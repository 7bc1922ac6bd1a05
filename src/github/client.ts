import { Octokit } from "@octokit/core";
import { restEndpointMethods } from "@octokit/plugin-rest-endpoint-methods";
import type { Config } from "../core/env";
import { ForkyardError } from "../core/errors";
import { scrubSecret } from "../observability/scrub";

export const DEFAULT_GITHUB_API_URL = "https://api.github.com";

const RestOctokit = Octokit.plugin(restEndpointMethods);
export type GitHubClient = InstanceType<typeof RestOctokit>;

/** GitHub is not configured for what was asked (no token, no webhook secret). */
export class GitHubUnavailableError extends ForkyardError {
  constructor(message: string) {
    super("github_unavailable", message, { status: 503 });
  }
}

/** A GitHub API call failed; retryable for 5xx, 429, rate limits and network errors. */
export class GitHubApiError extends ForkyardError {
  constructor(message: string, status: number, retryable: boolean) {
    super("github_error", message, { status: 502, retryable, details: { githubStatus: status } });
  }
}

/**
 * The GitHub host that serves git and web pages for an API URL: api.github.com -> github.com;
 * a GitHub Enterprise Server API (`https://ghe.example.com/api/v3`) -> its own origin.
 */
export function githubWebOrigin(apiUrl: string): string {
  const url = new URL(apiUrl);
  if (url.hostname === "api.github.com") return "https://github.com";
  return url.origin;
}

/** A REST client (Octokit core + the REST endpoint methods) on GITHUB_API_URL with GITHUB_TOKEN. */
export function githubClient(config: Config): GitHubClient {
  const token = config.GITHUB_TOKEN;
  if (!token) throw new GitHubUnavailableError("GitHub is not configured: this deployment has no GITHUB_TOKEN.");
  return new RestOctokit({
    auth: token,
    baseUrl: (config.GITHUB_API_URL ?? DEFAULT_GITHUB_API_URL).replace(/\/+$/, ""),
    userAgent: "forkyard",
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    // workerd's fetch, without the Node-only options Octokit adds (duplex).
    request: { fetch: (url: string, init: RequestInit) => fetch(url, { method: init.method, headers: init.headers, body: init.body, redirect: init.redirect, signal: init.signal }) },
  });
}

/** Turns an Octokit error into a GitHubApiError whose message never carries the token. */
export function githubError(err: unknown, what: string, token: string | undefined): ForkyardError {
  if (err instanceof ForkyardError) return err;
  const status = typeof (err as { status?: unknown })?.status === "number" ? (err as { status: number }).status : 0;
  const headers = (err as { response?: { headers?: Record<string, string> } })?.response?.headers ?? {};
  const rateLimited = status === 429 || (status === 403 && (headers["x-ratelimit-remaining"] === "0" || headers["retry-after"] !== undefined));
  const retryable = status === 0 || status >= 500 || rateLimited;
  const message = err instanceof Error ? err.message : String(err);
  return new GitHubApiError(scrubSecret(`GitHub ${what} failed${status ? ` (${status})` : ""}: ${message}`, token), status, retryable);
}
