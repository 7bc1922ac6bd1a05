import { stepSnapshotKey, type ArtifactStore } from "../artifacts/store";
import { ConflictError } from "../core/errors";
import type { ComposedFiles, JournalEntry } from "../runs/step-snapshots";
import { classifySandboxError, isNotFound } from "../sandbox/errors";
import type { EnvdClient } from "../sandbox/envd-client";
import { REPO_DIR } from "../sandbox/git";
import { RESTORE_FROM_HEAD_SCRIPT, RESTORE_LIST } from "../sandbox/workspace-manifest";

const WRITE_BATCH_FILES = 64;
const WRITE_BATCH_BYTES = 8 * 1024 * 1024;
const RESTORE_TIMEOUT_MS = 5 * 60_000;

/**
 * How a branch at an earlier step (POST …/forks/:n/branch with `atStep`) rebuilds its parent's
 * workspace before that step in its own fresh sandbox: the parent's base cloned, `replay` re-run
 * (commands again, tool calls re-executed: the parent's setup before its first snapshot, or with no
 * usable snapshots its whole journal up to the step), then with snapshots the composed files laid
 * (their bytes from the parent's `steps/blobs/`) and the files it had deleted removed.
 */
export interface BranchRebuild {
  from: "snapshots" | "journal";
  replay: JournalEntry[];
  /** With snapshots: the parent run and fork whose blobs hold the files' bytes, and what to lay. */
  files?: { runId: string; n: number } & Omit<ComposedFiles, "complete">;
  /** What `replay` re-runs, as the branch's view lists it. */
  rerun: string[];
}

/** Lays the composed files into the clone (the branch-rebuild step's last part). Safe to run again. */
export async function layStepFiles(session: EnvdClient, store: ArtifactStore, files: NonNullable<BranchRebuild["files"]>): Promise<{ written: number; removed: number; fromBase: number }> {
  const write = async (entries: { path: string; data: ArrayBuffer }[]) => {
    if (entries.length === 0) return;
    try {
      await session.sandbox.files.write(entries);
    } catch (err) {
      throw classifySandboxError(err, "lay the step snapshot's files");
    }
  };
  let batch: { path: string; data: ArrayBuffer }[] = [];
  let bytes = 0;
  for (const file of files.write) {
    const data = await store.getBytes(stepSnapshotKey(files.runId, files.n, `blobs/${file.sha256}`));
    if (!data) throw new ConflictError("snapshot_missing", `Fork ${files.n}'s snapshot of ${file.path} is gone from storage.`);
    batch.push({ path: `${REPO_DIR}/${file.path}`, data: data.slice().buffer });
    bytes += data.byteLength;
    if (batch.length >= WRITE_BATCH_FILES || bytes >= WRITE_BATCH_BYTES) {
      await write(batch);
      batch = [];
      bytes = 0;
    }
  }
  await write(batch);
  if (files.fromBase.length > 0) {
    // The clone is at the base commit: those files as it has them (after the replay changed them).
    await write([{ path: RESTORE_LIST, data: new TextEncoder().encode(files.fromBase.map((p) => `${p}\0`).join("")).slice().buffer }]);
    const restored = await session.exec(RESTORE_FROM_HEAD_SCRIPT, { timeoutMs: RESTORE_TIMEOUT_MS, envs: { FORKYARD_DIR: REPO_DIR, FORKYARD_PATHS: RESTORE_LIST } });
    if (restored.exitCode !== 0) throw new ConflictError("snapshot_restore_failed", `Putting back ${files.fromBase.length} files from the base commit failed (exit ${restored.exitCode}).`);
  }
  for (const path of files.remove) {
    try {
      await session.sandbox.files.remove(`${REPO_DIR}/${path}`);
    } catch (err) {
      // Already absent (a clone without it): nothing to remove.
      if (!isNotFound(err)) throw classifySandboxError(err, "remove a file the snapshot deleted");
    }
  }
  return { written: files.write.length, removed: files.remove.length, fromBase: files.fromBase.length };
}
