// envd's EntryInfo (Stat, ListDir, MakeDir, Move, watch events) in proto3 JSON form: size is an
// int64 string, type an enum name, zero values omitted; owner and group named as the sandbox's
// /etc/passwd and /etc/group name them.
import { lstatSync, readFileSync, readlinkSync, type Stats as FsStats } from "node:fs";
import { posix } from "node:path";
import { SANDBOX_GID, SANDBOX_UID, SANDBOX_USER } from "./isolation/user.ts";

type Msg = Record<string, unknown>;

/** Names of a passwd/group file's ids, plus the sandbox user (what the sandbox's own /etc/passwd says). */
function names(file: string, sandboxId: number): Map<number, string> {
  const out = new Map<number, string>([[sandboxId, SANDBOX_USER]]);
  try {
    for (const line of readFileSync(file, "utf8").split("\n")) {
      const [name, , id] = line.split(":");
      if (name && id !== undefined && !out.has(Number(id))) out.set(Number(id), name);
    }
  } catch {
    // no passwd/group file: numeric ids
  }
  return out;
}
let users: Map<number, string> | undefined;
let groups: Map<number, string> | undefined;

/** Go's os.FileMode.String() for the common types. */
function permissionString(st: FsStats): string {
  const type = st.isDirectory() ? "d" : st.isSymbolicLink() ? "L" : "-";
  const bits = "rwxrwxrwx";
  let out = type;
  for (let i = 0; i < 9; i++) out += st.mode & (1 << (8 - i)) ? bits[i] : "-";
  return out;
}

/** `metadata`: the file's (file-metadata.ts), when it has any. */
export function entryInfo(virtual: string, host: string, st: FsStats = lstatSync(host), metadata?: Record<string, string>): Msg {
  users ??= names("/etc/passwd", SANDBOX_UID);
  groups ??= names("/etc/group", SANDBOX_GID);
  const entry: Msg = {
    name: posix.basename(virtual),
    type: st.isDirectory() ? "FILE_TYPE_DIRECTORY" : st.isSymbolicLink() ? "FILE_TYPE_SYMLINK" : "FILE_TYPE_FILE",
    path: virtual,
  };
  if (st.size > 0) entry.size = String(st.size);
  const mode = st.mode & 0o777;
  if (mode) entry.mode = mode;
  entry.permissions = permissionString(st);
  entry.owner = users.get(st.uid) ?? String(st.uid);
  entry.group = groups.get(st.gid) ?? String(st.gid);
  entry.modifiedTime = st.mtime.toISOString();
  if (st.isSymbolicLink()) {
    try {
      // As envd: the target as a sandbox path (a relative one resolved against the link's folder).
      entry.symlinkTarget = posix.resolve(posix.dirname(virtual), readlinkSync(host));
    } catch {
      // raced with a delete: leave it out
    }
  }
  if (metadata) entry.metadata = metadata;
  return entry;
}
