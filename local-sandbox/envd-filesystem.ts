// envd's filesystem.Filesystem service (unary RPCs; watching is not emulated).
// EntryInfo is proto3 JSON: size is an int64 string, type an enum name, zero values omitted.
import { lstatSync, readFileSync, readdirSync, readlinkSync, type Stats as FsStats } from "node:fs";
import { cp, mkdir, rename, rm } from "node:fs/promises";
import { dirname, posix } from "node:path";
import { readUnaryRequest } from "./connect-protocol.ts";
import { RpcError, rpcErrorFromFs } from "./errors.ts";
import { json, type Reply } from "./http-util.ts";
import type { RequestInfo, Route, ServerContext } from "./context.ts";
import { chownMade, isRoot, resolveSandboxPath, type ResolvedPath } from "./paths.ts";
import type { Sandbox } from "./sandbox-store.ts";

type Msg = Record<string, unknown>;

function names(file: string): Map<number, string> {
  const out = new Map<number, string>();
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

export function entryInfo(virtual: string, host: string, st: FsStats = lstatSync(host)): Msg {
  users ??= names("/etc/passwd");
  groups ??= names("/etc/group");
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
      entry.symlinkTarget = readlinkSync(host);
    } catch {
      // raced with a delete: leave it out
    }
  }
  return entry;
}

function pathArg(msg: Msg, field = "path"): string {
  const v = msg[field];
  if (typeof v !== "string") throw new RpcError("invalid_argument", `${field} is required`);
  return v;
}

function resolve(sb: Sandbox, path: string, followFinal: boolean): ResolvedPath {
  return resolveSandboxPath(sb, path, followFinal);
}

function lstatOrThrow(r: ResolvedPath): FsStats {
  try {
    return lstatSync(r.host);
  } catch (err) {
    throw rpcErrorFromFs(err, r.virtual);
  }
}

async function stat(_ctx: ServerContext, info: RequestInfo): Promise<Reply> {
  const msg = await readUnaryRequest(info.req);
  const r = resolve(info.sandbox as Sandbox, pathArg(msg), false);
  return json(200, { entry: entryInfo(r.virtual, r.host, lstatOrThrow(r)) });
}

async function listDir(_ctx: ServerContext, info: RequestInfo): Promise<Reply> {
  const msg = await readUnaryRequest(info.req);
  const depth = msg.depth === undefined ? 1 : Number(msg.depth);
  if (!Number.isInteger(depth) || depth < 0) throw new RpcError("invalid_argument", "depth must be a non-negative integer");
  const r = resolve(info.sandbox as Sandbox, pathArg(msg), true);
  const st = lstatOrThrow(r);
  if (!st.isDirectory()) throw new RpcError("invalid_argument", `path ${r.virtual} is not a directory`);
  const entries: Msg[] = [];
  const walk = (vdir: string, hdir: string, level: number) => {
    let children;
    try {
      children = readdirSync(hdir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch (err) {
      if (level === 1) throw rpcErrorFromFs(err, vdir);
      return;
    }
    for (const child of children) {
      const v = posix.join(vdir, child.name);
      const h = `${hdir}/${child.name}`;
      let cst: FsStats;
      try {
        cst = lstatSync(h);
      } catch {
        continue; // deleted while listing
      }
      entries.push(entryInfo(v, h, cst));
      if (cst.isDirectory() && level < Math.max(depth, 1)) walk(v, h, level + 1);
    }
  };
  walk(r.virtual, r.host, 1);
  return json(200, entries.length ? { entries } : {});
}

async function makeDir(ctx: ServerContext, info: RequestInfo): Promise<Reply> {
  const msg = await readUnaryRequest(info.req);
  const r = resolve(info.sandbox as Sandbox, pathArg(msg), true);
  let existing: FsStats | undefined;
  try {
    existing = lstatSync(r.host);
  } catch {
    existing = undefined;
  }
  if (existing?.isDirectory()) throw new RpcError("already_exists", `directory at ${r.virtual} already exists`);
  if (existing) throw new RpcError("invalid_argument", `path ${r.virtual} already exists and is not a directory`);
  try {
    chownMade(ctx.store.owner, await mkdir(r.host, { recursive: true }), r.host);
  } catch (err) {
    throw rpcErrorFromFs(err, r.virtual);
  }
  return json(200, { entry: entryInfo(r.virtual, r.host) });
}

async function move(_ctx: ServerContext, info: RequestInfo): Promise<Reply> {
  const msg = await readUnaryRequest(info.req);
  const sb = info.sandbox as Sandbox;
  const src = resolve(sb, pathArg(msg, "source"), false);
  const dst = resolve(sb, pathArg(msg, "destination"), false);
  if (isRoot(src.virtual) || isRoot(dst.virtual)) throw new RpcError("permission_denied", "cannot move /home/user or /tmp");
  lstatOrThrow(src);
  try {
    await mkdir(dirname(dst.host), { recursive: true });
    try {
      await rename(src.host, dst.host);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EXDEV") throw err;
      await cp(src.host, dst.host, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
      await rm(src.host, { recursive: true, force: true });
    }
  } catch (err) {
    throw rpcErrorFromFs(err, src.virtual);
  }
  return json(200, { entry: entryInfo(dst.virtual, dst.host) });
}

async function remove(_ctx: ServerContext, info: RequestInfo): Promise<Reply> {
  const msg = await readUnaryRequest(info.req);
  const r = resolve(info.sandbox as Sandbox, pathArg(msg), false);
  if (isRoot(r.virtual)) throw new RpcError("permission_denied", `cannot remove ${r.virtual}`);
  try {
    await rm(r.host, { recursive: true, force: true });
  } catch (err) {
    throw rpcErrorFromFs(err, r.virtual);
  }
  return json(200, {});
}

async function unimplemented(_ctx: ServerContext, info: RequestInfo): Promise<Reply> {
  info.req.resume();
  throw new RpcError("unimplemented", `${info.url.pathname} (directory watching) is not supported by local-sandbox`);
}

const METHODS: Record<string, { op: string; stream: boolean; handle: Route["handle"] }> = {
  Stat: { op: "fs.stat", stream: false, handle: stat },
  ListDir: { op: "fs.list", stream: false, handle: listDir },
  MakeDir: { op: "fs.mkdir", stream: false, handle: makeDir },
  Move: { op: "fs.move", stream: false, handle: move },
  Remove: { op: "fs.remove", stream: false, handle: remove },
  WatchDir: { op: "fs.watch", stream: true, handle: unimplemented },
  CreateWatcher: { op: "fs.watcher", stream: false, handle: unimplemented },
  GetWatcherEvents: { op: "fs.watcher", stream: false, handle: unimplemented },
  RemoveWatcher: { op: "fs.watcher", stream: false, handle: unimplemented },
};

export function matchFilesystemRpc(method: string): Route | undefined {
  const m = METHODS[method];
  if (!m) return undefined;
  return { op: m.op, flavor: m.stream ? "connect-stream" : "connect", handle: m.handle };
}
