// How the sandbox server starts processes (commands, namespace holders): through spawner.py, one
// long-lived python3 process that starts each with posix_spawn, or with Node's child_process where
// there is no python3 (or SANDBOX_SPAWNER=node). Node forks the server to start a child, copying
// its page tables: measured here ~16 ms of CPU per start at the server's size, ~1 ms through the
// spawner. Both give the same `Spawned` child: a pid, its pipes as streams, "exit" then "close".
import { spawn, type ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { constants, openSync } from "node:fs";
import { Socket, type Server } from "node:net";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";

export type SpawnerKind = "posix_spawn" | "node";

export interface SpawnOptions {
  cwd: string;
  env: Record<string, string>;
  /** One entry per descriptor from 0: a pipe (stdin's is written, the others read) or /dev/null. */
  stdio: ("pipe" | "ignore")[];
  /** A session and process group of its own (signals reach its tree through kill(-pid)). */
  detached: boolean;
}

/** A started child, with the events of Node's ChildProcess: "exit" (code, signal), then "close" once its pipes are drained. */
export interface Spawned extends EventEmitter {
  readonly pid: number;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  readonly stdio: readonly (Readable | Writable | null | undefined)[];
}

export interface Spawner {
  readonly kind: SpawnerKind;
  /** Rejects (ENOENT, a missing cwd, …) when nothing was started. */
  spawn(file: string, args: string[], options: SpawnOptions): Promise<Spawned>;
  /**
   * Listening sockets bound at `addresses` in the network namespace of init `pid`, in their order,
   * made without starting a process (spawner.py only; isolation/forward.ts starts a helper otherwise).
   */
  listenIn?(pid: number, addresses: { host: string; port: number }[]): Promise<Server[]>;
  close(): void;
}

/** Node's child_process: the fallback without python3. */
export class NodeSpawner implements Spawner {
  readonly kind = "node";

  spawn(file: string, args: string[], options: SpawnOptions): Promise<Spawned> {
    const child: ChildProcess = spawn(file, args, { cwd: options.cwd, env: options.env, detached: options.detached, stdio: options.stdio });
    if (child.pid !== undefined) return Promise.resolve(child as ChildProcess & Spawned);
    return new Promise((_, reject) => child.once("error", reject));
  }

  close(): void {}
}

const HELPER = join(import.meta.dirname, "spawner.py");

type Answer =
  | { id: number; pid: number; fds: (number | null)[] }
  | { id: number; error: string; message: string }
  | { exit: number; code: number | null; signal: NodeJS.Signals | null }
  | { listen: number; count: number }
  | { listen: number; error: string };

/** A listenIn request: its sockets arrive over the IPC channel, its count (or error) on stdout, in either order. */
interface Listening {
  servers: Server[];
  count?: number;
  resolve: (servers: Server[]) => void;
  reject: (err: Error) => void;
}

/** A child started by spawner.py. */
class HelperChild extends EventEmitter implements Spawned {
  readonly stdio: (Readable | Writable | null)[];
  #exit: [number | null, NodeJS.Signals | null] | undefined;
  #open: number;

  readonly pid: number;

  constructor(pid: number, stdio: (Readable | Writable | null)[]) {
    super();
    this.pid = pid;
    this.stdio = stdio;
    const readers = stdio.filter((s, i) => i > 0 && s !== null) as Readable[];
    this.#open = readers.length;
    for (const r of readers) r.once("close", () => (--this.#open, this.#closeIfDone()));
  }

  get stdin(): Writable | null {
    return this.stdio[0] as Writable | null;
  }
  get stdout(): Readable | null {
    return (this.stdio[1] ?? null) as Readable | null;
  }
  get stderr(): Readable | null {
    return (this.stdio[2] ?? null) as Readable | null;
  }

  exited(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#exit) return;
    this.#exit = [code, signal];
    this.emit("exit", code, signal);
    this.#closeIfDone();
  }

  #closeIfDone(): void {
    if (!this.#exit || this.#open > 0) return;
    this.#open = -1;
    this.emit("close", ...this.#exit);
  }
}

/** spawner.py: one python3 process starting every child with posix_spawn. */
export class PosixSpawner implements Spawner {
  readonly kind = "posix_spawn";
  readonly #helper: ChildProcess;
  readonly #pending = new Map<number, { resolve: (c: Spawned) => void; reject: (e: Error) => void; options: SpawnOptions }>();
  readonly #children = new Map<number, HelperChild>();
  readonly #listening = new Map<number, Listening>();
  #nextId = 1;
  #gone: Error | undefined;

  constructor(python: string) {
    // The IPC channel carries listening sockets (listenIn) from the helper to this process.
    this.#helper = spawn(python, ["-I", "-S", HELPER], { stdio: ["pipe", "pipe", "inherit", "ipc"] });
    this.#helper.stdin!.on("error", () => {});
    this.#helper.on("message", (message: { listen?: number; index?: number }, server?: Server) => {
      const listening = message.listen === undefined ? undefined : this.#listening.get(message.listen);
      if (!listening || !server || message.index === undefined) return void server?.close();
      listening.servers[message.index] = server;
      this.#settle(message.listen!, listening);
    });
    let buffered = "";
    this.#helper.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      const lines = (buffered + chunk).split("\n");
      buffered = lines.pop()!;
      for (const line of lines) if (line) this.#answer(JSON.parse(line) as Answer);
    });
    this.#helper.on("exit", (code, signal) => this.#fail(new Error(`the process spawner ended (${signal ?? code})`)));
    this.#helper.on("error", (err) => this.#fail(err));
  }

  spawn(file: string, args: string[], options: SpawnOptions): Promise<Spawned> {
    if (this.#gone) return Promise.reject(this.#gone);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, options });
      this.#helper.stdin!.write(`${JSON.stringify({ id, file, args, env: options.env, cwd: options.cwd, stdio: options.stdio, detached: options.detached })}\n`);
    });
  }

  listenIn(pid: number, addresses: { host: string; port: number }[]): Promise<Server[]> {
    if (this.#gone) return Promise.reject(this.#gone);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#listening.set(id, { servers: [], resolve, reject });
      this.#helper.stdin!.write(`${JSON.stringify({ listen: id, pid, addresses: addresses.map((a) => [a.host, a.port]) })}\n`);
    });
  }

  close(): void {
    this.#helper.stdin!.end();
    this.#helper.disconnect?.();
  }

  #settle(id: number, listening: Listening): void {
    if (listening.count === undefined || listening.servers.filter(Boolean).length < listening.count) return;
    this.#listening.delete(id);
    listening.resolve(listening.servers);
  }

  #answer(answer: Answer): void {
    if ("listen" in answer) {
      const listening = this.#listening.get(answer.listen);
      if (!listening) return;
      if ("error" in answer) {
        this.#listening.delete(answer.listen);
        for (const server of listening.servers) server?.close();
        listening.reject(new Error(answer.error));
        return;
      }
      listening.count = answer.count;
      this.#settle(answer.listen, listening);
      return;
    }
    if ("exit" in answer) {
      const child = this.#children.get(answer.exit);
      this.#children.delete(answer.exit);
      // Its start's answer may have come in the same chunk: its promise's callbacks (which attach
      // the listeners) run first, as after Node's spawn() returns.
      if (child) setImmediate(() => child.exited(answer.code, answer.signal));
      return;
    }
    const pending = this.#pending.get(answer.id);
    this.#pending.delete(answer.id);
    if (!pending) return;
    if ("error" in answer) {
      pending.reject(Object.assign(new Error(answer.message), { code: answer.error }));
      return;
    }
    const stdio = answer.fds.map((fd, i) => (fd === null ? null : this.#reopen(fd, i === 0)));
    this.#helper.stdin!.write(`${JSON.stringify({ release: answer.id })}\n`);
    const child = new HelperChild(answer.pid, stdio);
    this.#children.set(answer.pid, child);
    pending.resolve(child);
  }

  /** This process's own descriptor for the spawner's end of a pipe (see spawner.py). */
  #reopen(fd: number, write: boolean): Socket | null {
    const path = `/proc/${this.#helper.pid}/fd/${fd}`;
    try {
      const own = openSync(path, (write ? constants.O_WRONLY : constants.O_RDONLY) | constants.O_NONBLOCK);
      return new Socket({ fd: own, readable: !write, writable: write });
    } catch {
      // A stdin whose child already ended (no reader: ENXIO): a closed stdin.
      return null;
    }
  }

  #fail(err: Error): void {
    this.#gone ??= err;
    for (const { reject } of this.#pending.values()) reject(err);
    this.#pending.clear();
    for (const { reject, servers } of this.#listening.values()) {
      for (const server of servers) server?.close();
      reject(err);
    }
    this.#listening.clear();
    // Its children had its parent-death signal or their own: report them ended.
    for (const child of this.#children.values()) child.exited(null, "SIGKILL");
    this.#children.clear();
  }
}

export const SPAWNER_MODES = ["auto", "node"] as const;
export type SpawnerMode = (typeof SPAWNER_MODES)[number];

/**
 * `auto`: spawner.py with `python` (the real interpreter, isolation.ts realPython) once it has
 * started a first process; Node's child_process without python3, when that fails, or for `node`.
 */
export async function makeSpawner(mode: SpawnerMode, python: string | undefined, log: (msg: string) => void): Promise<Spawner> {
  if (mode === "node" || !python) return new NodeSpawner();
  const spawner = new PosixSpawner(python);
  try {
    const probe = await spawner.spawn("/bin/true", [], { cwd: "/", env: {}, stdio: ["ignore", "ignore", "ignore"], detached: false });
    await new Promise((done) => probe.once("exit", done));
    return spawner;
  } catch (err) {
    spawner.close();
    log(`processes start with Node's child_process: spawner.py failed (${(err as Error).message})`);
    return new NodeSpawner();
  }
}
