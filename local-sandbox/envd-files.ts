// envd's REST endpoints: GET/POST /files, GET /health, GET /envs, GET /metrics.
// Uploads accept multipart/form-data (part "file"; without ?path= each part's filename is its
// destination) and raw application/octet-stream (optionally Content-Encoding: gzip). Parents are
// created; existing files are overwritten. Paths are resolved beneath the sandbox's folders and
// only regular files are opened, never blocking (sandbox-fs.ts): a symlink or FIFO swapped in by a
// sandbox process cannot redirect or stall host-side I/O.
import { constants } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { posix } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import type { Readable } from "node:stream";
import { ApiError, RpcError, httpStatusForRpc, rpcErrorFromFs } from "./errors.ts";
import { empty, header, json, readBody, type Reply } from "./http-util.ts";
import type { RequestInfo, Route, ServerContext } from "./context.ts";
import { metadataFromHeaders, metadataStore, type Metadata } from "./file-metadata.ts";
import { boundaryOf, parseMultipart } from "./multipart.ts";
import { normalizeVirtual } from "./paths.ts";
import { openRegular, withLocated } from "./sandbox-fs.ts";
import type { Sandbox } from "./sandbox-store.ts";

const MAX_MULTIPART_BYTES = 1024 * 1024 * 1024;

/** Converts path/fs errors into the /files error shape {code: <http status>, message}. */
function filesError(err: unknown, virtual: string): ApiError {
  if (err instanceof ApiError) return err;
  const rpc = err instanceof RpcError ? err : rpcErrorFromFs(err, virtual);
  return new ApiError(httpStatusForRpc(rpc), rpc.message);
}

/** The /files errors for a path: a folder is a 400 of its own wording. */
function fileOpError(err: unknown, virtual: string): ApiError {
  if ((err as NodeJS.ErrnoException)?.code === "EISDIR") return new ApiError(400, `path '${virtual}' is a directory`);
  return filesError(err, virtual);
}

/**
 * A file a sandbox process may be rewriting while it is read is sent as it is at the read, never
 * with a length its bytes do not have (a `Content-Length` from the stat and a file truncated
 * meanwhile left the client waiting for bytes that never came): up to READ_BUFFERED_BYTES it is
 * read whole and sent with its real length; a larger one is streamed to its end, chunked.
 */
const READ_BUFFERED_BYTES = 8 * 1024 * 1024;

/**
 * The file's bytes from one read at offset 0 into a buffer larger than the file (a regular file's
 * read is short only at its end): one version of a file being rewritten, not the head of one and
 * the tail of the next, as reading on until the end could give. A file that grew past the buffer
 * meanwhile is read again with a larger one; past READ_BUFFERED_BYTES, undefined (stream it).
 */
async function readWhole(fh: FileHandle, size: number): Promise<Buffer | undefined> {
  for (let room = Math.max(size + 1, 4096); room <= READ_BUFFERED_BYTES + 1; room *= 2) {
    const buffer = Buffer.allocUnsafe(room);
    const { bytesRead } = await fh.read(buffer, 0, room, 0);
    if (bytesRead < room) return buffer.subarray(0, bytesRead);
  }
  return undefined;
}

async function readFile(_ctx: ServerContext, info: RequestInfo): Promise<Reply> {
  const sb = info.sandbox as Sandbox;
  const path = info.url.searchParams.get("path");
  if (!path) throw new ApiError(400, "path is required");
  let virtual = normalizeVirtual(path);
  let fh: FileHandle;
  let size: number;
  try {
    ({ fh, st: { size } } = await withLocated(sb, path, { followFinal: true }, (loc) => {
      virtual = loc.virtual;
      return openRegular(loc, constants.O_RDONLY);
    }));
  } catch (err) {
    throw fileOpError(err, virtual);
  }
  const headers = { "Content-Type": "application/octet-stream", "Content-Disposition": `inline; filename="${encodeURIComponent(posix.basename(virtual))}"` };
  if (size <= READ_BUFFERED_BYTES) {
    const body = await readWhole(fh, size).catch(async (err: unknown) => {
      await fh.close().catch(() => {});
      throw err;
    });
    if (body) {
      await fh.close().catch(() => {});
      return { kind: "raw", status: 200, body, headers: { ...headers, "Content-Length": String(body.length) } };
    }
  }
  return {
    kind: "stream",
    start(_req, res) {
      res.writeHead(200, headers);
      pipeline(fh.createReadStream({ autoClose: true }), res).catch(() => {
        res.destroy();
      });
    },
    discard() {
      fh.close().catch(() => {});
    },
  };
}

interface Written {
  path: string;
  name: string;
  type: "file";
  metadata?: Metadata;
}

/** Writes one upload; its metadata replaces the file's (none clears it: file-metadata.ts). */
async function writeOne(ctx: ServerContext, sb: Sandbox, dest: string, source: Readable | Buffer, metadata: Metadata | undefined): Promise<Written> {
  const virtualRequested = normalizeVirtual(dest);
  const owner = ctx.store.owner;
  let virtual = virtualRequested;
  try {
    const { fh } = await withLocated(sb, dest, { followFinal: true, makeParents: true, owner }, (loc) => {
      virtual = loc.virtual;
      return openRegular(loc, constants.O_WRONLY, { owner });
    });
    try {
      await fh.truncate(0);
      if (Buffer.isBuffer(source)) {
        await fh.writeFile(source);
      } else {
        for await (const chunk of source) await fh.write(chunk as Buffer);
      }
      metadataStore(sb).set(await fh.stat(), metadata);
    } finally {
      await fh.close().catch(() => {});
    }
  } catch (err) {
    throw fileOpError(err, virtual);
  }
  return { path: virtualRequested, name: posix.basename(virtualRequested), type: "file", ...(metadata ? { metadata } : {}) };
}

async function writeFiles(ctx: ServerContext, info: RequestInfo): Promise<Reply> {
  const sb = info.sandbox as Sandbox;
  const path = info.url.searchParams.get("path") || undefined;
  const contentType = header(info.req, "content-type") ?? "";
  const metadata = metadataFromHeaders(info.req);
  if (contentType.toLowerCase().startsWith("multipart/form-data")) {
    const boundary = boundaryOf(contentType);
    if (!boundary) throw new ApiError(400, "multipart boundary missing");
    const body = await readBody(info.req, MAX_MULTIPART_BYTES);
    const parts = parseMultipart(body, boundary).filter((p) => p.name === "file");
    if (parts.length === 0) throw new ApiError(400, "no file part in the multipart body");
    const out: Written[] = [];
    for (const part of parts) {
      const dest = path ?? part.filename;
      if (!dest) throw new ApiError(400, "path is required (query parameter or part filename)");
      out.push(await writeOne(ctx, sb, dest, part.data, metadata));
    }
    return json(200, out);
  }
  // Raw body (application/octet-stream).
  if (!path) {
    info.req.resume();
    throw new ApiError(400, "path is required for application/octet-stream uploads");
  }
  const encoding = (header(info.req, "content-encoding") ?? "").toLowerCase();
  let source: Readable = info.req;
  if (encoding === "gzip") {
    const gunzip = createGunzip();
    // pipeline propagates a client abort into the gunzip stream (the writer then fails, not hangs)
    pipeline(info.req, gunzip).catch(() => {});
    source = gunzip;
  }
  else if (encoding && encoding !== "identity") {
    info.req.resume();
    throw new ApiError(400, `unsupported Content-Encoding: ${encoding}`);
  }
  return json(200, [await writeOne(ctx, sb, path, source, metadata)]);
}

async function health(): Promise<Reply> {
  return empty(204);
}

async function envs(_ctx: ServerContext, info: RequestInfo): Promise<Reply> {
  return json(200, { ...(info.sandbox as Sandbox).record.envVars });
}

async function metrics(): Promise<Reply> {
  const memTotal = 512 * 1024 * 1024;
  return json(200, {
    ts: Math.floor(Date.now() / 1000),
    cpu_count: 2,
    cpu_used_pct: 0,
    mem_total: memTotal,
    mem_used: 0,
    mem_cache: 0,
    mem_total_mib: 512,
    mem_used_mib: 0,
    disk_used: 0,
    disk_total: 10 * 1024 * 1024 * 1024,
  });
}

export function matchFilesRoute(method: string, pathname: string): Route | undefined {
  if (pathname === "/files") {
    if (method === "GET") return { op: "files.read", flavor: "files", handle: readFile };
    if (method === "POST") return { op: "files.write", flavor: "files", handle: writeFiles };
    return undefined;
  }
  if (method !== "GET") return undefined;
  if (pathname === "/health") return { op: "envd.health", flavor: "files", handle: health };
  if (pathname === "/envs") return { op: "envd.envs", flavor: "files", handle: envs };
  if (pathname === "/metrics") return { op: "envd.metrics", flavor: "files", handle: metrics };
  return undefined;
}
