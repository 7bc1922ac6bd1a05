// How the sandbox server starts processes (local-sandbox/spawner.ts): spawner.py (posix_spawn from
// a small python3 process) and Node's child_process must give a child the same pipes, process
// group, exit report and errors; a server using either runs a sandbox's commands alike.
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { createServer } from "node:http";
import { afterAll, describe, expect, it } from "vitest";
import { Sandbox } from "e2b";
import { realPython } from "../../local-sandbox/isolation.ts";
import { makeSpawner, NodeSpawner, PosixSpawner, type Spawned, type Spawner } from "../../local-sandbox/spawner.ts";
import { startTestSandboxServer } from "../../local-sandbox/testing.ts";

const python = realPython();
const posix = python ? new PosixSpawner(python) : undefined;
const spawners: Spawner[] = [new NodeSpawner(), ...(posix ? [posix] : [])];
afterAll(() => spawners.forEach((s) => s.close()));

const ENV = { PATH: "/usr/bin:/bin" };

/** Runs a child to its "close": what it wrote, and its "exit" and "close" arguments in order. */
async function run(child: Spawned, stdin?: string): Promise<{ stdout: string; stderr: string; events: string[] }> {
  let stdout = "";
  let stderr = "";
  const events: string[] = [];
  child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  child.on("exit", (code, signal) => events.push(`exit ${code} ${signal}`));
  if (stdin !== undefined) child.stdin!.end(stdin);
  await new Promise<void>((done) => child.on("close", (code, signal) => (events.push(`close ${code} ${signal}`), done())));
  return { stdout, stderr, events };
}

describe.each(spawners.map((s) => [s.kind, s] as const))("%s spawner", (_kind, spawner) => {
  it("gives the child its stdin, stdout and stderr as pipes, and reports its exit after its output", async () => {
    const child = await spawner.spawn("sh", ["-c", 'read line; echo "got $line"; echo oops >&2; exit 3'], { cwd: "/tmp", env: ENV, stdio: ["pipe", "pipe", "pipe"], detached: true });
    expect(await run(child, "hello\n")).toEqual({ stdout: "got hello\n", stderr: "oops\n", events: ["exit 3 null", "close 3 null"] });
  });

  it("starts it in its own process group and working directory; a signal to the group is its end", async () => {
    const child = await spawner.spawn("sh", ["-c", 'echo "$(pwd) $(ps -o pgid= $$)"; exec sleep 60'], { cwd: "/usr", env: ENV, stdio: ["ignore", "pipe", "pipe"], detached: true });
    const out = new Promise<string>((resolve) => child.stdout!.once("data", (d: Buffer) => resolve(d.toString())));
    expect((await out).trim().split(/\s+/)).toEqual(["/usr", String(child.pid)]);
    process.kill(-child.pid, "SIGTERM");
    expect((await run(child)).events).toEqual(["exit null SIGTERM", "close null SIGTERM"]);
  });

  it("leaks no other child's pipes into a child", async () => {
    const fds = async () => (await run(await spawner.spawn("ls", ["/proc/self/fd"], { cwd: "/", env: ENV, stdio: ["ignore", "pipe", "pipe"], detached: true }))).stdout;
    const alone = await fds();
    const other = await spawner.spawn("sleep", ["60"], { cwd: "/", env: ENV, stdio: ["pipe", "pipe", "pipe"], detached: true });
    try {
      expect(await fds()).toBe(alone);
    } finally {
      process.kill(other.pid, "SIGKILL");
    }
  });

  it("reports the exit of a child whose background job keeps its stdout open, and closes once the job ends", async () => {
    const child = await spawner.spawn("sh", ["-c", "(sleep 0.3; echo late) & echo early"], { cwd: "/", env: ENV, stdio: ["ignore", "pipe", "pipe"], detached: true });
    expect(await run(child)).toEqual({ stdout: "early\nlate\n", stderr: "", events: ["exit 0 null", "close 0 null"] });
  });

  it("rejects, starting nothing, for a program that is not there or a working directory that is not", async () => {
    await expect(spawner.spawn("no-such-program-xyz", [], { cwd: "/", env: ENV, stdio: ["ignore", "pipe", "pipe"], detached: true })).rejects.toMatchObject({ code: "ENOENT" });
    await expect(spawner.spawn("true", [], { cwd: "/no/such/dir", env: ENV, stdio: ["ignore", "pipe", "pipe"], detached: true })).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("writes to a stdin nobody reads any more without harm", async () => {
    const child = await spawner.spawn("true", [], { cwd: "/", env: ENV, stdio: ["pipe", "pipe", "pipe"], detached: true });
    child.stdin?.on("error", () => {});
    await run(child);
    child.stdin?.write("nobody reads this\n");
  });
});

describe.skipIf(!posix)("spawner.py", () => {
  it("gives a child real pipes (as E2B's envd does) and nothing else the server's process holds", async () => {
    const child = await posix!.spawn("sh", ["-c", "[ -p /dev/stdin ] && [ -p /dev/stdout ] && [ -p /dev/stderr ] && ls /proc/self/fd"], { cwd: "/", env: ENV, stdio: ["pipe", "pipe", "pipe"], detached: true });
    // 0-2, and 3: the folder ls is reading.
    expect((await run(child, "")).stdout.split("\n").filter(Boolean)).toEqual(["0", "1", "2", "3"]);
  });

  it("ends with its server's process: its children with a death signal go with it and are reported ended; a new start fails clearly", async () => {
    const spawner = new PosixSpawner(python!);
    const child = await spawner.spawn("setpriv", ["--pdeathsig", "KILL", "--", "sleep", "60"], { cwd: "/", env: ENV, stdio: ["ignore", "pipe", "pipe"], detached: false });
    const ended = run(child);
    const helper = execFileSync("ps", ["-o", "ppid=", "-p", String(child.pid)], { encoding: "utf8" }).trim();
    process.kill(Number(helper), "SIGKILL");
    expect((await ended).events).toEqual(["exit null SIGKILL", "close null SIGKILL"]);
    await expect(spawner.spawn("true", [], { cwd: "/", env: ENV, stdio: ["ignore", "pipe", "pipe"], detached: false })).rejects.toThrow(/the process spawner ended/);
  });

  it("binds listening sockets in a network namespace without starting a process; they take that namespace's connections only", async () => {
    const ns = await posix!.spawn("unshare", ["--net", "sh", "-c", "ip link set lo up && echo up && exec sleep 60"], { cwd: "/", env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" }, stdio: ["ignore", "pipe", "pipe"], detached: true });
    await new Promise((up) => ns.stdout!.once("data", up));
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const [server] = await posix!.listenIn!(ns.pid, [{ host: "127.0.0.1", port }]);
    try {
      server!.on("connection", (s) => s.end("hello from the server\n"));
      // Not spawnSync: the server answers from this process's event loop.
      const dial = (...prefix: string[]) =>
        promisify(execFile)(prefix[0] ?? "bash", [...prefix.slice(1), ...(prefix.length ? ["bash"] : []), "-c", `exec 3<>/dev/tcp/127.0.0.1/${port} && cat <&3`], { encoding: "utf8", timeout: 10_000 });
      expect((await dial("nsenter", "-t", String(ns.pid), "-n", "--")).stdout).toBe("hello from the server\n");
      await expect(dial()).rejects.toThrow(/Connection refused/);
      await expect(posix!.listenIn!(ns.pid, [{ host: "127.0.0.1", port }])).rejects.toThrow(/in use/);
    } finally {
      server?.close();
      process.kill(-ns.pid, "SIGKILL");
    }
  });

  it("is what a server uses where python3 is installed; Node's child_process otherwise or when told, running a sandbox's commands alike", async () => {
    expect((await makeSpawner("auto", undefined, () => {})).kind).toBe("node");
    const logged: string[] = [];
    expect((await makeSpawner("auto", "/no/such/python3", (m) => logged.push(m))).kind).toBe("node");
    expect(logged.join()).toMatch(/spawner\.py failed/);
    // Forwarded into each sandbox: by spawner.py itself, or by a Node helper started in its namespace.
    const web = createServer((_, res) => res.end("hello through the forward\n"));
    await new Promise<void>((r) => web.listen(0, "127.0.0.1", r));
    const forwardHosts = [`127.0.0.1:${(web.address() as { port: number }).port}`];
    const servers = await Promise.all([startTestSandboxServer({ forwardHosts }), startTestSandboxServer({ spawner: "node", forwardHosts })]);
    try {
      const kinds = await Promise.all(servers.map(async (s) => ((await (await s.api("/admin/config")).json()) as { spawner: string }).spawner));
      expect(kinds).toEqual(["posix_spawn", "node"]);
      const seen = await Promise.all(
        servers.map(async (s) => {
          const sbx = await Sandbox.create("base", s.sdk);
          try {
            const out = await sbx.commands.run(`cat; echo; id -un; pwd; curl -s http://${forwardHosts[0]}/; exit 0`, { stdin: true, background: true });
            await sbx.commands.sendStdin(out.pid, "from stdin");
            await sbx.commands.closeStdin(out.pid);
            return (await out.wait()).stdout;
          } finally {
            await sbx.kill();
          }
        }),
      );
      expect(seen[0]).toBe("from stdin\nuser\n/home/user\nhello through the forward\n");
      expect(seen[1]).toBe(seen[0]);
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
      web.close();
    }
  });
});
