/**
 * A fork's working tree, carried to its verification sandbox through envd's files API alone: no
 * command runs in the fork's sandbox, so neither its shell configuration (~/.bash_profile, PATH,
 * functions) nor its git configuration (.git/config, hooks, info/exclude) plays any part. `.git`
 * (at any depth) is left out; symlinks and executable bits, which the files API cannot write, go
 * into a manifest that the verification sandbox applies. The tree is staged in R2 (`stageTree`),
 * so the fork's sandbox is released before the verification sandbox is acquired (a fork never
 * holds two sandboxes: no deadlock at the Pool's cap), then written there (`layTree`).
 */
import { posix } from "node:path";
import { FileType, type EntryInfo } from "e2b";
import { ForkyardError } from "../core/errors";
import { classifySandboxError } from "../sandbox/errors";
import { PREPARED_LIST } from "../sandbox/git";
import type { EnvdClient } from "../sandbox/envd-client";
import { VERIFY_KEEP_BASE, VERIFY_MANIFEST, VERIFY_TREE_DIR } from "../sandbox/verify-git";
import { verifyTreeKey, type ArtifactStore } from "./store";

/** The most files and bytes one fork's tree may hold to be verified. */
export const VERIFY_MAX_FILES = 50_000;
export const VERIFY_MAX_BYTES = 1024 ** 3;
const WRITE_BATCH_FILES = 64;
const WRITE_BATCH_BYTES = 8 * 1024 * 1024;
const LIST_DEPTH = 1000;

/** The fork's tree cannot be verified (too large, or its staged copy is gone). Not retried. */
export class VerifyFailedError extends ForkyardError {
  constructor(message: string) {
    super("verify_failed", message, { status: 422, retryable: false });
  }
}

export interface ExportedTree {
  files: number;
  bytes: number;
  symlinks: number;
  /** Paths left out: a prepared run's outputs (the verification sandbox prepares its own). */
  skipped: number;
}

interface StagedManifest {
  files: { path: string; executable: boolean }[];
  symlinks: { path: string; target: string }[];
  /** Taken from the base (and the verification sandbox's own prepare), not from the fork. */
  keepBase: string[];
}

interface Where {
  store: ArtifactStore;
  runId: string;
  n: number;
}

/** A path relative to the clone, or undefined when it is not a plain one below it. */
function relative(root: string, path: string): string | undefined {
  if (!path.startsWith(`${root}/`)) return undefined;
  const rel = path.slice(root.length + 1);
  return rel.split("/").some((p) => p === "" || p === "." || p === "..") ? undefined : rel;
}

/**
 * A link's target as the fork wrote it, as far as it can be known: E2B reports a symlink's target
 * made absolute (resolved against the link's folder), so a target inside the repository is made
 * relative to the link again (`deep/er/n.txt`, `../c`); one outside it stays absolute. A relative
 * target written in a roundabout way (`./x`, `x/../y`) comes back in its plain form.
 */
export function linkTarget(root: string, linkRel: string, target: string): string {
  if (!target.startsWith("/") || !target.startsWith(`${root}/`)) return target;
  const from = posix.dirname(`${root}/${linkRel}`);
  return posix.relative(from, posix.normalize(target)) || ".";
}

function under(rel: string, prefixes: Set<string>): boolean {
  const parts = rel.split("/");
  for (let i = 1; i <= parts.length; i++) if (prefixes.has(parts.slice(0, i).join("/"))) return true;
  return false;
}

async function listTree(session: EnvdClient, root: string): Promise<EntryInfo[]> {
  const files = session.sandbox.files;
  try {
    const out: EntryInfo[] = [];
    for (const entry of await files.list(root, { depth: 1 })) {
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
 * A prepared run's outputs as the fork's sandbox listed them right after prepare. The fork could
 * have changed that list, which does not matter: a listed path is taken from the base, never from
 * the fork, so listing more only drops the fork's own changes.
 */
async function preparedPaths(session: EnvdClient, root: string): Promise<string[]> {
  const files = session.sandbox.files;
  try {
    if (!(await files.exists(`${root}/${PREPARED_LIST}`))) return [];
  } catch (err) {
    throw await session.failure(err, "read the prepared list");
  }
  const text = new TextDecoder().decode(await session.readBytes(`${root}/${PREPARED_LIST}`));
  return text.split("\n").map((line) => line.replace(/\/$/, "")).filter((line) => line && relative(root, `${root}/${line}`) !== undefined);
}

/** The verify-export step's body: the fork's tree into R2. Safe to run again (same keys, a new manifest). */
export async function stageTree(input: Where & { from: EnvdClient; root: string }): Promise<ExportedTree> {
  const { from, root, store, runId, n } = input;
  const keepBase = await preparedPaths(from, root);
  const skip = new Set(keepBase);
  const manifest: StagedManifest = { files: [], symlinks: [], keepBase };
  const sizes: number[] = [];
  const result: ExportedTree = { files: 0, bytes: 0, symlinks: 0, skipped: 0 };
  for (const entry of await listTree(from, root)) {
    const rel = relative(root, entry.path);
    if (rel === undefined || rel.split("/").includes(".git")) continue;
    if (under(rel, skip)) result.skipped++;
    else if (entry.type === FileType.SYMLINK || entry.symlinkTarget) {
      if (entry.symlinkTarget) manifest.symlinks.push({ path: rel, target: linkTarget(root, rel, entry.symlinkTarget) });
    } else if (entry.type === FileType.FILE) {
      manifest.files.push({ path: rel, executable: ((entry.mode ?? 0) & 0o111) !== 0 });
      sizes.push(entry.size);
    }
  }
  // Anything below a symlink is the link's target's, not the tree's: never written through a link
  // (a link `d -> ~` and a link `d/.bashrc` would otherwise plant a dotfile in the verification sandbox).
  const links = new Set(manifest.symlinks.map((l) => l.path));
  const belowLink = (path: string) => under(path.split("/").slice(0, -1).join("/"), links);
  manifest.files = manifest.files.filter((f) => !belowLink(f.path));
  manifest.symlinks = manifest.symlinks.filter((l) => !belowLink(l.path));
  if (manifest.files.length > VERIFY_MAX_FILES) throw new VerifyFailedError(`The fork's tree has ${manifest.files.length} files: more than ${VERIFY_MAX_FILES} cannot be verified.`);
  if (sizes.reduce((a, b) => a + b, 0) > VERIFY_MAX_BYTES) throw new VerifyFailedError(`The fork's tree holds more than ${VERIFY_MAX_BYTES} bytes: it cannot be verified.`);
  for (const [i, file] of manifest.files.entries()) {
    const bytes = await from.readBytes(`${root}/${file.path}`);
    result.bytes += bytes.byteLength;
    if (result.bytes > VERIFY_MAX_BYTES) throw new VerifyFailedError(`The fork's tree holds more than ${VERIFY_MAX_BYTES} bytes: it cannot be verified.`);
    await store.putBytes(verifyTreeKey(runId, n, `f${i}`), bytes);
  }
  await store.putJson(verifyTreeKey(runId, n, "manifest.json"), manifest);
  result.files = manifest.files.length;
  result.symlinks = manifest.symlinks.length;
  return result;
}

/** The staged tree's files, by path: the index of each one's object (`f<i>`). Empty when nothing is staged. */
export async function stagedFileIndex(input: Where): Promise<Map<string, number>> {
  const manifest = await input.store.getJson<StagedManifest>(verifyTreeKey(input.runId, input.n, "manifest.json"));
  return new Map((manifest?.files ?? []).map((f, i) => [f.path, i]));
}

/** NUL-separated: the executable bits and symlinks to apply, and the paths to keep from the base. */
function manifestFiles(manifest: StagedManifest): { manifest: Uint8Array; keepBase: Uint8Array } {
  const fields: string[] = [];
  for (const f of manifest.files) if (f.executable) fields.push("x", f.path);
  for (const l of manifest.symlinks) fields.push("l", l.path, l.target);
  const encode = (list: string[]) => new TextEncoder().encode(list.map((field) => `${field}\0`).join(""));
  return { manifest: encode(fields), keepBase: encode(manifest.keepBase) };
}

/** The verify-lay step's body: the staged tree written into the verification sandbox. Safe to run again (replaced). */
export async function layTree(input: Where & { to: EnvdClient }): Promise<{ files: number }> {
  const { to, store, runId, n } = input;
  const manifest = await store.getJson<StagedManifest>(verifyTreeKey(runId, n, "manifest.json"));
  if (!manifest) throw new VerifyFailedError("The fork's exported tree is gone from storage.");
  const dest = to.sandbox.files;
  const write = async (entries: { path: string; data: ArrayBuffer }[]) => {
    try {
      await dest.write(entries);
    } catch (err) {
      throw classifySandboxError(err, "write the verification tree");
    }
  };
  try {
    if (await dest.exists(VERIFY_TREE_DIR)) await dest.remove(VERIFY_TREE_DIR);
    await dest.makeDir(VERIFY_TREE_DIR);
  } catch (err) {
    throw classifySandboxError(err, "prepare the verification tree");
  }
  let batch: { path: string; data: ArrayBuffer }[] = [];
  let batchBytes = 0;
  for (const [i, file] of manifest.files.entries()) {
    const bytes = await store.getBytes(verifyTreeKey(runId, n, `f${i}`));
    if (!bytes) throw new VerifyFailedError(`The fork's exported file ${file.path} is gone from storage.`);
    batch.push({ path: `${VERIFY_TREE_DIR}/${file.path}`, data: bytes.slice().buffer });
    batchBytes += bytes.byteLength;
    if (batch.length >= WRITE_BATCH_FILES || batchBytes >= WRITE_BATCH_BYTES) {
      await write(batch);
      batch = [];
      batchBytes = 0;
    }
  }
  const extra = manifestFiles(manifest);
  batch.push({ path: VERIFY_MANIFEST, data: extra.manifest.slice().buffer }, { path: VERIFY_KEEP_BASE, data: extra.keepBase.slice().buffer });
  await write(batch);
  return { files: manifest.files.length };
}
