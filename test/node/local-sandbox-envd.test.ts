// envd emulation driven by the official e2b SDK: commands (streaming, exit codes, signals,
// deadlines, stdin, re-attach) and files (write/read/list/makeDir/remove/exists/rename).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommandExitError, FileNotFoundError, Sandbox, TimeoutError } from "e2b";
import { startTestSandboxServer, type TestSandboxServer } from "../../local-sandbox/testing.ts";

let t: TestSandboxServer;
let sbx: Sandbox;

beforeAll(async () => {
  t = await startTestSandboxServer();
  sbx = await Sandbox.create("base", { ...t.sdk, envs: { SANDBOX_LEVEL: "sbx" } });
});

afterAll(async () => {
  await sbx?.kill().catch(() => {});
  await t?.stop();
});

describe("commands", () => {
  it("runs a command, streams stdout in chunks and reports exit code 0", async () => {
    const chunks: string[] = [];
    const started = Date.now();
    const times: number[] = [];
    const result = await sbx.commands.run("for i in 1 2 3; do echo line$i; sleep 0.2; done; echo err >&2", {
      onStdout: (d) => {
        chunks.push(d);
        times.push(Date.now() - started);
      },
    });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe("line1\nline2\nline3\n");
    expect(result.stderr).toBe("err\n");
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    // incremental: the first chunk arrived well before the command finished
    expect(times[0]).toBeLessThan((times[times.length - 1] ?? 0) - 300);
  });

  it("runs in /home/user with HOME set and sandbox + per-command envs", async () => {
    const r = await sbx.commands.run('echo "$PWD|$HOME|$SANDBOX_LEVEL|$CMD_LEVEL"', { envs: { CMD_LEVEL: "cmd" } });
    expect(r.stdout.trim()).toBe("/home/user|/home/user|sbx|cmd");
    await sbx.files.makeDir("/home/user/sub");
    const r2 = await sbx.commands.run("pwd", { cwd: "/home/user/sub" });
    expect(r2.stdout.trim()).toBe("/home/user/sub");
  });

  it("raises CommandExitError with the exit code on failure", async () => {
    const err = await sbx.commands.run("echo out; echo bad >&2; exit 3").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandExitError);
    const e = err as CommandExitError;
    expect(e.exitCode).toBe(3);
    expect(e.stdout).toBe("out\n");
    expect(e.stderr).toBe("bad\n");
  });

  it("kills a background command by signal; wait() reports the kill", async () => {
    let sawOutput!: () => void;
    const output = new Promise<void>((r) => (sawOutput = r));
    const handle = await sbx.commands.run("echo started; sleep 30", { background: true, onStdout: () => sawOutput() });
    await output;
    const list = await sbx.commands.list();
    expect(list.map((p) => p.pid)).toContain(handle.pid);
    expect(await sbx.commands.kill(handle.pid)).toBe(true);
    const err = await handle.wait().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandExitError);
    expect((err as CommandExitError).exitCode).toBe(-1);
    expect((err as CommandExitError).error).toContain("signal: killed");
    expect(handle.stdout).toBe("started\n");
    // no longer listed, and killing again reports "not found"
    expect((await sbx.commands.list()).map((p) => p.pid)).not.toContain(handle.pid);
    expect(await sbx.commands.kill(handle.pid)).toBe(false);
  });

  it("enforces timeoutMs as the process deadline", async () => {
    // A deadline not enforced would let the command finish (after 20 s) and print "never".
    const err = await sbx.commands.run("sleep 20; echo never", { timeoutMs: 700 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    await new Promise((r) => setTimeout(r, 200));
    const ps = await sbx.commands.run("ps -eo args");
    expect(ps.stdout).not.toContain("sleep 20");
  });

  it("feeds stdin and closes it", async () => {
    const handle = await sbx.commands.run("cat", { background: true, stdin: true });
    await sbx.commands.sendStdin(handle.pid, "hello stdin\n");
    await sbx.commands.closeStdin(handle.pid);
    const result = await handle.wait();
    expect(result.stdout).toBe("hello stdin\n");
  });

  it("re-attaches to a running process with connect(), which survives a disconnect", async () => {
    const handle = await sbx.commands.run("sleep 0.6; echo done-after-disconnect", { background: true });
    await handle.disconnect();
    const again = await sbx.commands.connect(handle.pid);
    const result = await again.wait();
    expect(result.stdout).toContain("done-after-disconnect");
  });
});

describe("files", () => {
  it("writes, reads, lists, checks existence and removes", async () => {
    const info = await sbx.files.write("notes/a.txt", "hello world");
    expect(info.path).toBe("/home/user/notes/a.txt");
    expect(await sbx.files.read("/home/user/notes/a.txt")).toBe("hello world");
    expect(await sbx.files.exists("notes/a.txt")).toBe(true);
    expect(await sbx.files.exists("notes/missing.txt")).toBe(false);

    const entries = await sbx.files.list("/home/user/notes");
    expect(entries.map((e) => [e.name, e.type, e.size])).toEqual([["a.txt", "file", 11]]);
    const info2 = await sbx.files.getInfo("notes");
    expect(info2.type).toBe("dir");

    await sbx.files.remove("notes/a.txt");
    expect(await sbx.files.exists("notes/a.txt")).toBe(false);
    await expect(sbx.files.read("notes/a.txt")).rejects.toBeInstanceOf(FileNotFoundError);
  });

  it("makeDir reports false for an existing directory, and files written are visible to commands", async () => {
    expect(await sbx.files.makeDir("/home/user/d1/d2")).toBe(true);
    expect(await sbx.files.makeDir("/home/user/d1/d2")).toBe(false);
    await sbx.files.write("/home/user/d1/d2/x.sh", "echo from-file");
    const r = await sbx.commands.run("bash d1/d2/x.sh");
    expect(r.stdout).toBe("from-file\n");
    const deep = await sbx.files.list("/home/user/d1", { depth: 2 });
    expect(deep.map((e) => e.path)).toEqual(["/home/user/d1/d2", "/home/user/d1/d2/x.sh"]);
  });

  it("writes several files at once, binary content, and renames", async () => {
    await sbx.files.write([
      { path: "/home/user/multi/one.txt", data: "1" },
      { path: "/home/user/multi/two.txt", data: "22" },
    ]);
    expect((await sbx.files.list("/home/user/multi")).map((e) => e.name)).toEqual(["one.txt", "two.txt"]);
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    await sbx.files.write("/home/user/multi/bin", bytes.buffer);
    expect(Array.from(await sbx.files.read("/home/user/multi/bin", { format: "bytes" }))).toEqual([0, 1, 2, 250, 255]);
    const moved = await sbx.files.rename("/home/user/multi/one.txt", "/home/user/multi/moved/one.txt");
    expect(moved.path).toBe("/home/user/multi/moved/one.txt");
    expect(await sbx.files.read("/home/user/multi/moved/one.txt")).toBe("1");
  });

  it("accepts raw octet-stream uploads (gzip too) and reads /tmp", async () => {
    await sbx.files.write("/tmp/raw.txt", "raw body", { useOctetStream: true });
    expect(await sbx.files.read("/tmp/raw.txt")).toBe("raw body");
    await sbx.files.write("/tmp/gz.txt", "zipped body", { gzip: true });
    expect(await sbx.files.read("/tmp/gz.txt")).toBe("zipped body");
  });

  it("refuses paths outside /home/user and /tmp, including via .. and symlinks", async () => {
    await expect(sbx.files.write("/etc/forkyard-test", "x")).rejects.toThrow();
    await expect(sbx.files.write("/home/user/../../etc/forkyard-test", "x")).rejects.toThrow();
    await sbx.commands.run("ln -sfn /etc /home/user/etc-link");
    await expect(sbx.files.read("/home/user/etc-link/hostname")).rejects.toThrow();
    await expect(sbx.files.write("/home/user/etc-link/forkyard-test", "x")).rejects.toThrow();
    await expect(sbx.files.list("/")).rejects.toThrow();
    // a link inside the sandbox resolves in the sandbox's namespace
    await sbx.files.write("/home/user/target.txt", "via link");
    await sbx.commands.run("ln -sfn /home/user/target.txt /home/user/link.txt");
    expect(await sbx.files.read("/home/user/link.txt")).toBe("via link");
  });

  it("reading a directory is a 400 and a missing file a FileNotFoundError", async () => {
    await expect(sbx.files.read("/home/user")).rejects.toThrow(/directory/);
    await expect(sbx.files.read("/home/user/nope")).rejects.toBeInstanceOf(FileNotFoundError);
  });
});
