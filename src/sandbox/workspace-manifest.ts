/**
 * A session workspace's manifest, taken from its sandbox (session-workspace.ts records one before
 * each pause and compares after each resume). The file *list* comes from git (tracked, and
 * untracked not ignored), run with a scrubbed environment: `env -i`, no system or global git
 * configuration, no hooks, no fsmonitor, plumbing only (the index is never refreshed or rewritten by it).
 * Everything else — `.git/HEAD`, the ref, `.git/index` and every file's bytes — is read through
 * envd's files API and hashed here, so a shell alias or a replaced `sha256sum` plays no part. The
 * limits: envd starts the git command through a login shell (its profile runs first), and a
 * sandbox that lies in git's list only makes the manifest cover less.
 */
import { FileType } from "e2b";
import { ForkyardError } from "../core/errors";
import { isNotFound } from "./errors";
import type { EnvdClient } from "./envd-client";
import { BASE_CONTENT, plainPath, type ManifestFile, type WorkspaceManifest } from "./manifest-diff";

/** The most files a manifest holds, and the most bytes it reads and hashes (past either: `truncated`). */
export const MANIFEST_MAX_FILES = 20_000;
export const MANIFEST_MAX_BYTES = 128 * 1024 * 1024;
/** A file that exists but cannot be read as one (a symlink to a directory, a submodule). */
export const UNREADABLE = "unreadable";

const LIST_ALL = "/tmp/forkyard-ws-all";
const LIST_CHANGED = "/tmp/forkyard-ws-changed";
const READ_CONCURRENCY = 4;
/** A file larger than this is not read: its manifest entry is its size (`size:<bytes>`), and it is never stored. */
export const MANIFEST_FILE_MAX_BYTES = 8 * 1024 * 1024;

const GIT = [
  'G=/usr/bin/git; [ -x "$G" ] || G=git',
  'g() { env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/nonexistent GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null "$G" -c core.fsmonitor=false -c core.hooksPath=/dev/null -c core.untrackedCache=false --no-optional-locks "$@"; }',
];

/** Lists the files (NUL-separated) into LIST_ALL, and those changed against HEAD or untracked into LIST_CHANGED. */
export const MANIFEST_LIST_SCRIPT = [
  "set -u",
  ...GIT,
  'cd "$FORKYARD_DIR" || exit 3',
  `g ls-files -z --cached --others --exclude-standard > ${LIST_ALL} || exit 4`,
  `{ g diff-index --name-only -z --no-renames HEAD 2>/dev/null; g ls-files -z --others --exclude-standard; } > ${LIST_CHANGED}`,
  "exit 0",
].join("\n");

/**
 * As MANIFEST_LIST_SCRIPT, with the changed files those that differ from commit $FORKYARD_AGAINST
 * (replace refs ignored), untracked ones, and any entry git is told not to look at (assume-unchanged,
 * skip-worktree): a failure to compare is a failure to list (the files would be taken as unchanged).
 */
export const MANIFEST_LIST_AGAINST_SCRIPT = [
  "set -u",
  ...GIT,
  'cd "$FORKYARD_DIR" || exit 3',
  `g ls-files -z --cached --others --exclude-standard > ${LIST_ALL} || exit 4`,
  `g --no-replace-objects diff-index --name-only -z --no-renames "$FORKYARD_AGAINST" > ${LIST_CHANGED} || exit 5`,
  `g ls-files -z --others --exclude-standard >> ${LIST_CHANGED} || exit 5`,
  `g ls-files -v -z | grep -z '^[a-zS] ' | cut -z -c3- >> ${LIST_CHANGED}`,
  "exit 0",
].join("\n");

/** Restores the files listed (NUL-separated) in $FORKYARD_PATHS from HEAD, with the same scrubbed git. */
export const RESTORE_FROM_HEAD_SCRIPT = ["set -u", ...GIT, 'cd "$FORKYARD_DIR" || exit 3', 'g checkout --quiet HEAD --pathspec-from-file="$FORKYARD_PATHS" --pathspec-file-nul'].join("\n");

export const RESTORE_LIST = "/tmp/forkyard-ws-restore";

/** The workspace cannot be listed (no git repository there any more, or a list past its bound). Not retried. */
export class WorkspaceUnreadableError extends ForkyardError {
  constructor(message: string) {
    super("workspace_unreadable", message, { status: 409, retryable: false });
  }
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The most bytes of git's file lists read (past it the workspace is not recorded). */
const LIST_MAX_BYTES = 16 * 1024 * 1024;

/** Past the bound: the file is not read (a sandbox's file is never taken into memory whole unchecked). */
interface TooBig {
  size: number;
}

/**
 * A file's bytes, null when it does not exist, UNREADABLE when it is not a plain file, its size when
 * it holds more than `maxBytes` (its size is asked first).
 */
async function readFile(session: EnvdClient, path: string, maxBytes = LIST_MAX_BYTES): Promise<Uint8Array | null | typeof UNREADABLE | TooBig> {
  try {
    const info = await session.sandbox.files.getInfo(path);
    if (info.type === FileType.DIR || info.symlinkTarget) return UNREADABLE;
    if (info.size > maxBytes) return { size: info.size };
    return await session.sandbox.files.read(path, { format: "bytes" });
  } catch (err) {
    if (isNotFound(err)) return null;
    try {
      const info = await session.sandbox.files.getInfo(path);
      if (info.type === FileType.DIR || info.symlinkTarget) return UNREADABLE;
    } catch (probe) {
      if (isNotFound(probe)) return null;
    }
    throw await session.failure(err, `read ${path}`);
  }
}

function nulList(bytes: Uint8Array | null | typeof UNREADABLE | TooBig): string[] {
  if (bytes !== null && typeof bytes === "object" && !(bytes instanceof Uint8Array)) throw new WorkspaceUnreadableError("The workspace's file list is larger than the manifest's bound.");
  if (bytes === null || bytes === UNREADABLE) return [];
  return new TextDecoder().decode(bytes).split("\0").filter(plainPath);
}

/** The commit `.git/HEAD` names: itself, its loose ref, or its line in packed-refs. */
async function resolveHead(session: EnvdClient, root: string, head: string | null): Promise<string | null> {
  if (head === null) return null;
  if (/^[0-9a-f]{40,64}$/.test(head)) return head;
  const ref = /^ref: (refs\/[^\0\n]+)$/.exec(head)?.[1];
  if (!ref || ref.split("/").includes("..")) return null;
  const text = (b: Uint8Array | null | string | TooBig) => (b instanceof Uint8Array ? new TextDecoder().decode(b) : null);
  const loose = text(await readFile(session, `${root}/.git/${ref}`))?.trim();
  if (loose) return loose;
  const packed = text(await readFile(session, `${root}/.git/packed-refs`)) ?? "";
  return packed.split("\n").find((line) => line.endsWith(` ${ref}`))?.split(" ")[0] ?? null;
}

export interface TakenManifest {
  manifest: WorkspaceManifest;
  /** `.git/HEAD` and `.git/index` as read (for a repair). */
  git: { head: Uint8Array | null; index: Uint8Array | null };
}

/**
 * Takes the workspace's manifest. `keep` is handed the bytes of each file changed against HEAD
 * (untracked ones too; or those `keepWhen` picks) while `keepBytes` lasts; a file kept is `stored`
 * in the manifest.
 */
export async function takeManifest(input: {
  session: EnvdClient;
  root: string;
  timeoutMs: number;
  keep?: (sha256: string, bytes: Uint8Array) => Promise<void>;
  keepBytes?: number;
  /** Which files' bytes go to `keep` (default: those changed against HEAD). */
  keepWhen?: (path: string, sha256: string, changedAgainstHead: boolean) => boolean;
  /**
   * Compare against this commit instead of HEAD, and read only the files that differ from it
   * (changed, untracked): the others are BASE_CONTENT. What a step snapshot costs then grows with
   * the fork's changes, not with the repository.
   */
  against?: string;
}): Promise<TakenManifest> {
  const { session, root, against } = input;
  const script = against ? MANIFEST_LIST_AGAINST_SCRIPT : MANIFEST_LIST_SCRIPT;
  const listed = await session.exec(script, { timeoutMs: input.timeoutMs, envs: { FORKYARD_DIR: root, ...(against ? { FORKYARD_AGAINST: against } : {}) } });
  if (listed.exitCode !== 0) throw new WorkspaceUnreadableError(`git could not list the workspace's files (exit ${listed.exitCode}).`);
  const all = [...new Set(nulList(await readFile(session, LIST_ALL)))].sort();
  const changed = new Set(nulList(await readFile(session, LIST_CHANGED)));
  const headBytes = await readFile(session, `${root}/.git/HEAD`);
  const indexBytes = await readFile(session, `${root}/.git/index`);
  const head = headBytes instanceof Uint8Array ? new TextDecoder().decode(headBytes).trim() : null;
  const manifest: WorkspaceManifest = {
    head,
    commit: await resolveHead(session, root, head),
    index: indexBytes instanceof Uint8Array ? await sha256Hex(indexBytes) : null,
    files: {},
    truncated: all.length > MANIFEST_MAX_FILES,
    takenAt: new Date().toISOString(),
  };
  let hashed = 0;
  let keepLeft = input.keepBytes ?? 0;
  const listedPaths = all.slice(0, MANIFEST_MAX_FILES);
  // Against a commit: a file git finds unchanged is that commit's (not read).
  const paths = against ? listedPaths.filter((path) => changed.has(path)) : listedPaths;
  if (against) for (const path of listedPaths) if (!changed.has(path)) manifest.files[path] = { sha256: BASE_CONTENT, bytes: 0, stored: false };
  let overBytes = false;
  for (let i = 0; i < paths.length && !overBytes; i += READ_CONCURRENCY) {
    const batch = paths.slice(i, i + READ_CONCURRENCY);
    const read = await Promise.all(batch.map((path) => readFile(session, `${root}/${path}`, MANIFEST_FILE_MAX_BYTES)));
    for (const [j, bytes] of read.entries()) {
      const path = batch[j]!;
      const entry: ManifestFile = { sha256: null, bytes: 0, stored: false };
      if (bytes === UNREADABLE) entry.sha256 = UNREADABLE;
      else if (bytes !== null && !(bytes instanceof Uint8Array)) {
        entry.sha256 = `size:${bytes.size}`;
        entry.bytes = bytes.size;
      } else if (bytes !== null) {
        hashed += bytes.byteLength;
        if (hashed > MANIFEST_MAX_BYTES) {
          overBytes = true;
          break;
        }
        entry.sha256 = await sha256Hex(bytes);
        entry.bytes = bytes.byteLength;
        const wanted = input.keepWhen ? input.keepWhen(path, entry.sha256, changed.has(path)) : changed.has(path);
        if (wanted && input.keep && bytes.byteLength <= keepLeft) {
          await input.keep(entry.sha256, bytes);
          keepLeft -= bytes.byteLength;
          entry.stored = true;
        }
      }
      if (changed.has(path)) entry.changed = true;
      manifest.files[path] = entry;
    }
  }
  const asBytes = (b: Uint8Array | null | string | TooBig) => (b instanceof Uint8Array ? b : null);
  if (overBytes) manifest.truncated = true;
  return { manifest, git: { head: asBytes(headBytes), index: asBytes(indexBytes) } };
}
