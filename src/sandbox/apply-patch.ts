import { REPO_DIR } from "./git";
import type { EnvdClient } from "./envd-client";

/** Where a patch is written in the sandbox before it is applied (outside the clone). */
const PATCH_PATH = "/tmp/forkyard-patch/fork.patch";
/** Applies the patch to the clone's working tree (nothing staged); prints APPLIED on success. */
const APPLY_SCRIPT = `git -c core.hooksPath=/dev/null apply --binary --whitespace=nowarn "${PATCH_PATH}" && echo APPLIED`;
const APPLY_TIMEOUT_MS = 120_000;

/**
 * Lays a fork's verified patch (from R2) on a clean clone of its base: an eval's hidden check, a
 * session's rebuild from a Claude Code fork. An empty patch changes nothing. Answers whether it applied.
 */
export async function applyPatch(envd: EnvdClient, patch: Uint8Array): Promise<boolean> {
  if (patch.byteLength === 0) return true;
  await envd.sandbox.files.write(PATCH_PATH, patch.slice().buffer);
  const exec = await envd.exec(APPLY_SCRIPT, { cwd: REPO_DIR, timeoutMs: APPLY_TIMEOUT_MS });
  return exec.exitCode === 0 && exec.stdoutTail.includes("APPLIED");
}

/** Where an eval task's hidden patch is written (outside the clone). */
const HIDDEN_PATCH_PATH = "/tmp/forkyard-patch/hidden.patch";

/**
 * Restores every file the hidden patch touches from the base commit (removes it when the base has
 * none), then applies the patch; prints APPLIED on success. `git apply --numstat -z` lists the
 * paths: `<added>\t<deleted>\t<path>\0`, or for a rename `<added>\t<deleted>\t\0<from>\0<to>\0`.
 */
const HIDDEN_APPLY_SCRIPT = [
  "set -eu",
  'g() { git -c core.hooksPath=/dev/null "$@"; }',
  'restore() { if g cat-file -e "$FORKYARD_BASE_SHA:$1" 2>/dev/null; then g checkout -q "$FORKYARD_BASE_SHA" -- ":(literal)$1"; else rm -rf -- "$1"; fi; }',
  `patch="${HIDDEN_PATCH_PATH}"`,
  "tab=$'\\t'",
  'while IFS= read -r -d "" rec; do',
  '  path="${rec#*"$tab"*"$tab"}"',
  '  if [ -z "$path" ]; then IFS= read -r -d "" from; IFS= read -r -d "" path; restore "$from"; fi',
  '  restore "$path"',
  'done < <(g apply --numstat -z "$patch")',
  'g apply --binary --whitespace=nowarn "$patch"',
  "echo APPLIED",
].join("\n");

/**
 * An eval task's hidden patch (its hidden tests, SWE-bench's `test_patch`) laid on the fork's tree:
 * written to a file (never on a command line), the files it touches restored from `baseSha` first,
 * so the fork's edits there neither block nor shape the hidden tests. Answers whether it applied.
 */
export async function applyHiddenPatch(envd: EnvdClient, patch: string, baseSha: string): Promise<boolean> {
  await envd.sandbox.files.write(HIDDEN_PATCH_PATH, patch);
  const exec = await envd.exec(HIDDEN_APPLY_SCRIPT, { cwd: REPO_DIR, timeoutMs: APPLY_TIMEOUT_MS, envs: { FORKYARD_BASE_SHA: baseSha } });
  return exec.exitCode === 0 && exec.stdoutTail.includes("APPLIED");
}
