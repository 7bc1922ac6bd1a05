// Directory watching for envd's WatchDir / CreateWatcher (envd-watch.ts), on inotify through
// Node's fs.watch, one watch per folder.
//
// Safety, as the rest of the file API (sandbox-fs.ts): every watched folder is an *opened*
// descriptor reached beneath the sandbox's root without following a link, and the inotify watch is
// put on that descriptor (`/proc/self/fd/N`), never on a host path a sandbox could swap. Names an
// event reports are looked at with lstat in that opened folder: nothing is ever opened but folders
// (O_DIRECTORY | O_NOFOLLOW), so a FIFO, device or socket cannot stall the server, and a recursive
// watch never descends through a symlink (a link to a host folder is reported as an entry, never
// watched). A server-wide cap bounds the folders all sandboxes' watchers hold (descriptors and
// the host's inotify watches).
//
// fs.watch says only "rename" (created, deleted, moved) or "change" (written, attributes); the
// event type E2B reports (its envd maps inotify through fsnotify) is found from what the name is
// now compared with what it was: appeared → create, gone → remove (or rename, when its inode
// shows up under another name in the same burst of events), mode/owner changed → chmod, else write.
import { closeSync, lstatSync, watch, type FSWatcher, type Stats } from "node:fs";
import { posix } from "node:path";
import { RpcError } from "./errors.ts";
import { at, listOpened, openDirAt } from "./sandbox-fs.ts";
import { entryInfo } from "./entry-info.ts";

export type WatchEventType = "EVENT_TYPE_CREATE" | "EVENT_TYPE_WRITE" | "EVENT_TYPE_REMOVE" | "EVENT_TYPE_RENAME" | "EVENT_TYPE_CHMOD";

/** envd's FilesystemEvent in proto3 JSON form. */
export interface WatchEvent {
  /** Relative to the watched folder (`nested/file.txt` in a recursive watch). */
  name: string;
  type: WatchEventType;
  entry?: Record<string, unknown>;
}

export interface WatchOptions {
  /** Sandbox path of the watched folder. */
  virtual: string;
  /** Its opened descriptor: the watcher owns (and closes) it. */
  fd: number;
  recursive: boolean;
  includeEntry: boolean;
  onEvent: (ev: WatchEvent) => void;
  /** The watch cannot go on (e.g. the folder cap was reached); the watcher is closed. */
  onError: (err: RpcError) => void;
}

/** At most this many folders watched at once by all watchers of the server. */
export const MAX_WATCHED_DIRS = 4096;
let watchedDirs = 0;

interface Known {
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  dir: boolean;
}

interface Folder {
  /** Relative path from the watched folder ("" for itself). */
  rel: string;
  fd: number;
  watcher: FSWatcher | undefined;
  known: Map<string, Known>;
}

const knownOf = (st: Stats): Known => ({ ino: st.ino, mode: st.mode, uid: st.uid, gid: st.gid, dir: st.isDirectory() });

const gone = (name: string, ino: number): Pending => ({ ev: { name, type: "EVENT_TYPE_REMOVE" }, ino, gone: true });

function lstatAt(fd: number, name: string): Stats | undefined {
  try {
    return lstatSync(at(fd, name));
  } catch {
    return undefined;
  }
}

/** An event of a burst; a `gone` name is a remove, or a rename when its inode was created too. */
type Pending = { ev: WatchEvent; ino: number; gone?: true };

export class DirWatcher {
  private readonly folders = new Map<string, Folder>();
  private queue: Array<{ folder: Folder; kind: string; name: string }> = [];
  private scheduled = false;
  private closed = false;
  private readonly opts: WatchOptions;

  constructor(opts: WatchOptions) {
    this.opts = opts;
    this.add("", opts.fd);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const rel of [...this.folders.keys()]) this.drop(rel);
  }

  private fail(err: RpcError): void {
    this.close();
    this.opts.onError(err);
  }

  /** Watches an opened folder (and, recursively, the folders in it). Takes the descriptor. */
  private add(rel: string, fd: number): void {
    if (this.folders.has(rel)) this.drop(rel); // replaced (its old descriptor is another folder)
    if (this.closed || watchedDirs >= MAX_WATCHED_DIRS) {
      closeSync(fd);
      if (this.closed) return;
      const err = new RpcError("resource_exhausted", `too many watched folders (at most ${MAX_WATCHED_DIRS} on this server)`);
      if (rel === "") throw err;
      this.fail(err);
      return;
    }
    watchedDirs++;
    const folder: Folder = { rel, fd, watcher: undefined, known: new Map() };
    this.folders.set(rel, folder);
    try {
      folder.watcher = watch(at(fd), { persistent: false, encoding: "utf8" }, (kind, name) => {
        if (name) this.enqueue(folder, kind, name);
      });
      folder.watcher.on("error", () => {
        if (this.folders.get(rel) === folder) this.drop(rel);
      });
    } catch (err) {
      this.drop(rel);
      if (rel === "") throw err;
      return;
    }
    let names: string[];
    try {
      names = listOpened(fd);
    } catch {
      names = []; // unreadable: watched, its current entries unknown
    }
    for (const name of names) {
      const st = lstatAt(fd, name);
      if (!st) continue;
      folder.known.set(name, knownOf(st));
      if (this.opts.recursive && st.isDirectory()) this.addChild(folder, name);
    }
  }

  private addChild(parent: Folder, name: string): void {
    let fd: number;
    try {
      fd = openDirAt(parent.fd, name); // O_NOFOLLOW: a link swapped in is refused
    } catch {
      return;
    }
    this.add(posix.join(parent.rel, name), fd);
  }

  /** Stops watching a folder and everything watched below it. */
  private drop(rel: string): void {
    for (const [key, folder] of [...this.folders]) {
      if (key !== rel && !(rel === "" || key.startsWith(rel + "/"))) continue;
      this.folders.delete(key);
      folder.watcher?.close();
      closeSync(folder.fd);
      watchedDirs--;
    }
  }

  private enqueue(folder: Folder, kind: string, name: string): void {
    if (this.closed || this.folders.get(folder.rel) !== folder) return;
    this.queue.push({ folder, kind, name });
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Turns one burst of fs.watch events into E2B's events, in order. */
  private flush(): void {
    this.scheduled = false;
    const batch = this.queue.splice(0);
    const out: Pending[] = [];
    for (const item of batch) {
      if (this.closed) return;
      if (this.folders.get(item.folder.rel) !== item.folder) continue; // dropped meanwhile
      try {
        this.observe(item.folder, item.kind, item.name, out);
      } catch {
        // a folder that cannot be watched any more: its events are lost, the watch goes on
      }
    }
    const created = new Set(out.filter((p) => p.ev.type === "EVENT_TYPE_CREATE").map((p) => p.ino));
    for (const p of out) {
      if (this.closed) return;
      if (p.gone && created.has(p.ino)) p.ev.type = "EVENT_TYPE_RENAME";
      this.opts.onEvent(p.ev);
    }
  }

  /** What happened to `name` in `folder`, from its state before and now. */
  private observe(folder: Folder, kind: string, name: string, out: Pending[]): void {
    const rel = posix.join(folder.rel, name);
    const before = folder.known.get(name);
    const st = lstatAt(folder.fd, name);
    if (!st) {
      if (!before) return; // came and went unseen
      folder.known.delete(name);
      if (before.dir) this.drop(rel);
      out.push(gone(rel, before.ino));
      return;
    }
    folder.known.set(name, knownOf(st));
    const event = (type: WatchEventType): Pending => {
      const ev: WatchEvent = { name: rel, type };
      if (this.opts.includeEntry) ev.entry = entryInfo(posix.join(this.opts.virtual, rel), at(folder.fd, name), st);
      return { ev, ino: st.ino };
    };
    if (!before || before.ino !== st.ino) {
      if (before) {
        if (before.dir) this.drop(rel);
        out.push(gone(rel, before.ino));
      }
      // Watch a new folder before its create is reported: what the client does next is seen.
      if (this.opts.recursive && st.isDirectory()) this.addChild(folder, name);
      out.push(event("EVENT_TYPE_CREATE"));
      return;
    }
    if (kind === "rename") return; // the same entry as before (a repeated event)
    const chmod = before.mode !== st.mode || before.uid !== st.uid || before.gid !== st.gid;
    out.push(event(chmod ? "EVENT_TYPE_CHMOD" : "EVENT_TYPE_WRITE"));
  }
}
