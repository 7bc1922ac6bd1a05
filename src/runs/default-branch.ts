import type { Config } from "../core/env";
import { InvalidInputError } from "../core/errors";

/** Used when a remote's HEAD cannot be read (unreachable, private without credentials): the old default. */
export const FALLBACK_BRANCH = "main";
const REMOTE_HEAD_TIMEOUT_MS = 5_000;

interface RepoCheck {
  ok: boolean;
  reason?: "not_absolute" | "not_found" | "not_visible" | "not_a_repository";
  defaultBranch?: string | null;
}

const EXPOSE_HINT =
  "The local sandboxes see the host's system folders and the folders listed in SANDBOX_EXPOSE_PATHS (':'-separated, read-only), never the Forkyard checkout or its state dir: start the stack with SANDBOX_EXPOSE_PATHS=<the folder holding your repos> npm start.";

const CHECK_MESSAGES: Record<NonNullable<RepoCheck["reason"]>, (path: string) => string> = {
  not_absolute: (path) => `repo: ${path} is not an absolute path.`,
  not_found: (path) => `repo: ${path} does not exist on the sandbox host (or is not a folder).`,
  not_visible: (path) => `repo: ${path} exists but sandboxes cannot see it, so no fork could clone it. ${EXPOSE_HINT}`,
  not_a_repository: (path) => `repo: ${path} is not a git repository (no .git, not a bare repository); run \`git init\` and commit there first.`,
};

/**
 * A local repo (an absolute path on the sandbox host) as the local sandbox server sees it: a path
 * no sandbox could clone is refused here, at POST, with what to fix — not N forks later. The
 * Worker cannot see host paths, so it asks the server (GET /forkyard/repo-check, a Forkyard
 * extension of the control plane); a server without the endpoint is not asked twice.
 */
async function checkLocalRepo(config: Config, path: string): Promise<string | null> {
  if (config.SANDBOX_BACKEND !== "local" || !config.E2B_API_URL || !config.E2B_API_KEY) return null;
  const url = new URL("/forkyard/repo-check", config.E2B_API_URL);
  url.searchParams.set("path", path);
  const response = await fetch(url, { headers: { "X-API-KEY": config.E2B_API_KEY } });
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`the local sandbox server's repo check answered ${response.status}`);
  const check = (await response.json()) as RepoCheck;
  if (!check.ok) throw new InvalidInputError(CHECK_MESSAGES[check.reason ?? "not_found"](path), { field: "repo", reason: check.reason ?? "not_found" });
  return check.defaultBranch ?? null;
}

/** The branch a git smart-HTTP server's advertisement says HEAD points at (`symref=HEAD:refs/heads/<name>`, as `git ls-remote --symref` reads it). */
export function symrefHead(advertisement: string): string | null {
  return /symref=HEAD:refs\/heads\/([^\s\0]+)/.exec(advertisement)?.[1] ?? null;
}

async function remoteHead(repo: string): Promise<string | null> {
  const url = new URL(repo);
  url.pathname = `${url.pathname.replace(/\/$/, "")}/info/refs`;
  url.search = "?service=git-upload-pack";
  try {
    const response = await fetch(url, { headers: { "Git-Protocol": "version=0" }, signal: AbortSignal.timeout(REMOTE_HEAD_TIMEOUT_MS) });
    if (!response.ok) return null;
    // The first pkt-lines carry the capabilities; 64 KiB is far more than they need.
    return symrefHead((await response.text()).slice(0, 65_536));
  } catch {
    return null;
  }
}

/**
 * The branch a run (or session) starts from when its request names none: the repository's
 * default branch, as a clone without `--branch` would take it — a local repo's HEAD, a remote's
 * symbolic HEAD. A local repo no sandbox could clone is refused (InvalidInputError naming the fix).
 */
export async function resolveBaseBranch(config: Config, repo: string, branch: string | undefined): Promise<string> {
  const local = repo.startsWith("/") ? await checkLocalRepo(config, repo) : undefined;
  if (branch) return branch;
  if (local !== undefined) return local ?? FALLBACK_BRANCH;
  return (await remoteHead(repo)) ?? FALLBACK_BRANCH;
}
