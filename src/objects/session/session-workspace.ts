import { ArtifactStore } from "../../artifacts/store";
import { loadConfig, type Env } from "../../core/env";
import { ConflictError } from "../../core/errors";
import { sandboxAccess } from "../../sandbox/connection";
import { REPO_DIR } from "../../sandbox/git";
import type { SandboxHandle } from "../../sandbox/handle";
import { diffManifests, intact, type WorkspaceDiff, type WorkspaceManifest } from "../../sandbox/manifest-diff";
import { EnvdClient } from "../../sandbox/envd-client";
import { RESTORE_FROM_HEAD_SCRIPT, RESTORE_LIST, sha256Hex, takeManifest, WorkspaceUnreadableError } from "../../sandbox/workspace-manifest";
import { classifySandboxError } from "../../sandbox/errors";

/** The most bytes of changed files (against HEAD, untracked included) one pause stores in R2. */
export const SNAPSHOT_MAX_BYTES = 32 * 1024 * 1024;
const EXEC_TIMEOUT_MS = 60_000;

/** Where a session's workspace snapshot lives in the ARTIFACTS bucket: `manifest.json`, `git.json`, `blobs/<sha256>`. */
export function workspaceKey(sessionId: string, name: string): string {
  return `sessions/${sessionId}/workspace/${name}`;
}

interface GitCopies {
  head: string | null;
  index: string | null;
}

/** What a resume found and did: nothing wrong, or what was wrong and how it was put right. */
export type VerifyOutcome = { intact: true } | { intact: false; diff: WorkspaceDiff; restored: { fromSnapshot: number; fromHead: number; git: string[] } };

/**
 * A session's verified resume (issue 24, item 3). Before each pause Forkyard makes: the workspace's
 * manifest (workspace-manifest.ts) and the bytes of its files changed against HEAD (within
 * SNAPSHOT_MAX_BYTES, content-addressed) and of `.git/HEAD` and `.git/index`, into R2. After the
 * resume: the manifest again, compared; what differs is put back (changed files from R2, files
 * unchanged against HEAD from git, the index and HEAD from R2) and checked once more. A workspace
 * that cannot be put right is lost (`sandbox_gone`). Every operation may run again.
 */
export class SessionWorkspace {
  readonly #env: Env;
  readonly #sessionId: string;
  readonly #store: ArtifactStore;

  constructor(env: Env, sessionId: string) {
    this.#env = env;
    this.#sessionId = sessionId;
    this.#store = new ArtifactStore(env.ARTIFACTS);
  }

  #session(handle: SandboxHandle): EnvdClient {
    return EnvdClient.forHandle(sandboxAccess(loadConfig(this.#env)), handle);
  }

  #key(name: string): string {
    return workspaceKey(this.#sessionId, name);
  }

  async #keep(bytes: Uint8Array | null): Promise<string | null> {
    if (!bytes) return null;
    const sha = await sha256Hex(bytes);
    await this.#store.putBytes(this.#key(`blobs/${sha}`), bytes);
    return sha;
  }

  /** Records the workspace before a pause; answers how many files it holds and stored, and its commit. */
  async record(handle: SandboxHandle): Promise<{ files: number; stored: number; truncated: boolean; commit: string | null; complete: boolean }> {
    const taken = await takeManifest({
      session: this.#session(handle),
      root: REPO_DIR,
      timeoutMs: EXEC_TIMEOUT_MS,
      keep: (sha, bytes) => this.#store.putBytes(this.#key(`blobs/${sha}`), bytes),
      keepBytes: SNAPSHOT_MAX_BYTES,
    });
    const git: GitCopies = { head: await this.#keep(taken.git.head), index: await this.#keep(taken.git.index) };
    await this.#store.putJson(this.#key("git.json"), git);
    await this.#store.putJson(this.#key("manifest.json"), taken.manifest);
    const files = Object.values(taken.manifest.files);
    const complete = !taken.manifest.truncated && files.every((f) => f.stored || !f.changed || f.sha256 === null);
    return { files: files.length, stored: files.filter((f) => f.stored).length, truncated: taken.manifest.truncated, commit: taken.manifest.commit, complete };
  }

  /**
   * A rebuild from the snapshot (issue 24, item 2): on a fresh clone at the snapshot's commit, its
   * changed files, deletions, index and HEAD are laid, then the whole is verified like a resume.
   */
  async restore(handle: SandboxHandle): Promise<{ files: number; deleted: number; verified: boolean }> {
    const before = await this.#store.getJson<WorkspaceManifest>(this.#key("manifest.json"));
    if (!before) throw new ConflictError("sandbox_gone", "The session's workspace snapshot is gone from storage.");
    const session = this.#session(handle);
    const entries: { path: string; data: ArrayBuffer }[] = [];
    let deleted = 0;
    for (const [path, file] of Object.entries(before.files)) {
      if (file.sha256 === null) {
        await session.sandbox.files.remove(`${REPO_DIR}/${path}`).catch(() => undefined);
        deleted++;
      } else if (file.stored) {
        const bytes = await this.#store.getBytes(this.#key(`blobs/${file.sha256}`));
        if (bytes) entries.push({ path: `${REPO_DIR}/${path}`, data: bytes.slice().buffer });
      }
    }
    const git = (await this.#store.getJson<GitCopies>(this.#key("git.json"))) ?? { head: null, index: null };
    for (const [name, sha] of [["index", git.index], ["HEAD", git.head]] as const) {
      const bytes = sha ? await this.#store.getBytes(this.#key(`blobs/${sha}`)) : null;
      if (bytes) entries.push({ path: `${REPO_DIR}/.git/${name}`, data: bytes.slice().buffer });
    }
    try {
      if (entries.length > 0) await session.sandbox.files.write(entries);
    } catch (err) {
      throw classifySandboxError(err, "lay the workspace snapshot");
    }
    const verified = await this.verify(handle);
    return { files: entries.length, deleted, verified: verified.intact };
  }

  /** Compares the resumed workspace with the manifest of the pause, and repairs it. */
  async verify(handle: SandboxHandle): Promise<VerifyOutcome> {
    const before = await this.#store.getJson<WorkspaceManifest>(this.#key("manifest.json"));
    if (!before) return { intact: true };
    const session = this.#session(handle);
    const diff = diffManifests(before, await this.#take(session));
    if (intact(diff)) return { intact: true };
    const restored = await this.#repair(session, before, diff);
    const again = diffManifests(before, await this.#take(session));
    if (!intact(again)) {
      throw new ConflictError("sandbox_gone", "The session's workspace came back from a resume without files it had, and they could not be restored.", { missing: again.missing.slice(0, 20).join(", "), changed: again.changed.slice(0, 20).join(", "), git: [again.head ? "HEAD" : "", again.commit ? "commit" : "", again.index ? "index" : ""].filter(Boolean).join(", ") });
    }
    return { intact: false, diff, restored };
  }

  /** The manifest now; a workspace git can no longer list (its .git lost) cannot be repaired. */
  async #take(session: EnvdClient): Promise<WorkspaceManifest> {
    try {
      return (await takeManifest({ session, root: REPO_DIR, timeoutMs: EXEC_TIMEOUT_MS })).manifest;
    } catch (err) {
      if (err instanceof WorkspaceUnreadableError) throw new ConflictError("sandbox_gone", `The session's workspace came back from a resume unreadable: ${err.message}`);
      throw err;
    }
  }

  async #repair(session: EnvdClient, before: WorkspaceManifest, diff: WorkspaceDiff): Promise<{ fromSnapshot: number; fromHead: number; git: string[] }> {
    const wrong = [...diff.missing, ...diff.changed];
    const fromHead = wrong.filter((p) => !before.files[p]!.stored && !before.files[p]!.changed);
    const fromSnapshot = wrong.filter((p) => before.files[p]!.stored);
    const write = async (entries: { path: string; data: ArrayBuffer }[], what: string) => {
      if (entries.length === 0) return;
      try {
        await session.sandbox.files.write(entries);
      } catch (err) {
        throw classifySandboxError(err, what);
      }
    };
    // Unchanged against HEAD: git has them (its objects are checked by the comparison after).
    if (fromHead.length > 0 && !diff.commit) {
      await write([{ path: RESTORE_LIST, data: new TextEncoder().encode(fromHead.map((p) => `${p}\0`).join("")).slice().buffer }], "write the restore list");
      await session.exec(RESTORE_FROM_HEAD_SCRIPT, { timeoutMs: EXEC_TIMEOUT_MS, envs: { FORKYARD_DIR: REPO_DIR, FORKYARD_PATHS: RESTORE_LIST } });
    }
    const blobs: { path: string; data: ArrayBuffer }[] = [];
    for (const path of fromSnapshot) {
      const bytes = await this.#store.getBytes(this.#key(`blobs/${before.files[path]!.sha256}`));
      if (bytes) blobs.push({ path: `${REPO_DIR}/${path}`, data: bytes.slice().buffer });
    }
    await write(blobs, "restore the workspace's files");
    // Last: the index (a checkout above rewrites it) and HEAD, as they were.
    const git = (await this.#store.getJson<GitCopies>(this.#key("git.json"))) ?? { head: null, index: null };
    const gitFixed: string[] = [];
    const gitEntries: { path: string; data: ArrayBuffer }[] = [];
    for (const [name, sha] of [["index", git.index], ["HEAD", git.head]] as const) {
      if (!sha || (name === "index" && !diff.index && fromHead.length === 0) || (name === "HEAD" && !diff.head)) continue;
      const bytes = await this.#store.getBytes(this.#key(`blobs/${sha}`));
      if (bytes) {
        gitEntries.push({ path: `${REPO_DIR}/.git/${name}`, data: bytes.slice().buffer });
        gitFixed.push(name);
      }
    }
    await write(gitEntries, "restore the workspace's git state");
    return { fromSnapshot: blobs.length, fromHead: diff.commit ? 0 : fromHead.length, git: gitFixed };
  }

  /** The session is destroyed: its snapshot goes. */
  async drop(): Promise<void> {
    await this.#store.deletePrefix(workspaceKey(this.#sessionId, ""));
  }
}
