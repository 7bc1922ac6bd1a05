import type { ArtifactsView } from "../api/runs";
import { REPO_DIR } from "../sandbox/git";
import type { SandboxSession } from "../sandbox/session";
import { SandboxOperationError } from "../errors";
import { artifactPrefix, patchKey, type ArtifactStore } from "./store";

/** The most files one fork stores, and skipped entries its result lists. */
const MAX_FILES = 1000;
const MAX_SKIPPED_LISTED = 100;
const PATCH_FILE = "/tmp/forkyard.patch";

/**
 * Lists the clone's regular files matching the run's globs (bash globstar: `**` spans directories;
 * symlinks are not followed), one `<bytes>\t<sha256>\t<path>` line each, and writes the fork's
 * patch against its base commit (binary changes as git binary patches) when there is one. Globs
 * and paths reach the shell only as variables.
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
  'if [ -n "${FORKYARD_BASE_SHA:-}" ] && ! git diff --quiet "$FORKYARD_BASE_SHA" HEAD; then',
  `  git diff --binary "$FORKYARD_BASE_SHA" HEAD > ${PATCH_FILE}`,
  `  printf "PATCH\\t%s\\t%s\\n" "$(stat -c %s ${PATCH_FILE})" "$(sha256sum ${PATCH_FILE} | cut -d " " -f 1)"`,
  "fi",
].join("\n");

export interface CollectArtifactsInput {
  session: SandboxSession;
  store: ArtifactStore;
  runId: string;
  n: number;
  globs: string[];
  /** The fork's base commit: its patch is `git diff <base> HEAD` after collect committed the work. */
  baseSha: string;
  maxBytes: number;
  timeoutMs: number;
}

/**
 * Copies the fork's matching files and its patch into the ARTIFACTS bucket, within the per-file
 * and per-fork caps (ARTIFACT_MAX_BYTES); what is skipped is listed with the reason. Safe to run
 * again: the same keys are overwritten with the same bytes.
 */
export async function collectArtifacts(input: CollectArtifactsInput): Promise<ArtifactsView> {
  const { session, store, runId, n } = input;
  const listed = await session.exec(LIST_SCRIPT, {
    cwd: REPO_DIR,
    timeoutMs: input.timeoutMs,
    tailChars: 4_000_000,
    envs: { FORKYARD_DIR: REPO_DIR, FORKYARD_ARTIFACTS: input.globs.join("\n"), FORKYARD_BASE_SHA: input.baseSha },
  });
  if (listed.exitCode !== 0) throw new SandboxOperationError(`Listing artifacts failed: ${listed.stderrTail.trim()}`);

  const view: ArtifactsView = { files: 0, bytes: 0, skipped: [], skippedCount: 0 };
  const skip = (path: string, reason: ArtifactsView["skipped"][number]["reason"]) => {
    view.skippedCount++;
    if (view.skipped.length < MAX_SKIPPED_LISTED) view.skipped.push({ path, reason });
  };
  for (const line of listed.stdoutTail.split("\n")) {
    const [size, sha256, ...rest] = line.split("\t");
    const bytes = Number(size);
    // The PATCH line (no number first) is read below.
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
  const patch = /^PATCH\t(\d+)\t([0-9a-f]{64})$/m.exec(listed.stdoutTail);
  if (patch) {
    const [bytes, sha256] = [Number(patch[1]), patch[2]!];
    await store.put(patchKey(runId, n), await session.readStream(PATCH_FILE), bytes, sha256, "text/x-diff");
    view.patch = { bytes, sha256 };
  }
  return view;
}
