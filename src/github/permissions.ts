/**
 * Who may start a run from GitHub: the actor's permission on the repository, asked of the API
 * (`author_association` is not it: MEMBER is any member of the organisation, COLLABORATOR includes
 * read-only collaborators, and a label event carries none). Answers are cached briefly per isolate.
 */
import type { GitHubClient } from "./client";

/** Roles that can push to the repository. */
const WRITE_ROLES = ["admin", "maintain", "write"];
const CACHE_MS = 60_000;
const cache = new Map<string, { role: string; at: number }>();

export function canWrite(role: string): boolean {
  return WRITE_ROLES.includes(role);
}

/** The login's role on owner/repo: admin, maintain, write, triage, read or none. */
export async function repositoryRole(gh: GitHubClient, target: { owner: string; repo: string; login: string }, now = Date.now()): Promise<string> {
  const key = `${target.owner}/${target.repo}/${target.login}`.toLowerCase();
  const hit = cache.get(key);
  if (hit && now - hit.at < CACHE_MS) return hit.role;
  let role: string;
  try {
    const res = await gh.rest.repos.getCollaboratorPermissionLevel({ owner: target.owner, repo: target.repo, username: target.login });
    role = res.data.role_name || res.data.permission || "none";
  } catch (err) {
    if ((err as { status?: number }).status !== 404) throw err;
    role = "none";
  }
  if (cache.size > 1000) cache.clear();
  cache.set(key, { role, at: now });
  return role;
}
