// envd's filesystem.Filesystem service: the unary file RPCs here, watching in envd-watch.ts.
import { closeSync, lstatSync, type Stats as FsStats } from "node:fs";
import { lchown, lstat, mkdir, rename } from "node:fs/promises";
import { posix } from "node:path";
import { readUnaryRequest } from "./connect-protocol.ts";
import { RpcError, rpcErrorFromFs } from "./errors.ts";
import { json, type Reply } from "./http-util.ts";
import type { RequestInfo, Route, ServerContext } from "./context.ts";
import { isRoot, normalizeVirtual } from "./paths.ts";
import { at, listOpened, openDirAt, removeAt, withLocated } from "./sandbox-fs.ts";
import type { Sandbox } from "./sandbox-store.ts";
import { entryInfo } from "./entry-info.ts";
import { metadataStore, type Metadata } from "./file-metadata.ts";
import { mergeMetadata, readXattrMetadata } from "./xattr-reader.ts";
import { WATCH_METHODS } from "./envd-watch.ts";

type Msg = Record<string, unknown>;

function pathArg(msg: Msg, field = "path"): string {
  const v = msg[field];
  if (typeof v !== "string") throw new RpcError("invalid_argument", `${field} is required`);
  return v;
}

/** A located file's metadata: its `user.e2b.*` xattrs (xattr-reader.ts) and its upload's. */
async function metadataOf(sb: Sandbox, path: string, st: FsStats): Promise<Metadata | undefined> {
  if (!st.isFile()) return undefined;
  const [xattrs] = await readXattrMetadata([path]);
  return mergeMetadata(xattrs, metadataStore(sb).get(st));
}

const fsError = (virtual: string) => (err: unknown) => {
  throw rpcErrorFromFs(err, virtual);
};

async function stat(_ctx: ServerContext, info: RequestInfo): Promise<Reply> {
  const msg = await readUnaryRequest(info.req);
  const sb = info.sandbox as Sandbox;
  const path = pathArg(msg);
  return withLocated(sb, path, { followFinal: false }, async (loc) => {
    const st = await lstat(loc.path).catch(fsError(loc.virtual));
    return json(200, { entry: entryInfo(loc.virtual, loc.path, st, await metadataOf(sb, loc.path, st)) });
  }).catch(fsError(normalizeVirtual(path)));
}

async function listDir(_ctx: ServerContext, info: RequestInfo): Promise<Reply> {
  const msg = await readUnaryRequest(info.req);
  const depth = msg.depth === undefined ? 1 : Number(msg.depth);
  if (!Number.isInteger(depth) || depth < 0) throw new RpcError("invalid_argument", "depth must be a non-negative integer");
  const path = pathArg(msg);
  const entries: Msg[] = [];
  const metadata = metadataStore(info.sandbox as Sandbox);
  // Each folder is read through its own descriptor, opened without following a link; its files'
  // xattrs are read in one go while it is open.
  const walk = async (vdir: string, dirFd: number, level: number) => {
    const files: { entry: Msg; path: string; uploaded: Metadata | undefined }[] = [];
    for (const name of listOpened(dirFd)) {
      const v = posix.join(vdir, name);
      let st: FsStats;
      try {
        st = lstatSync(at(dirFd, name));
      } catch {
        continue; // deleted while listing
      }
      const entry = entryInfo(v, at(dirFd, name), st);
      entries.push(entry);
      if (st.isFile()) files.push({ entry, path: at(dirFd, name), uploaded: metadata.get(st) });
      if (!st.isDirectory() || level >= Math.max(depth, 1)) continue;
      let sub: number;
      try {
        sub = openDirAt(dirFd, name);
      } catch {
        continue; // replaced while listing
      }
      try {
        await walk(v, sub, level + 1);
      } catch {
        // unreadable below the first level: skipped
      } finally {
        closeSync(sub);
      }
    }
    const xattrs = await readXattrMetadata(files.map((f) => f.path));
    files.forEach((f, i) => {
      const md = mergeMetadata(xattrs[i], f.uploaded);
      if (md) f.entry.metadata = md;
    });
  };
  await withLocated(info.sandbox as Sandbox, path, { followFinal: true }, async (loc) => {
    const st = lstatSync(loc.path);
    if (!st.isDirectory()) throw new RpcError("invalid_argument", `path ${loc.virtual} is not a directory`);
    const dirFd = openDirAt(loc.dirFd, loc.name);
    try {
      await walk(loc.virtual, dirFd, 1);
    } finally {
      closeSync(dirFd);
    }
  }).catch(fsError(normalizeVirtual(path)));
  return json(200, entries.length ? { entries } : {});
}

async function makeDir(ctx: ServerContext, info: RequestInfo): Promise<Reply> {
  const msg = await readUnaryRequest(info.req);
  const path = pathArg(msg);
  const owner = ctx.store.owner;
  return withLocated(info.sandbox as Sandbox, path, { followFinal: true, makeParents: true, owner }, async (loc) => {
    const existing = await lstat(loc.path).catch(() => undefined);
    if (existing?.isDirectory()) throw new RpcError("already_exists", `directory at ${loc.virtual} already exists`);
    if (existing) throw new RpcError("invalid_argument", `path ${loc.virtual} already exists and is not a directory`);
    await mkdir(loc.path).catch((err: NodeJS.ErrnoException) => {
      throw err.code === "EEXIST" ? new RpcError("already_exists", `directory at ${loc.virtual} already exists`) : err;
    });
    if (owner) await lchown(loc.path, owner.uid, owner.gid);
    return json(200, { entry: entryInfo(loc.virtual, loc.path) });
  }).catch(fsError(normalizeVirtual(path)));
}

async function move(ctx: ServerContext, info: RequestInfo): Promise<Reply> {
  const msg = await readUnaryRequest(info.req);
  const sb = info.sandbox as Sandbox;
  const source = pathArg(msg, "source");
  const destination = pathArg(msg, "destination");
  return withLocated(sb, source, { followFinal: false }, (src) =>
    withLocated(sb, destination, { followFinal: false, makeParents: true, owner: ctx.store.owner }, async (dst) => {
      if (isRoot(src.virtual) || isRoot(dst.virtual)) throw new RpcError("permission_denied", "cannot move /home/user or /tmp");
      await lstat(src.path).catch(fsError(src.virtual));
      // /home/user and /tmp lie on one filesystem (the data dir): a rename, never a copy.
      await rename(src.path, dst.path).catch(fsError(src.virtual));
      const st = lstatSync(dst.path);
      return json(200, { entry: entryInfo(dst.virtual, dst.path, st, await metadataOf(sb, dst.path, st)) });
    }),
  ).catch(fsError(normalizeVirtual(source)));
}

async function remove(_ctx: ServerContext, info: RequestInfo): Promise<Reply> {
  const msg = await readUnaryRequest(info.req);
  const path = pathArg(msg);
  await withLocated(info.sandbox as Sandbox, path, { followFinal: false }, async (loc) => {
    if (isRoot(loc.virtual)) throw new RpcError("permission_denied", `cannot remove ${loc.virtual}`);
    await removeAt(loc.dirFd, loc.name).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err;
    });
  }).catch((err: unknown) => {
    // like rm -f: nothing to remove is not an error
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") fsError(normalizeVirtual(path))(err);
  });
  return json(200, {});
}

const METHODS: Record<string, { op: string; stream: boolean; handle: Route["handle"] }> = {
  Stat: { op: "fs.stat", stream: false, handle: stat },
  ListDir: { op: "fs.list", stream: false, handle: listDir },
  MakeDir: { op: "fs.mkdir", stream: false, handle: makeDir },
  Move: { op: "fs.move", stream: false, handle: move },
  Remove: { op: "fs.remove", stream: false, handle: remove },
  ...WATCH_METHODS,
};

export function matchFilesystemRpc(method: string): Route | undefined {
  const m = METHODS[method];
  if (!m) return undefined;
  return { op: m.op, flavor: m.stream ? "connect-stream" : "connect", handle: m.handle };
}
