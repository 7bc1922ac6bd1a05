/**
 * The GitHub REST calls Forkyard makes, each safe to repeat: a pull request is looked up by its
 * head branch before one is created, and the summary comment is found by its hidden marker (in a
 * comment Forkyard itself wrote) and updated instead of posted again.
 */
import type { GitHubClient } from "./client";
import { writtenBy } from "./identity";

export interface RepoRef {
  owner: string;
  repo: string;
}

const COMMENT_PAGES = 30;

/** Finds the pull request from `head` (any state), or opens one; `headOwner` (default: the repository's owner) owns the branch's repository, e.g. GITHUB_PUSH_REPO. */
export async function ensurePullRequest(
  client: GitHubClient,
  input: RepoRef & { head: string; base: string; title: string; body: string; headOwner?: string },
): Promise<{ number: number; url: string; created: boolean }> {
  const owner = input.headOwner ?? input.owner;
  const find = async () => {
    const { data } = await client.rest.pulls.list({ owner: input.owner, repo: input.repo, head: `${owner}:${input.head}`, state: "all", per_page: 10 });
    const pr = data.find((p) => p.head.ref === input.head) ?? data[0];
    return pr ? { number: pr.number, url: pr.html_url, created: false } : null;
  };
  const existing = await find();
  if (existing) return existing;
  try {
    const head = owner === input.owner ? input.head : `${owner}:${input.head}`;
    const { data } = await client.rest.pulls.create({ owner: input.owner, repo: input.repo, head, base: input.base, title: input.title, body: input.body, maintainer_can_modify: true });
    return { number: data.number, url: data.html_url, created: true };
  } catch (err) {
    // A create whose response was lost, then retried: GitHub says it exists (422).
    if ((err as { status?: number }).status === 422) {
      const again = await find();
      if (again) return again;
    }
    throw err;
  }
}

/** Updates the issue comment carrying `marker` that `author` (Forkyard's own login: identity.ts) wrote, or posts one. */
export async function upsertIssueComment(
  client: GitHubClient,
  input: RepoRef & { issueNumber: number; marker: string; body: string; author: string },
): Promise<{ id: number; url: string; created: boolean }> {
  for (let page = 1; page <= COMMENT_PAGES; page++) {
    const { data } = await client.rest.issues.listComments({ owner: input.owner, repo: input.repo, issue_number: input.issueNumber, per_page: 100, page });
    const mine = data.find((c) => writtenBy(c.user?.login, input.author) && c.body?.includes(input.marker));
    if (mine) {
      await client.rest.issues.updateComment({ owner: input.owner, repo: input.repo, comment_id: mine.id, body: input.body });
      return { id: Number(mine.id), url: mine.html_url, created: false };
    }
    if (data.length < 100) break;
  }
  const { data } = await client.rest.issues.createComment({ owner: input.owner, repo: input.repo, issue_number: input.issueNumber, body: input.body });
  return { id: Number(data.id), url: data.html_url, created: true };
}

/** A pull request's head branch, and whether it lives in the same repository (not a fork). */
export async function pullRequestHead(client: GitHubClient, input: RepoRef & { number: number }): Promise<{ ref: string; sameRepo: boolean }> {
  const { data } = await client.rest.pulls.get({ owner: input.owner, repo: input.repo, pull_number: input.number });
  const baseName = data.base.repo.full_name.toLowerCase();
  return { ref: data.head.ref, sameRepo: data.head.repo?.full_name.toLowerCase() === baseName };
}
