// PTY sessions and directory watching on the local sandbox server, through the official `e2b`
// SDK (issue 23 item 2; the E2B suite's tests/sandbox/pty/* and files/watch, scripts/e2b-sdk-tests.ts),
// and what a sandbox must not get from either: a terminal outside its isolation, a watcher
// following a link out of the sandbox or stalled by a FIFO.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FilesystemEventType, Sandbox, type FilesystemEvent } from "e2b";
import { useSandboxServer } from "../support/sandbox-server-suite.ts";

const suite = useSandboxServer();
let shared: Sandbox | undefined;

/** One sandbox for the file (each test works in folders of its own): namespaces start once. */
async function sandbox(): Promise<Sandbox> {
  shared ??= await suite.create({ timeoutMs: 120_000 });
  return shared;
}

/** Collected output, and a wait until it matches (no clock: resolves on the data that matches). */
function collector() {
  let text = "";
  let waiters: Array<{ re: RegExp; resolve: (m: RegExpMatchArray) => void }> = [];
  const check = () => {
    waiters = waiters.filter((w) => {
      const m = text.match(w.re);
      if (m) w.resolve(m);
      return !m;
    });
  };
  return {
    onData: (data: Uint8Array) => {
      text += new TextDecoder().decode(data);
      check();
    },
    get text() {
      return text;
    },
    until: (re: RegExp) =>
      new Promise<RegExpMatchArray>((resolve) => {
        waiters.push({ re, resolve });
        check();
      }),
  };
}

const input = (s: string) => new TextEncoder().encode(s);

describe("PTY", () => {
  it("echoes what is typed, runs it as the sandbox user on a terminal of the asked size, and reports a resize", async () => {
    const sbx = await sandbox();
    const out = collector();
    const term = await sbx.pty.create({ cols: 80, rows: 24, onData: out.onData, envs: { GREETING: "hi-from-env" } });
    await sbx.pty.sendInput(term.pid, input("echo typed-$GREETING; stty size; id -u; test -t 0 && echo tty-$((6 * 7))\n"));
    await out.until(/tty-42\r?\n/); // the output, not the echo of the input
    expect(out.text).toContain("echo typed-$GREETING"); // the terminal echoes the input
    expect(out.text).toContain("typed-hi-from-env");
    expect(out.text).toMatch(/\b24 80\r?\n/);
    expect(out.text).toMatch(/\b200000\r?\n/); // `user`, as any command: no way out of the isolation

    await sbx.pty.resize(term.pid, { cols: 100, rows: 30 });
    await sbx.pty.sendInput(term.pid, input("stty size; echo resized-$((6 * 7))\n"));
    await out.until(/resized-42\r?\n/);
    expect(out.text).toMatch(/\b30 100\r?\n/);

    await sbx.pty.sendInput(term.pid, input("exit 3\n"));
    const end = await term.wait().catch((e: { exitCode: number }) => e);
    expect(end.exitCode).toBe(3);
  });

  it("keeps a resize made right after create (the initial size is set before a resize can run)", async () => {
    const sbx = await sandbox();
    const out = collector();
    const term = await sbx.pty.create({ cols: 80, rows: 24, onData: out.onData });
    await sbx.pty.resize(term.pid, { cols: 101, rows: 31 });
    await sbx.pty.sendInput(term.pid, input("stty size; echo sized-$((6 * 7))\n"));
    await out.until(/sized-42\r?\n/);
    expect(out.text).toMatch(/\b31 101\r?\n/);
    await sbx.pty.kill(term.pid);
  });

  it("is killed by pty.kill, and a resize or kill of an unknown process is refused", async () => {
    const sbx = await sandbox();
    const term = await sbx.pty.create({ cols: 80, rows: 24, onData: () => {} });
    expect(await sbx.pty.kill(term.pid)).toBe(true);
    const end = await term.wait().catch((e: { exitCode: number; error?: string }) => e);
    expect(end.exitCode).toBe(-1);
    expect(await sbx.pty.kill(999_999)).toBe(false);
    const other = await sbx.pty.create({ cols: 80, rows: 24, onData: () => {} });
    await expect(sbx.pty.resize(other.pid, { cols: 0, rows: 24 })).rejects.toThrow(/pty\.size\.cols must be an integer/);
    await sbx.pty.kill(other.pid);
    await expect(sbx.pty.resize(999_999, { cols: 10, rows: 10 })).rejects.toThrow(/not found/);
  });
});

/** A Connect client stream body: one envelope per message. */
const envelopes = (...messages: unknown[]) =>
  Buffer.concat(
    messages.map((m) => {
      const data = Buffer.from(JSON.stringify(m));
      const head = Buffer.alloc(5);
      head.writeUInt32BE(data.length, 1);
      return Buffer.concat([head, data]);
    }),
  );

describe("StreamInput", () => {
  it("writes each data message of the client stream to the process's stdin, in order", async () => {
    const sbx = await sandbox();
    const out = collector();
    const cmd = await sbx.commands.run("cat", { background: true, stdin: true, onStdout: (s) => out.onData(input(s)) });
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    const res = await fetch(`${suite.server().sdk.sandboxUrl}/process.Process/StreamInput`, {
      method: "POST",
      headers: { "E2b-Sandbox-Id": sbx.sandboxId, "X-Access-Token": sbx["envdAccessToken"] as string, "Content-Type": "application/connect+json" },
      body: envelopes({ start: { process: { pid: cmd.pid } } }, { data: { input: { stdin: b64("one ") } } }, { keepalive: {} }, { data: { input: { stdin: b64("two\n") } } }),
    });
    expect(res.status).toBe(200);
    await out.until(/one two\n/);
    await cmd.kill();
  });
});

/** Events of a watch, and a wait until one matches (resolves on that event, no clock). */
function events() {
  const seen: FilesystemEvent[] = [];
  let waiters: Array<{ match: (e: FilesystemEvent) => boolean; resolve: () => void }> = [];
  return {
    seen,
    onEvent: (e: FilesystemEvent) => {
      seen.push(e);
      waiters = waiters.filter((w) => (w.match(e) ? (w.resolve(), false) : true));
    },
    until: (type: FilesystemEventType, name: string) =>
      new Promise<void>((resolve) => {
        const match = (e: FilesystemEvent) => e.type === type && e.name === name;
        if (seen.some(match)) resolve();
        else waiters.push({ match, resolve });
      }),
    /** The events as `type name`, repeats of the same event in a row folded (a write is one or more). */
    list: () => seen.map((e) => `${e.type} ${e.name}`).filter((s, i, all) => s !== all[i - 1]),
  };
}

describe("watchDir", () => {
  it("reports create, write, chmod, rename and remove in order, in nested folders when recursive, with entry info", async () => {
    const sbx = await sandbox();
    await sbx.files.makeDir("/home/user/w/sub");
    const ev = events();
    const handle = await sbx.files.watchDir("/home/user/w", ev.onEvent, { recursive: true, includeEntry: true });
    await sbx.files.write("/home/user/w/a.txt", "one");
    await ev.until(FilesystemEventType.WRITE, "a.txt");
    await sbx.files.write("/home/user/w/sub/b.txt", "two");
    await ev.until(FilesystemEventType.WRITE, "sub/b.txt");
    await sbx.files.makeDir("/home/user/w/sub/new");
    await ev.until(FilesystemEventType.CREATE, "sub/new"); // watched before it is reported
    await sbx.files.write("/home/user/w/sub/new/c.txt", "three");
    await ev.until(FilesystemEventType.WRITE, "sub/new/c.txt");
    await sbx.commands.run("chmod 600 /home/user/w/a.txt && mv /home/user/w/sub/b.txt /home/user/w/sub/b2.txt");
    await ev.until(FilesystemEventType.CREATE, "sub/b2.txt");
    await sbx.files.remove("/home/user/w/a.txt");
    await ev.until(FilesystemEventType.REMOVE, "a.txt");
    await handle.stop();

    // A file the file API creates is made by the server, then given to `user` (chmod), then written.
    expect(ev.list()).toEqual([
      "create a.txt", "chmod a.txt", "write a.txt",
      "create sub/b.txt", "chmod sub/b.txt", "write sub/b.txt",
      "create sub/new",
      "create sub/new/c.txt", "chmod sub/new/c.txt", "write sub/new/c.txt",
      "chmod a.txt",
      "rename sub/b.txt", "create sub/b2.txt",
      "remove a.txt",
    ]);
    const c = ev.seen.findLast((e) => e.name === "sub/new/c.txt" && e.type === FilesystemEventType.WRITE); // (the first: the truncate)
    expect([c?.entry?.path, c?.entry?.size, c?.entry?.owner]).toEqual(["/home/user/w/sub/new/c.txt", 5, "user"]);
  });

  it("only sees its own folder: not the nested ones unless recursive", async () => {
    const sbx = await sandbox();
    await sbx.files.makeDir("/home/user/flat/sub");
    const ev = events();
    const handle = await sbx.files.watchDir("/home/user/flat", ev.onEvent);
    await sbx.files.write("/home/user/flat/sub/hidden.txt", "x");
    await sbx.files.write("/home/user/flat/seen.txt", "y");
    await ev.until(FilesystemEventType.WRITE, "seen.txt");
    await handle.stop();
    expect(ev.seen.filter((e) => e.name.includes("hidden"))).toEqual([]);
  });

  it("has the polling API too: CreateWatcher, GetWatcherEvents (drained), RemoveWatcher", async () => {
    const sbx = await sandbox();
    const rpc = async (method: string, body: unknown) => {
      const res = await fetch(`${suite.server().sdk.sandboxUrl}/filesystem.Filesystem/${method}`, {
        method: "POST",
        headers: { "E2b-Sandbox-Id": sbx.sandboxId, "X-Access-Token": sbx["envdAccessToken"] as string, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    await sbx.files.makeDir("/home/user/polled");
    const created = await rpc("CreateWatcher", { path: "/home/user/polled" });
    const watcherId = created.body.watcherId as string;
    expect([created.status, typeof watcherId]).toEqual([200, "string"]);
    await sbx.commands.run("touch /home/user/polled/one");
    const seen: unknown[] = [];
    // The events are there as soon as the server has read them: poll (no clock) until they are.
    for (let i = 0; i < 500 && seen.length === 0; i++) {
      seen.push(...(((await rpc("GetWatcherEvents", { watcherId })).body.events as unknown[]) ?? []));
    }
    expect(seen).toEqual([{ name: "one", type: "EVENT_TYPE_CREATE" }, ...seen.slice(1)]);
    expect((await rpc("RemoveWatcher", { watcherId })).status).toBe(200);
    expect(await rpc("GetWatcherEvents", { watcherId })).toEqual({ status: 404, body: { code: "not_found", message: `watcher with id ${watcherId} not found` } });
    expect((await rpc("CreateWatcher", { path: "/home/user/nope" })).status).toBe(404);
  });

  it("does not follow a symlink to a host folder, and a FIFO does not stall it", async () => {
    const sbx = await sandbox();
    const hostDir = mkdtempSync(join(tmpdir(), "watch-host-"));
    try {
      await sbx.files.makeDir("/home/user/h");
      const ev = events();
      const handle = await sbx.files.watchDir("/home/user/h", ev.onEvent, { recursive: true, includeEntry: true });
      await sbx.commands.run(`ln -s ${hostDir} /home/user/h/escape && ln -s /usr /home/user/h/sys && mkfifo /home/user/h/pipe`);
      await ev.until(FilesystemEventType.CREATE, "pipe");
      writeFileSync(join(hostDir, "secret.txt"), "host"); // on the host, behind the link
      await sbx.files.write("/home/user/h/marker.txt", "m");
      await ev.until(FilesystemEventType.WRITE, "marker.txt");
      await handle.stop();
      expect(ev.seen.filter((e) => e.name !== "escape" && e.name !== "sys" && /^(escape|sys)\//.test(e.name))).toEqual([]);
      expect(ev.seen.find((e) => e.name === "escape")?.entry?.type).toBe("symlink");
    } finally {
      rmSync(hostDir, { recursive: true, force: true });
    }
  });
});
