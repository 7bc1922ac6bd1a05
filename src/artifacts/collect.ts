import type { ArtifactsView, DiffStats } from "../api/runs";
import { SandboxOperationError } from "../core/errors";
import { COLLECT_SCRIPT, collectEnv, parseNumstat, parsePatchLine, PATCH_FILE, REPO_DIR } from "../sandbox/git";
import { parseCommitLine, VERIFY_BUILD_SCRIPT, VERIFY_PATCH_FILE, verifyBuildEnv } from "../sandbox/verify-git";
import type { EnvdClient } from "../sandbox/envd-client";
import { ownCommandError } from "../sandbox/errors";
import { keepNewContents } from "./new-contents";
import { artifactPrefix, patchKey, type ArtifactStore } from "./store";

/** The most files one fork stores, and skipped entries its result lists. */
const MAX_FILES = 1000;
const MAX_SKIPPED_LISTED = 100;
const COLLECT_TIMEOUT_MS = 60_000;

/**
 * Lists the clone's regular files matching the run's globs (bash globstar: `**` spans directories;
 * symlinks are not followed), one `<bytes>\t<sha256>\t<path>` line each. Globs and paths reach the
 * shell only as variables.
 */
const LIST_SCRIPT = [
  "set -eu",
  'cd "$FORKYARD_DIR"',
  "shopt -s globstar nullglob dotglob",
  "IFS=",
  'printf "%s\\n" "$FORKYARD_ARTIFACTS" | while read -r pattern; do',
  '  [ -n "$pattern" ] || continue',
  "  for f in $pattern; do",
  '    if [ -f "$f" ] && [ ! -L "$f" ]; then printf "%s\\n" "$f"; fi',
  "  done",
  "done | sort -u | while read -r f; do",
  '  case "$f" in .git/*) continue ;; esac',
  '  printf "%s\\t%s\\t%s\\n" "$(stat -c %s -- "$f")" "$(sha256sum -- "$f" | cut -d " " -f 1)" "$f"',
  "done",
].join("\n");

interface ForkStorage {
  session: EnvdClient;
  store: ArtifactStore;
  runId: string;
  n: number;
  /** The artifact size cap (ARTIFACT_MAX_BYTES): a bigger patch is not stored (`patchOmitted`). */
  maxPatchBytes?: number;
}

type PatchOmitted = NonNullable<ArtifactsView["patchOmitted"]>;

/** What storing a fork's work leaves: its diff stats, its stored patch, or why none was stored. */
export interface StoredWork {
  diff: DiffStats;
  patch?: { bytes: number; sha256: string };
  patchOmitted?: PatchOmitted;
}

/**
 * The collect step's body: commits the fork's work, measures its diff against the base commit and
 * stores its patch (when it changed anything) in the ARTIFACTS bucket. Safe to run again: the
 * commit happens once and the same key gets the same bytes.
 */
export async function collectWork(input: ForkStorage & { baseSha: string; message: string }): Promise<StoredWork> {
  const exec = await input.session.exec(COLLECT_SCRIPT, { timeoutMs: COLLECT_TIMEOUT_MS, envs: collectEnv({ baseSha: input.baseSha, message: input.message }), tailChars: 1_000_000 });
  if (exec.exitCode !== 0) throw ownCommandError(exec, "collect the diff", () => new SandboxOperationError(`Collecting the diff failed: ${exec.stderrTail.trim()}`));
  return storePatch(input, exec.stdoutTail, PATCH_FILE);
}

/** Diff stats from a build's output, and its patch (when it printed one, within the cap) stored under the fork's patch key. */
async function storePatch(input: ForkStorage, output: string, file: string): Promise<StoredWork> {
  const diff = parseNumstat(output);
  const patch = parsePatchLine(output);
  if (!patch) return { diff };
  if (input.maxPatchBytes !== undefined && patch.bytes > input.maxPatchBytes) return { diff, patchOmitted: { bytes: patch.bytes, reason: "patch_too_large" } };
  await input.store.put(patchKey(input.runId, input.n), await input.session.readStream(file), patch.bytes, patch.sha256, "text/x-diff");
  return { diff, patch };
}

/**
 * The verify-build step's body, in the verification sandbox: builds the fork's commit from its
 * exported tree with a clean git (sandbox/verify-git.ts), measures it against the base and stores
 * its patch (and the new contents of the files it modifies: new-contents.ts). What ranks, picks,
 * pushes and is shown as the fork's patch is this. Safe to run again:
 * the same tree and date build the same commit, the same key gets the same bytes.
 */
export async function buildVerified(
  input: ForkStorage & { baseSha: string; workBranch: string; message: string; date: string; protectedPaths?: string[] },
): Promise<StoredWork & { commit: string }> {
  const exec = await input.session.exec(VERIFY_BUILD_SCRIPT, { timeoutMs: COLLECT_TIMEOUT_MS, envs: verifyBuildEnv(input), tailChars: 1_000_000 });
  const commit = parseCommitLine(exec.stdoutTail);
  if (exec.exitCode !== 0 || !commit) {
    throw ownCommandError(exec, "build the fork's commit", () => new SandboxOperationError(`Building the fork's commit in the verification sandbox failed: ${exec.stderrTail.trim() || `exit ${exec.exitCode}`}`));
  }
  const stored = await storePatch(input, exec.stdoutTail, VERIFY_PATCH_FILE);
  // The changed files' new contents, for direct fork-to-fork diffs (from the staged tree, still in R2 here).
  if (stored.patch) await keepNewContents(input);
  return { ...stored, commit };
}

/**
 * The artifacts step's body: copies the clone's files matching the run's globs into the ARTIFACTS
 * bucket, within the per-file and per-fork caps (ARTIFACT_MAX_BYTES); what is skipped is listed
 * with the reason. Safe to run again: the same keys are overwritten with the same bytes.
 */
export async function collectArtifacts(input: ForkStorage & { globs: string[]; maxBytes: number; timeoutMs: number }): Promise<Omit<ArtifactsView, "patch">> {
  const { session, store, runId, n } = input;
  const listed = await session.exec(LIST_SCRIPT, {
    cwd: REPO_DIR,
    timeoutMs: input.timeoutMs,
    tailChars: 4_000_000,
    envs: { FORKYARD_DIR: REPO_DIR, FORKYARD_ARTIFACTS: input.globs.join("\n") },
  });
  if (listed.exitCode !== 0) throw ownCommandError(listed, "list artifacts", () => new SandboxOperationError(`Listing artifacts failed: ${listed.stderrTail.trim()}`));

  const view: Omit<ArtifactsView, "patch"> = { files: 0, bytes: 0, skipped: [], skippedCount: 0 };
  const skip = (path: string, reason: ArtifactsView["skipped"][number]["reason"]) => {
    view.skippedCount++;
    if (view.skipped.length < MAX_SKIPPED_LISTED) view.skipped.push({ path, reason });
  };
  for (const line of listed.stdoutTail.split("\n")) {
    const [size, sha256, ...rest] = line.split("\t");
    const bytes = Number(size);
    if (!line || !sha256 || !Number.isFinite(bytes)) continue;
    const path = rest.join("\t");
    if (bytes > input.maxBytes) skip(path, "file_too_large");
    else if (view.bytes + bytes > input.maxBytes) skip(path, "fork_limit_reached");
    else if (view.files >= MAX_FILES) skip(path, "too_many_files");
    else {
      await store.put(`${artifactPrefix(runId, n)}${path}`, await session.readStream(`${REPO_DIR}/${path}`), bytes, sha256);
      view.files++;
      view.bytes += bytes;
    }
  }
  return view;
}
