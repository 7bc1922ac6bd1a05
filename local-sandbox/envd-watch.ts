// envd's directory watching RPCs of filesystem.Filesystem (the engine is watcher.ts):
//  - WatchDir (server stream): start{}, then filesystem{name,type,entry?} per event, keepalive{}
//    every Keepalive-Ping-Interval seconds without other traffic; Connect-Timeout-Ms ends it with
//    deadline_exceeded; a client disconnect stops the watch.
//  - CreateWatcher → {watcherId}; GetWatcherEvents {watcherId} → {events} (drained; at most
//    MAX_BUFFERED_EVENTS kept, the oldest dropped); RemoveWatcher {watcherId}.
// A watch of a missing folder is not_found, of anything but a folder invalid_argument. Watches end
// when the sandbox stops running (kill, pause, timeout).
import { randomUUID } from "node:crypto";
import { lstatSync } from "node:fs";
import { ConnectStream, keepaliveSeconds, readStreamRequest, readUnaryRequest, timeoutHeader } from "./connect-protocol.ts";
import { RpcError, rpcErrorFromFs } from "./errors.ts";
import { json, type Reply } from "./http-util.ts";
import type { RequestInfo, ServerContext } from "./context.ts";
import { normalizeVirtual } from "./paths.ts";
import { locate, openDirAt } from "./sandbox-fs.ts";
import type { Sandbox } from "./sandbox-store.ts";
import { DirWatcher, type WatchEvent } from "./watcher.ts";

type Msg = Record<string, unknown>;

/** Events a CreateWatcher watcher keeps between two GetWatcherEvents. */
export const MAX_BUFFERED_EVENTS = 10_000;

function pathArg(msg: Msg): string {
  if (typeof msg.path !== "string") throw new RpcError("invalid_argument", "path is required");
  return msg.path;
}

/** Opens the folder to watch beneath the sandbox's root (a link to it followed inside the sandbox). */
function openWatched(sb: Sandbox, path: string): { virtual: string; fd: number } {
  try {
    const loc = locate(sb, path, { followFinal: true });
    try {
      if (!lstatSync(loc.path).isDirectory()) throw new RpcError("invalid_argument", `path ${loc.virtual} is not a directory`);
      return { virtual: loc.virtual, fd: openDirAt(loc.dirFd, loc.name) };
    } finally {
      loc.close();
    }
  } catch (err) {
    throw err instanceof RpcError ? err : rpcErrorFromFs(err, normalizeVirtual(path));
  }
}

function startWatch(sb: Sandbox, msg: Msg, onEvent: (ev: WatchEvent) => void, onError: (err: RpcError) => void): DirWatcher {
  const { virtual, fd } = openWatched(sb, pathArg(msg));
  return new DirWatcher({ virtual, fd, recursive: msg.recursive === true, includeEntry: msg.includeEntry === true, onEvent, onError });
}

async function watchDir(_ctx: ServerContext, info: RequestInfo): Promise<Reply> {
  const sb = info.sandbox as Sandbox;
  const msg = await readStreamRequest(info.req);
  const deadlineMs = timeoutHeader(info.req);
  let stream: ConnectStream | undefined;
  let early: Array<WatchEvent | RpcError> = [];
  const deliver = (item: WatchEvent | RpcError) => {
    if (!stream) early.push(item);
    else if (item instanceof RpcError) stream.end(item);
    else stream.send({ filesystem: item });
  };
  const watcher = startWatch(sb, msg, deliver, deliver);
  const timers: NodeJS.Timeout[] = [];
  const stop = () => {
    watcher.close();
    for (const t of timers) clearTimeout(t);
    if (stream) sb.streams.delete(stream);
  };
  return {
    kind: "stream",
    start: (req, res) => {
      const s = new ConnectStream(res);
      stream = s;
      sb.streams.add(s);
      s.onClose(stop);
      s.send({ start: {} });
      for (const item of early) deliver(item);
      early = [];
      const keepaliveMs = keepaliveSeconds(req) * 1000;
      const ping = () => {
        s.send({ keepalive: {} });
        timers[0] = setTimeout(ping, keepaliveMs).unref();
      };
      timers[0] = setTimeout(ping, keepaliveMs).unref();
      if (deadlineMs > 0) timers[1] = setTimeout(() => s.end(new RpcError("deadline_exceeded", "context deadline exceeded")), deadlineMs).unref();
    },
    discard: stop,
  };
}

/** A CreateWatcher watcher: its events wait for GetWatcherEvents. */
interface Polled {
  watcher: DirWatcher;
  events: WatchEvent[];
  error?: RpcError;
}

const polled = new WeakMap<Sandbox, Map<string, Polled>>();

function watchersOf(sb: Sandbox): Map<string, Polled> {
  let map = polled.get(sb);
  if (!map) {
    const created = new Map<string, Polled>();
    map = created;
    polled.set(sb, created);
    sb.onStop.add(() => {
      for (const w of created.values()) w.watcher.close();
      created.clear();
    });
  }
  return map;
}

function polledWatcher(sb: Sandbox, msg: Msg): { id: string; entry: Polled } {
  const id = typeof msg.watcherId === "string" ? msg.watcherId : "";
  const entry = watchersOf(sb).get(id);
  if (!entry) throw new RpcError("not_found", `watcher with id ${id} not found`);
  return { id, entry };
}

async function createWatcher(_ctx: ServerContext, info: RequestInfo): Promise<Reply> {
  const sb = info.sandbox as Sandbox;
  const msg = await readUnaryRequest(info.req);
  const events: WatchEvent[] = [];
  const entry: Partial<Polled> & { events: WatchEvent[] } = { events };
  entry.watcher = startWatch(
    sb,
    msg,
    (ev) => {
      events.push(ev);
      if (events.length > MAX_BUFFERED_EVENTS) events.shift();
    },
    (err) => {
      entry.error = err;
    },
  );
  const id = randomUUID();
  watchersOf(sb).set(id, entry as Polled);
  return json(200, { watcherId: id });
}

async function getWatcherEvents(_ctx: ServerContext, info: RequestInfo): Promise<Reply> {
  const { id, entry } = polledWatcher(info.sandbox as Sandbox, await readUnaryRequest(info.req));
  const events = entry.events.splice(0);
  if (entry.error && events.length === 0) {
    watchersOf(info.sandbox as Sandbox).delete(id);
    throw entry.error;
  }
  return json(200, events.length ? { events } : {});
}

async function removeWatcher(_ctx: ServerContext, info: RequestInfo): Promise<Reply> {
  const sb = info.sandbox as Sandbox;
  const { id, entry } = polledWatcher(sb, await readUnaryRequest(info.req));
  entry.watcher.close();
  watchersOf(sb).delete(id);
  return json(200, {});
}

export const WATCH_METHODS = {
  WatchDir: { op: "fs.watch", stream: true, handle: watchDir },
  CreateWatcher: { op: "fs.watcher", stream: false, handle: createWatcher },
  GetWatcherEvents: { op: "fs.watcher", stream: false, handle: getWatcherEvents },
  RemoveWatcher: { op: "fs.watcher", stream: false, handle: removeWatcher },
};
