// GET /forkyard/repo-check?path=<absolute path>: can a sandbox clone this host repository? The
// Worker cannot see host paths, so POST /v1/runs asks here before accepting a local repo: the
// path must exist, be a git repository, and be inside what a sandbox sees (a system folder or
// SANDBOX_EXPOSE_PATHS, and not a hidden path). The answer also carries the repository's default
// branch (what its HEAD names), read from the HEAD file itself: no git runs on the user's
// repository, so nothing in its config can run.
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { isUnder, SYSTEM_DIRS } from "./isolation/view.ts";

export type RepoCheckReason = "not_absolute" | "not_found" | "not_visible" | "not_a_repository";

export interface RepoCheck {
  ok: boolean;
  reason?: RepoCheckReason;
  /** The branch HEAD names (null when HEAD is detached). */
  defaultBranch?: string | null;
}

export interface RepoVisibility {
  /** False under isolation "none": every host path is visible. */
  isolated: boolean;
  exposePaths: string[];
  hidePaths: string[];
  dataDir: string;
}

const real = (p: string): string => {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
};

/**
 * Whether the path is in a sandbox's view, by the same rules view.ts mounts it with: system folders
 * and exposed paths shown, the data dir and hidden paths hidden, the deepest rule winning (a hidden
 * path at the same depth as an exposed one wins; an exposed path inside the data dir stays hidden).
 */
function visible(path: string, v: RepoVisibility): boolean {
  if (!v.isolated) return true;
  const dataDir = real(v.dataDir);
  if (isUnder(path, dataDir)) return false;
  const hidden = [dataDir, ...v.hidePaths.map(real)];
  const rules = [
    ...SYSTEM_DIRS.map((p) => ({ at: real(p), shown: true, depth: 0 })),
    ...v.exposePaths.map(real).filter((p) => p !== "/" && !isUnder(p, dataDir) && !hidden.includes(p)).map((p) => ({ at: p, shown: true, depth: depth(p) })),
    ...hidden.map((p) => ({ at: p, shown: false, depth: depth(p) + 0.5 })),
  ].filter((rule) => isUnder(path, rule.at));
  if (rules.length === 0) return false;
  return rules.reduce((deepest, rule) => (rule.depth >= deepest.depth ? rule : deepest)).shown;
}

const depth = (p: string) => p.split("/").filter(Boolean).length;

/** The repository's git dir: `.git` (a directory, or a file naming it), or the path itself when bare. */
function gitDir(path: string): string | null {
  const dotGit = join(path, ".git");
  if (existsSync(dotGit)) {
    if (statSync(dotGit).isDirectory()) return dotGit;
    const named = /^gitdir:\s*(.+)\s*$/m.exec(readFileSync(dotGit, "utf8"))?.[1];
    return named ? resolve(path, named) : null;
  }
  const bare = existsSync(join(path, "HEAD")) && existsSync(join(path, "objects")) && existsSync(join(path, "refs"));
  return bare ? path : null;
}

function headBranch(dir: string): string | null {
  try {
    return /^ref:\s*refs\/heads\/(\S+)\s*$/.exec(readFileSync(join(dir, "HEAD"), "utf8"))?.[1] ?? null;
  } catch {
    return null;
  }
}

export function checkRepo(path: string, v: RepoVisibility): RepoCheck {
  if (!isAbsolute(path) || path.includes("\0")) return { ok: false, reason: "not_absolute" };
  if (!existsSync(path) || !statSync(path).isDirectory()) return { ok: false, reason: "not_found" };
  const at = real(path);
  if (!visible(at, v)) return { ok: false, reason: "not_visible" };
  const dir = gitDir(at);
  if (!dir) return { ok: false, reason: "not_a_repository" };
  return { ok: true, defaultBranch: headBranch(dir) };
}
