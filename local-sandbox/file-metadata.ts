// File metadata (`X-Metadata-<key>: <value>` headers of an upload; E2B's envd keeps them as
// `user.e2b.<key>` extended attributes and returns them in the upload's answer and in every
// EntryInfo: Stat, ListDir, Move).
//
// Node has no xattr API (and no native addon is used), so the server keeps them in a side store
// per sandbox, `<sandbox dir>/file-metadata.json` (beside, never inside, the sandbox's /home/user
// and /tmp), keyed by the file's inode and birth time: so the metadata follows the file through
// renames (Move, `mv` by a command) and writes that keep the file (a command's `echo >`), an
// upload replaces or clears it, and a new file on a recycled inode does not inherit another's.
// Xattrs a sandbox's commands set (`os.setxattr`) are read beside this store (xattr-reader.ts);
// what this cannot do (local-sandbox/README.md, "File metadata"): the upload's metadata is not
// visible to commands as xattrs; a fork's files are copies (new inodes) and do not keep it. At most MAX_ENTRIES files per
// sandbox have metadata (the oldest are forgotten first).
import { readFileSync, renameSync, writeFileSync, type Stats } from "node:fs";
import type { IncomingMessage } from "node:http";
import { join } from "node:path";
import { ApiError } from "./errors.ts";
import type { Sandbox } from "./sandbox-store.ts";

export type Metadata = Record<string, string>;

const HEADER_PREFIX = "x-metadata-";
export const MAX_ENTRIES = 10_000;
/** A key is an HTTP header token (what `X-Metadata-<key>` allows). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The upload's metadata (undefined when it has none); a bad key is a 400. */
export function metadataFromHeaders(req: IncomingMessage): Metadata | undefined {
  const out: Metadata = {};
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    if (!name.toLowerCase().startsWith(HEADER_PREFIX)) continue;
    const key = name.slice(HEADER_PREFIX.length);
    if (!TOKEN.test(key)) throw new ApiError(400, `invalid metadata key ${JSON.stringify(key)}: must be a non-empty HTTP header token`);
    out[key] = raw[i + 1] as string;
  }
  return Object.keys(out).length ? out : undefined;
}

/** A file's identity: its inode, and its birth time where the filesystem records one. */
const fileKey = (st: Stats) => `${st.ino}:${Math.round(st.birthtimeMs * 1000)}`;

class MetadataStore {
  private readonly file: string;
  private readonly entries: Map<string, Metadata>;

  constructor(dir: string) {
    this.file = join(dir, "file-metadata.json");
    this.entries = new Map(load(this.file));
  }

  get(st: Stats): Metadata | undefined {
    return st.isFile() ? this.entries.get(fileKey(st)) : undefined;
  }

  /** Sets (or, with undefined, clears) a file's metadata. */
  set(st: Stats, metadata: Metadata | undefined): void {
    const key = fileKey(st);
    if (!metadata && !this.entries.has(key)) return;
    this.entries.delete(key);
    if (metadata) this.entries.set(key, metadata);
    while (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify([...this.entries]), { mode: 0o600 });
    renameSync(tmp, this.file);
  }
}

function load(file: string): Array<[string, Metadata]> {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
    return Array.isArray(parsed) ? (parsed as Array<[string, Metadata]>) : [];
  } catch {
    return []; // none yet (or unreadable: start empty)
  }
}

const stores = new WeakMap<Sandbox, MetadataStore>();

export function metadataStore(sb: Sandbox): MetadataStore {
  let store = stores.get(sb);
  if (!store) {
    store = new MetadataStore(sb.dir);
    stores.set(sb, store);
  }
  return store;
}
