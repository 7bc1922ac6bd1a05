/**
 * Git operations inside a sandbox. Repo URLs, branch names and messages travel as environment
 * variables and are only ever expanded inside double quotes, so no user value is parsed as shell.
 */
import type { DiffStats } from "../api/runs.ts";

/** Where each fork's clone lives inside its sandbox. */
export const REPO_DIR = "/home/user/repo";

/** CLONE_SCRIPT's exit status (and the line it prints) when the base commit is not on the branch. */
export const COMMIT_NOT_FOUND_EXIT = 3;
export const COMMIT_NOT_FOUND_MARK = "forkyard: commit not found on the branch";

/**
 * Clones the branch onto the work branch at FORKYARD_BASE_SHA (a run's `commit`, or the first
 * clone's commit in a replacement sandbox) when set, else at the branch's head; prints the commit.
 */
export const CLONE_SCRIPT = [
  "set -eu",
  'rm -rf "$FORKYARD_DIR"',
  // The commit identity is set by the clone (`-c`: in the new repository's config), not by two more git runs.
  'git clone --quiet -c user.name=Forkyard -c user.email=forkyard@users.noreply.github.com --single-branch --branch "$FORKYARD_BASE_BRANCH" -- "$FORKYARD_REPO" "$FORKYARD_DIR"',
  'cd "$FORKYARD_DIR"',
  // A run's `commit`, or a replacement sandbox's (the first was lost) base: it must be on the branch.
  `if [ -n "\${FORKYARD_BASE_SHA:-}" ] && ! git merge-base --is-ancestor "$FORKYARD_BASE_SHA" HEAD 2>/dev/null; then echo "${COMMIT_NOT_FOUND_MARK}" >&2; exit ${COMMIT_NOT_FOUND_EXIT}; fi`,
  'git checkout --quiet -b "$FORKYARD_WORK_BRANCH" "${FORKYARD_BASE_SHA:-HEAD}"',
  // Started before the branch's head: the later history loses its refs (branches, remote-tracking
  // branches, tags not merged into the start) and the reflogs, so `git log --all` ends at the start;
  // the base branch is recreated there. Its objects stay in the clone, unreachable.
  'if [ -n "${FORKYARD_BASE_SHA:-}" ] && [ "$(git rev-parse -q --verify "refs/heads/$FORKYARD_BASE_BRANCH" || true)" != "$(git rev-parse HEAD)" ]; then',
  '  git for-each-ref --format="%(refname)" --no-merged HEAD | while IFS= read -r ref; do git update-ref -d "$ref"; done',
  '  git branch --force --quiet "$FORKYARD_BASE_BRANCH" HEAD',
  "  git reflog expire --expire=now --all",
  "fi",
  "git rev-parse HEAD",
].join("\n");

/**
 * After a run's prepare: the untracked files it made (dependencies, build outputs) are excluded
 * from git, so they are in every fork's workspace but not in its commit or patch. Everything
 * untracked then (ignored too, directories collapsed) is listed in PREPARED_LIST: a fork's
 * verification does not export those paths (its fresh sandbox prepares its own).
 */
export const EXCLUDE_PREPARED_SCRIPT = "git ls-files --others --directory > .git/forkyard-prepared; git ls-files --others --exclude-standard >> .git/info/exclude";

/** What EXCLUDE_PREPARED_SCRIPT listed, relative to the clone. */
export const PREPARED_LIST = ".git/forkyard-prepared";

/** In a workspace forked from a prepared one: the fork's own work branch at the prepared commit. */
export const BRANCH_SCRIPT = ['set -eu', 'cd "$FORKYARD_DIR"', 'git checkout --quiet -B "$FORKYARD_WORK_BRANCH"'].join("\n");

/** Where COLLECT_SCRIPT writes the fork's patch. */
export const PATCH_FILE = "/tmp/forkyard.patch";

/**
 * Commits the fork's work on its branch (once), prints numstat against the base commit and, when
 * anything changed, writes the patch (binary changes as git binary patches) and prints
 * `PATCH\t<bytes>\t<sha256>`.
 */
export const COLLECT_SCRIPT = [
  "set -eu",
  'cd "$FORKYARD_DIR"',
  "git add -A",
  'if ! git diff --cached --quiet; then git commit --quiet --no-verify -m "$FORKYARD_MESSAGE"; fi',
  // numstat lists every changed path (a mode or type change as 0 0): empty exactly when nothing changed.
  'numstat=$(git diff --numstat "$FORKYARD_BASE_SHA" HEAD)',
  'if [ -n "$numstat" ]; then',
  '  printf "%s\\n" "$numstat"',
  `  git diff --binary "$FORKYARD_BASE_SHA" HEAD > ${PATCH_FILE}`,
  `  sum=$(sha256sum ${PATCH_FILE})`,
  `  printf "PATCH\\t%s\\t%s\\n" "$(stat -c %s ${PATCH_FILE})" "\${sum%% *}"`,
  "fi",
].join("\n");

/** The patch COLLECT_SCRIPT wrote, from its output (none when nothing changed). */
export function parsePatchLine(output: string): { bytes: number; sha256: string } | undefined {
  const match = /^PATCH\t(\d+)\t([0-9a-f]{64})$/m.exec(output);
  return match ? { bytes: Number(match[1]), sha256: match[2]! } : undefined;
}

export function cloneEnv(input: { repo: string; baseBranch: string; workBranch: string; baseSha?: string }): Record<string, string> {
  const env: Record<string, string> = { FORKYARD_REPO: input.repo, FORKYARD_BASE_BRANCH: input.baseBranch, FORKYARD_WORK_BRANCH: input.workBranch, FORKYARD_DIR: REPO_DIR };
  if (input.baseSha) env.FORKYARD_BASE_SHA = input.baseSha;
  return env;
}

export function collectEnv(input: { baseSha: string; message: string }): Record<string, string> {
  return { FORKYARD_DIR: REPO_DIR, FORKYARD_BASE_SHA: input.baseSha, FORKYARD_MESSAGE: input.message };
}

/** Parses `git diff --numstat` (binary files count as changed with no line counts). */
export function parseNumstat(output: string): DiffStats {
  const stats: DiffStats = { files: 0, insertions: 0, deletions: 0 };
  for (const line of output.split("\n")) {
    const match = /^(\d+|-)\t(\d+|-)\t/.exec(line);
    if (!match) continue;
    stats.files += 1;
    if (match[1] !== "-") stats.insertions += Number(match[1]);
    if (match[2] !== "-") stats.deletions += Number(match[2]);
  }
  return stats;
}

export const GIT_SHA = /^[0-9a-f]{40,64}$/;
