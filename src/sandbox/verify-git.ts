/**
 * The verification sandbox's git: a fresh sandbox (its own clone of the run's base) builds the
 * fork's commit and patch from the fork's exported files with a git whose configuration is ours
 * alone: no system or global config, no hooks, no fsmonitor, no untracked cache, identity and
 * dates given. Values travel as environment variables, expanded only inside double quotes.
 */
import { REPO_DIR } from "./git";

/** Everything verification keeps in its sandbox besides the clone. */
export const VERIFY_DIR = "/tmp/forkyard-verify";
/** Where the fork's exported files are laid (outside the clone: the clone's working tree is rebuilt from the commit). */
export const VERIFY_TREE_DIR = `${VERIFY_DIR}/tree`;
/** NUL-separated records the files API cannot express: `x\0<path>\0` (executable), `l\0<path>\0<target>\0` (symlink). */
export const VERIFY_MANIFEST = `${VERIFY_DIR}/manifest`;
export const VERIFY_PATCH_FILE = `${VERIFY_DIR}/patch`;
/** NUL-separated paths taken from the base, not from the fork (a prepared run's outputs). */
export const VERIFY_KEEP_BASE = `${VERIFY_DIR}/keep-base`;

const CLEAN_GIT = [
  "unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES",
  `export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_TERMINAL_PROMPT=0 HOME="${VERIFY_DIR}/home"`,
  'mkdir -p "$HOME"',
  'g() { git -c core.hooksPath=/dev/null -c core.fsmonitor=false -c core.untrackedCache=false -c core.symlinks=true -c core.autocrlf=false "$@"; }',
];

/**
 * Builds the fork's commit from the exported tree: applies the manifest, resets the clone to the
 * base, stages the exported tree in a private index (`git --work-tree=<tree> add -A`: the fork's
 * deletions are deletions), restores the protected globs from the base in that index, writes the
 * commit (dated FORKYARD_DATE, so a re-run builds the same one), checks it out on the work branch
 * (the clone's working tree is then exactly the commit plus the base's untracked prepare outputs),
 * prints numstat, `PATCH\t<bytes>\t<sha256>` when anything changed, and `COMMIT\t<sha>`.
 */
export const VERIFY_BUILD_SCRIPT = [
  "set -eu",
  ...CLEAN_GIT,
  'export GIT_AUTHOR_DATE="$FORKYARD_DATE" GIT_COMMITTER_DATE="$FORKYARD_DATE"',
  "export GIT_AUTHOR_NAME=Forkyard GIT_COMMITTER_NAME=Forkyard GIT_AUTHOR_EMAIL=forkyard@users.noreply.github.com GIT_COMMITTER_EMAIL=forkyard@users.noreply.github.com",
  `cd "${VERIFY_TREE_DIR}"`,
  "while IFS= read -r -d '' kind && IFS= read -r -d '' path; do",
  '  case "$kind" in',
  '    x) chmod +x -- "$path" ;;',
  "    l) IFS= read -r -d '' target; rm -rf -- \"$path\"; mkdir -p -- \"$(dirname -- \"$path\")\"; ln -s -- \"$target\" \"$path\" ;;",
  "  esac",
  `done < "${VERIFY_MANIFEST}"`,
  'cd "$FORKYARD_DIR"',
  'g reset -q --hard "$FORKYARD_BASE_SHA"',
  `index="${VERIFY_DIR}/index"`,
  'rm -f "$index"',
  'GIT_INDEX_FILE="$index" g read-tree "$FORKYARD_BASE_SHA"',
  `GIT_INDEX_FILE="$index" g --work-tree="${VERIFY_TREE_DIR}" add -A`,
  "specs=()",
  // The protected globs, then the paths kept from the base (a prepared run's outputs), restored from the base in the index.
  'while IFS= read -r glob; do if [ -n "$glob" ]; then specs+=(":(glob)$glob"); fi; done <<< "${FORKYARD_PROTECTED:-}"',
  `while IFS= read -r -d '' path; do specs+=(":(literal)$path"); done < "${VERIFY_KEEP_BASE}"`,
  'if [ "${#specs[@]}" -gt 0 ]; then GIT_INDEX_FILE="$index" g reset -q "$FORKYARD_BASE_SHA" -- "${specs[@]}"; fi',
  'tree=$(GIT_INDEX_FILE="$index" g write-tree)',
  'if [ "$tree" = "$(g rev-parse "$FORKYARD_BASE_SHA^{tree}")" ]; then commit="$FORKYARD_BASE_SHA"; else commit=$(g commit-tree "$tree" -p "$FORKYARD_BASE_SHA" -m "$FORKYARD_MESSAGE"); fi',
  'g checkout -q -f -B "$FORKYARD_WORK_BRANCH" "$commit"',
  'g diff --numstat --no-ext-diff --no-textconv "$FORKYARD_BASE_SHA" "$commit"',
  'if [ "$commit" != "$FORKYARD_BASE_SHA" ]; then',
  `  g diff --binary --no-ext-diff --no-textconv "$FORKYARD_BASE_SHA" "$commit" > "${VERIFY_PATCH_FILE}"`,
  `  printf "PATCH\\t%s\\t%s\\n" "$(stat -c %s "${VERIFY_PATCH_FILE}")" "$(sha256sum "${VERIFY_PATCH_FILE}" | cut -d " " -f 1)"`,
  "fi",
  'printf "COMMIT\\t%s\\n" "$commit"',
].join("\n");

export function verifyBuildEnv(input: { baseSha: string; workBranch: string; message: string; date: string; protectedPaths?: string[] }): Record<string, string> {
  return {
    FORKYARD_DIR: REPO_DIR,
    FORKYARD_BASE_SHA: input.baseSha,
    FORKYARD_WORK_BRANCH: input.workBranch,
    FORKYARD_MESSAGE: input.message,
    FORKYARD_DATE: input.date,
    FORKYARD_PROTECTED: (input.protectedPaths ?? []).join("\n"),
  };
}

/** The commit VERIFY_BUILD_SCRIPT built, from its output. */
export function parseCommitLine(output: string): string | undefined {
  return /^COMMIT\t([0-9a-f]{40,64})$/m.exec(output)?.[1];
}
