/**
 * The new contents of the files a fork's patch modifies, kept beside the patch when it is made (in
 * the verify-build step, from the fork's tree staged in R2), so the Worker can diff fork A's version
 * of a file against fork B's (src/runs/fork-diff.ts) without a sandbox. Added and deleted files
 * need nothing kept (the patch holds all of them); binary files are not diffed. Within caps per
 * file, per fork and in count; a file past them is simply not kept (its direct diff says so).
 */
import { parsePatch } from "./patch-files";
import { stagedFileIndex } from "./export-tree";
import { patchKey, verifyTreeKey, type ArtifactStore } from "./store";

export const NEW_CONTENT_MAX_FILE_BYTES = 512 * 1024;
export const NEW_CONTENT_MAX_FORK_BYTES = 8 * 1024 * 1024;
export const NEW_CONTENT_MAX_FILES = 300;
/** How much of a patch is read for its file list (and by a direct diff). */
export const PATCH_READ_BYTES = 8 * 1024 * 1024;

/** Where fork n's version of a file its patch modifies is kept. */
export function newContentKey(runId: string, n: number, path: string): string {
  return `runs/${runId}/${n}/new/${path}`;
}

interface Where {
  store: ArtifactStore;
  runId: string;
  n: number;
}

/** Keeps the new contents of the patch's modified (and renamed-and-edited) files. Safe to run again (same keys, same bytes). */
export async function keepNewContents(input: Where): Promise<{ files: number; bytes: number }> {
  const { store, runId, n } = input;
  const patch = await store.head(patchKey(runId, n), PATCH_READ_BYTES);
  if (!patch) return { files: 0, bytes: 0 };
  const wanted = parsePatch(patch).filter((f) => (f.change === "modified" || f.change === "renamed") && f.hunks.length > 0);
  if (wanted.length === 0) return { files: 0, bytes: 0 };
  const staged = await stagedFileIndex(input);
  const kept = { files: 0, bytes: 0 };
  for (const file of wanted) {
    const i = staged.get(file.path);
    if (i === undefined || kept.files >= NEW_CONTENT_MAX_FILES) continue;
    const bytes = await store.getBytes(verifyTreeKey(runId, n, `f${i}`));
    if (!bytes || bytes.byteLength > NEW_CONTENT_MAX_FILE_BYTES || kept.bytes + bytes.byteLength > NEW_CONTENT_MAX_FORK_BYTES) continue;
    await store.putBytes(newContentKey(runId, n, file.path), bytes);
    kept.files++;
    kept.bytes += bytes.byteLength;
  }
  return kept;
}
