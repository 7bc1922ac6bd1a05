/**
 * Copies a fork's working tree into the verification sandbox through envd's files API alone: no
 * command runs in the fork's sandbox, so neither its shell configuration (~/.bash_profile, PATH,
 * functions) nor its git configuration (.git/config, hooks, info/exclude) plays any part. `.git`
 * (at any depth) is left out; symlinks and executable bits, which the files API cannot write, go
 * into a manifest that the verification sandbox applies.
 */
import { FileType, type EntryInfo } from "e2b";
import { ForkyardError } from "../core/errors";
import { classifySandboxError } from "./errors";
import type { SandboxSession } from "./session";
import { VERIFY_MANIFEST, VERIFY_TREE_DIR } from "./verify-git";

/** The most files and bytes one fork's tree may hold to be verified. */
export const VERIFY_MAX_FILES = 50_000;
export const VERIFY_MAX_BYTES = 1024 ** 3;
const WRITE_BATCH_FILES = 64;
const WRITE_BATCH_BYTES = 8 * 1024 * 1024;
const LIST_DEPTH = 1000;

/** The fork's tree cannot be verified (too large, or not readable as files). Not retried. */
export class VerifyFailedError extends ForkyardError {
  constructor(message: string) {
    super("verify_failed", message, { status: 422, retryable: false });
  }
}

export interface ExportedTree {
  files: number;
  bytes: number;
  symlinks: number;
  /** Paths left out because the verification sandbox has its own (prepare's outputs). */
  skipped: number;
}

export interface ExportInput {
  from: SandboxSession;
  to: SandboxSession;
  /** The fork's clone. */
  root: string;
  /** Untracked paths of the base after prepare (`dir/` for a directory): not exported. */
  skip: string[];
}

/** A path relative to the clone, or undefined when it is not a plain one below it. */
function relative(root: string, path: string): string | undefined {
  if (!path.startsWith(`${root}/`)) return undefined;
  const rel = path.slice(root.length + 1);
  const parts = rel.split("/");
  if (parts.some((p) => p === "" || p === "." || p === "..")) return undefined;
  return rel;
}

function under(rel: string, prefixes: Set<string>): boolean {
  const parts = rel.split("/");
  for (let i = 1; i <= parts.length; i++) if (prefixes.has(parts.slice(0, i).join("/"))) return true;
  return false;
}

async function listTree(session: SandboxSession, root: string): Promise<EntryInfo[]> {
  const files = session.sandbox.files;
  try {
    const top = await files.list(root, { depth: 1 });
    const out: EntryInfo[] = [];
    for (const entry of top) {
      if (entry.name === ".git") continue;
      out.push(entry);
      if (entry.type === FileType.DIR && !entry.symlinkTarget) out.push(...(await files.list(entry.path, { depth: LIST_DEPTH })));
    }
    return out;
  } catch (err) {
    throw await session.failure(err, `list ${root}`);
  }
}

/**
 * Replaces the verification sandbox's tree (VERIFY_TREE_DIR) with the fork's files and writes the
 * manifest. Safe to run again: the tree is removed first.
 */
export async function exportTree(input: ExportInput): Promise<ExportedTree> {
  const { from, to, root } = input;
  const skip = new Set(input.skip.map((s) => s.replace(/\/$/, "")).filter(Boolean));
  const entries = await listTree(from, root);
  const symlinks = new Set<string>();
  const manifest: string[] = [];
  const files: { rel: string; size: number }[] = [];
  const result: ExportedTree = { files: 0, bytes: 0, symlinks: 0, skipped: 0 };
  for (const entry of entries) {
    const rel = relative(root, entry.path);
    if (rel === undefined || rel.split("/").includes(".git")) continue;
    if (under(rel, skip)) {
      result.skipped++;
      continue;
    }
    if (entry.type === FileType.SYMLINK || entry.symlinkTarget) {
      if (!entry.symlinkTarget) continue;
      symlinks.add(rel);
      manifest.push("l", rel, entry.symlinkTarget);
      result.symlinks++;
    } else if (entry.type === FileType.FILE) {
      files.push({ rel, size: entry.size });
      if ((entry.mode ?? 0) & 0o111) manifest.push("x", rel);
    }
  }
  const kept = files.filter((f) => !under(f.rel.split("/").slice(0, -1).join("/"), symlinks));
  if (kept.length > VERIFY_MAX_FILES) throw new VerifyFailedError(`The fork's tree has ${kept.length} files: more than ${VERIFY_MAX_FILES} cannot be verified.`);
  const total = kept.reduce((sum, f) => sum + f.size, 0);
  if (total > VERIFY_MAX_BYTES) throw new VerifyFailedError(`The fork's tree holds ${total} bytes: more than ${VERIFY_MAX_BYTES} cannot be verified.`);

  const dest = to.sandbox.files;
  try {
    if (await dest.exists(VERIFY_TREE_DIR)) await dest.remove(VERIFY_TREE_DIR);
    await dest.makeDir(VERIFY_TREE_DIR);
  } catch (err) {
    throw classifySandboxError(err, "prepare the verification tree");
  }
  let batch: { path: string; data: ArrayBuffer }[] = [];
  let batchBytes = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    try {
      await dest.write(batch);
    } catch (err) {
      throw classifySandboxError(err, "write the verification tree");
    }
    batch = [];
    batchBytes = 0;
  };
  for (const file of kept) {
    const bytes = await from.readBytes(`${root}/${file.rel}`);
    batch.push({ path: `${VERIFY_TREE_DIR}/${file.rel}`, data: bytes.slice().buffer });
    batchBytes += bytes.byteLength;
    result.files++;
    result.bytes += bytes.byteLength;
    if (batch.length >= WRITE_BATCH_FILES || batchBytes >= WRITE_BATCH_BYTES) await flush();
  }
  batch.push({ path: VERIFY_MANIFEST, data: new TextEncoder().encode(manifest.map((field) => `${field}\0`).join("")).slice().buffer });
  await flush();
  return result;
}
