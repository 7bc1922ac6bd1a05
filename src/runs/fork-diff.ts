/**
 * A direct diff of fork A's work against fork B's (GET /v1/runs/:id/compare/:a/:b): for every file
 * either patch touches, A's version against B's, like a pull request's "files changed" between two
 * branches. Versions come from what was kept when the patches were made: the patch itself (added
 * and deleted files whole, the base of a modified file by applying its hunks backwards) and the
 * new contents of modified files (artifacts/new-contents.ts). A file whose version cannot be had
 * (binary, not kept, too different to diff line by line) is listed with the reason.
 */
import type { z } from "zod";
import type { forkDiffView } from "../api/responses";
import type { RunView } from "../api/runs";
import { NotFoundError } from "../core/errors";
import { unifiedHunks } from "../artifacts/line-diff";
import { newContentKey, PATCH_READ_BYTES } from "../artifacts/new-contents";
import { applyHunks, parsePatch, type PatchFile } from "../artifacts/patch-files";
import { patchKey, type ArtifactStore } from "../artifacts/store";

export type ForkDiffView = z.infer<typeof forkDiffView>;
type FileDiff = ForkDiffView["files"][number];

/** The most diff text one answer carries; files past it are listed without their diff. */
export const FORK_DIFF_MAX_CHARS = 512 * 1024;

/** A version of a file: its text, null when the file does not exist there, undefined when unknown. */
type Version = string | null | undefined;

interface Side {
  n: number;
  files: Map<string, PatchFile>;
}

export async function diffForks(view: RunView, a: number, b: number, store: ArtifactStore): Promise<ForkDiffView> {
  const sides = await Promise.all([readSide(view, a, "a", store), readSide(view, b, "b", store)]);
  const [sa, sb] = sides as [Side, Side];
  const paths = [...new Set([...sa.files.keys(), ...sb.files.keys()])].sort();
  const files: FileDiff[] = [];
  let chars = 0;
  for (const path of paths) {
    const entry = await fileDiff(view.id, path, sa, sb, store);
    const size = entry.hunks?.reduce((sum, h) => sum + h.header.length + h.lines.join("\n").length, 0) ?? 0;
    if (chars + size > FORK_DIFF_MAX_CHARS) {
      files.push({ ...entry, status: "unavailable", hunks: null, reason: "The answer's size limit was reached: see the two patches." });
      continue;
    }
    chars += size;
    files.push(entry);
  }
  return { runId: view.id, a, b, files };
}

async function readSide(view: RunView, n: number, field: "a" | "b", store: ArtifactStore): Promise<Side> {
  const fork = view.forks.find((f) => f.n === n);
  if (!fork) throw new NotFoundError("fork", `${view.id}/${n}`, { field });
  const text = fork.artifacts?.patch ? ((await store.head(patchKey(view.id, n), PATCH_READ_BYTES)) ?? "") : "";
  return { n, files: new Map(parsePatch(text).map((f) => [f.path, f])) };
}

async function fileDiff(runId: string, path: string, sa: Side, sb: Side, store: ArtifactStore): Promise<FileDiff> {
  const fa = sa.files.get(path);
  const fb = sb.files.get(path);
  const base = { path, a: fa?.change ?? null, b: fb?.change ?? null };
  if (fa?.change === "binary" || fb?.change === "binary") return { ...base, status: "unavailable", hunks: null, reason: "A binary file: not diffed." };
  const kept = (side: Side, file: PatchFile) => (file.change === "modified" || file.change === "renamed" ? keptContent(store, runId, side.n, file.path) : Promise.resolve(undefined));
  const [keptA, keptB] = await Promise.all([fa ? kept(sa, fa) : undefined, fb ? kept(sb, fb) : undefined]);
  const baseText = baseOf(fa, keptA) ?? baseOf(fb, keptB);
  const va = fa ? newOf(fa, keptA, baseText) : baseText;
  const vb = fb ? newOf(fb, keptB, baseText) : baseText;
  if (va === undefined || vb === undefined) {
    const n = va === undefined ? sa.n : sb.n;
    return { ...base, status: "unavailable", hunks: null, reason: `Fork ${n}'s version of this file was not kept (larger than the limit, or made before versions were kept): see its patch.` };
  }
  if (va === vb) return { ...base, status: "same", hunks: [] };
  const hunks = unifiedHunks(va ?? "", vb ?? "");
  if (!hunks) return { ...base, status: "unavailable", hunks: null, reason: "The two versions are too different to diff line by line." };
  return { ...base, status: "differs", hunks: hunks.map((h) => ({ header: h.header, lines: h.lines })), ...(va === null ? { missingIn: "a" as const } : vb === null ? { missingIn: "b" as const } : {}) };
}

async function keptContent(store: ArtifactStore, runId: string, n: number, path: string): Promise<string | undefined> {
  const bytes = await store.getBytes(newContentKey(runId, n, path));
  return bytes ? new TextDecoder().decode(bytes) : undefined;
}

/** The file's base version as one fork's patch and kept contents give it (undefined: not from this fork). */
function baseOf(file: PatchFile | undefined, kept: string | undefined): Version {
  if (!file) return undefined;
  // A renamed file did not exist at its new path (its old path is another entry's concern).
  if (file.change === "added" || file.change === "renamed") return null;
  if (file.change === "deleted") return applyHunks("", file.hunks, "reverse") ?? undefined;
  if (file.hunks.length === 0) return kept;
  return kept === undefined ? undefined : (applyHunks(kept, file.hunks, "reverse") ?? undefined);
}

/** The fork's own version of a file its patch touches. */
function newOf(file: PatchFile, kept: string | undefined, base: Version): Version {
  if (file.change === "deleted") return null;
  if (file.change === "added") return applyHunks("", file.hunks, "forward") ?? undefined;
  if (kept !== undefined) return kept;
  if (file.change === "renamed") return undefined;
  if (file.hunks.length === 0) return base;
  return typeof base === "string" ? (applyHunks(base, file.hunks, "forward") ?? undefined) : undefined;
}
