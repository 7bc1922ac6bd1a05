/**
 * Forkyard's own GitHub login: the account its token acts as, asked of `GET /user` once per
 * isolate and token (kept an hour). A hidden marker (`<!-- forkyard:… -->`) counts only in a
 * comment this login wrote: anyone can type a marker into a comment of their own.
 */
import type { GitHubClient } from "./client";

const CACHE_MS = 60 * 60_000;
let cached: { token: string; login: string; at: number } | null = null;

/** The login `token` acts as (the client carries the same token). */
export async function ownLogin(gh: GitHubClient, token: string, now = Date.now()): Promise<string> {
  if (cached && cached.token === token && now - cached.at < CACHE_MS) return cached.login;
  const { data } = await gh.rest.users.getAuthenticated();
  cached = { token, login: data.login, at: now };
  return data.login;
}

/** Whether a comment's author is Forkyard itself (logins compare without case, as GitHub's do). */
export function writtenBy(author: string | undefined | null, login: string): boolean {
  return typeof author === "string" && author.toLowerCase() === login.toLowerCase();
}
