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
