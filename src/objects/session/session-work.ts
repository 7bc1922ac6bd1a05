/**
 * A session's work, so it can leave like a fork's (issue 25 item 9): its diff against the session's
 * base commit — committed and uncommitted changes alike, untracked files included — and the patch,
 * kept in R2 (`sessions/<id>/patch.diff`) for GET /v1/sessions/:id/patch and …/pick. Taken in the
 * session's own sandbox between turns (before each pause, and on demand while the sandbox runs
 * idle), with a throw-away index (the workspace's own index and HEAD are never touched: the
 * verified resume compares them) and no hooks. Unlike a fork's patch it is not rebuilt in a fresh
 * sandbox: it is the session's workspace as it stands, shown to the person who runs the session.
 */
import type { DiffStats } from "../../api/runs";
import { ArtifactStore, sessionPatchKey } from "../../artifacts/store";
import { loadConfig, type Env } from "../../core/env";
import { SandboxOperationError } from "../../core/errors";
import { sandboxAccess } from "../../sandbox/connection";
import { EnvdClient } from "../../sandbox/envd-client";
import { ownCommandError } from "../../sandbox/errors";
import { parseNumstat, parsePatchLine, REPO_DIR } from "../../sandbox/git";
import type { SandboxHandle } from "../../sandbox/handle";

const SESSION_PATCH_FILE = "/tmp/forkyard-session.patch";
const EXEC_TIMEOUT_MS = 60_000;

/** Numstat and the patch of the workspace against $FORKYARD_BASE_SHA, through a temporary index. */
const SESSION_PATCH_SCRIPT = [
  "set -eu",
  'cd "$FORKYARD_DIR"',
  "export GIT_INDEX_FILE=/tmp/forkyard-session.index",
  'rm -f "$GIT_INDEX_FILE"',
  "g() { git -c core.hooksPath=/dev/null -c core.fsmonitor=false \"$@\"; }",
  "g read-tree HEAD",
  "g add -A",
  'g diff --cached --no-ext-diff --no-textconv --numstat "$FORKYARD_BASE_SHA"',
  `rm -f ${SESSION_PATCH_FILE}`,
  'if ! g diff --cached --quiet "$FORKYARD_BASE_SHA"; then',
  `  g diff --cached --no-ext-diff --no-textconv --binary "$FORKYARD_BASE_SHA" > ${SESSION_PATCH_FILE}`,
  `  printf "PATCH\\t%s\\t%s\\n" "$(stat -c %s ${SESSION_PATCH_FILE})" "$(sha256sum ${SESSION_PATCH_FILE} | cut -d " " -f 1)"`,
  "fi",
  'rm -f "$GIT_INDEX_FILE"',
].join("\n");

/** What a session's work was when it was last taken. */
export interface SessionWork {
  /** The last turn that had ended when it was taken. */
  turn: number;
  at: string;
  diff: DiffStats;
  patch?: { bytes: number; sha256: string };
}

/** Takes the workspace's diff against `baseSha` and keeps its patch (or deletes the kept one when nothing differs). */
export async function takeSessionWork(env: Env, sessionId: string, handle: SandboxHandle, baseSha: string, turn: number): Promise<SessionWork> {
  const session = EnvdClient.forHandle(sandboxAccess(loadConfig(env)), handle);
  const exec = await session.exec(SESSION_PATCH_SCRIPT, { timeoutMs: EXEC_TIMEOUT_MS, envs: { FORKYARD_DIR: REPO_DIR, FORKYARD_BASE_SHA: baseSha }, tailChars: 1_000_000 });
  if (exec.exitCode !== 0) throw ownCommandError(exec, "take the session's diff", () => new SandboxOperationError(`Taking the session's diff failed: ${exec.stderrTail.trim().slice(-500)}`));
  const diff = parseNumstat(exec.stdoutTail);
  const patch = parsePatchLine(exec.stdoutTail);
  const store = new ArtifactStore(env.ARTIFACTS);
  if (patch) await store.put(sessionPatchKey(sessionId), await session.readStream(SESSION_PATCH_FILE), patch.bytes, patch.sha256, "text/x-diff");
  else await store.deletePrefix(sessionPatchKey(sessionId));
  return { turn, at: new Date().toISOString(), diff, ...(patch ? { patch } : {}) };
}
