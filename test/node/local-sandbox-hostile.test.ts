// Hostile code inside an isolated sandbox (the default mode on this machine: bwrap when installed,
// else unshare). Each test runs what a fork's task could run and checks that the host, the server
// and other sandboxes stay out of its reach, while what forks need (cloning from an allowed local
// git remote) still works.
import { execFileSync, spawn } from "node:child_process";
import { createServer, type Server } from "node:net";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommandExitError, Sandbox } from "e2b";
import { startTestSandboxServer, type TestSandboxServer } from "../../local-sandbox/testing.ts";
import { startTestGitHub, type GitHubServer } from "../support/github-server.ts";
import { createTestRepo } from "../support/test-repo.ts";

async function run(sbx: Sandbox, cmd: string): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  try {
    const r = await sbx.commands.run(cmd);
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    if (err instanceof CommandExitError) return { exitCode: err.exitCode, stdout: err.stdout, stderr: err.stderr };
    throw err;
  }
}

/** Connects from inside the sandbox with bash's /dev/tcp and sends one line; exit 0 = connected. */
const tcpProbe = (host: string, port: number) => `timeout 5 bash -c 'exec 3<>/dev/tcp/${host}/${port} && echo probe >&3'`;

const hostRoot = mkdtempSync(join(tmpdir(), "local-sandbox-hostile-"));
let t: TestSandboxServer;
let github: GitHubServer;
/** A listener on the host's loopback that no sandbox is allowed to reach (an inspector, the Worker...). */
let secretService: Server;
let secretPort: number;
const secretConnections: string[] = [];

beforeAll(async () => {
  const repo = createTestRepo(join(hostRoot, "repo"));
  github = await startTestGitHub(join(hostRoot, "github"), repo, "ghp_unused");
  secretService = createServer((s) => {
    secretConnections.push(String(s.remoteAddress));
    s.destroy();
  });
  await new Promise<void>((r) => secretService.listen(0, "127.0.0.1", r));
  secretPort = (secretService.address() as { port: number }).port;
  t = await startTestSandboxServer({ forwardHosts: [new URL(github.url).host] });
});

afterAll(async () => {
  await t?.stop();
  await github?.close();
  secretService?.close();
  rmSync(hostRoot, { recursive: true, force: true });
});

describe("network", () => {
  it("has its own loopback: the host's listeners, the control plane and private ranges are unreachable", async () => {
    const sbx = await Sandbox.create("base", t.sdk);
    expect((await run(sbx, tcpProbe("127.0.0.1", secretPort))).exitCode).not.toBe(0);
    const control = new URL(t.server.url);
    expect((await run(sbx, tcpProbe(control.hostname, Number(control.port)))).exitCode).not.toBe(0);
    expect((await run(sbx, `curl -s --max-time 5 ${t.server.url}/health`)).exitCode).not.toBe(0);
    expect((await run(sbx, tcpProbe("10.0.0.1", 80))).exitCode).not.toBe(0);
    expect((await run(sbx, tcpProbe("169.254.169.254", 80))).exitCode).not.toBe(0);
    // Its own loopback works: a server inside the sandbox is reachable from inside.
    const own = await run(sbx, `python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', ${secretPort})); s.listen(1); socket.create_connection(s.getsockname()); print('own loopback')"`);
    expect(own.stdout).toBe("own loopback\n");
    expect(secretConnections).toEqual([]);
    await sbx.kill();
  });

  it("reaches the host addresses the server forwards: clones over http from a local git remote", async () => {
    const sbx = await Sandbox.create("base", t.sdk);
    const clone = await run(sbx, `git clone -q ${github.url}/octo/hello.git hello && cat hello/counter.txt`);
    expect(clone).toMatchObject({ exitCode: 0, stdout: "0\n" });
    // Another sandbox, and the same one after a pause: forwarding comes with every namespace.
    await sbx.pause();
    const again = await Sandbox.connect(sbx.sandboxId, t.sdk);
    expect((await run(again, `git -C hello pull -q && echo pulled`)).stdout).toBe("pulled\n");
    await again.kill();
  });
});

describe("the control plane's key", () => {
  const WELL_KNOWN = "e2b_00000000000000000000000000000000000000ff";

  it("is random unless set: the well-known local key gets nothing, inside a sandbox or out", async () => {
    expect(t.server.apiKey).toMatch(/^e2b_[0-9a-f]{40}$/);
    expect(t.server.apiKey).not.toBe(WELL_KNOWN);
    const list = await fetch(`${t.server.url}/v2/sandboxes`, { headers: { "X-API-Key": WELL_KNOWN } });
    expect(list.status).toBe(401);
    await expect(startTestSandboxServer({ apiKey: WELL_KNOWN })).rejects.toThrow(/well-known/);
    const sbx = await Sandbox.create("base", t.sdk);
    const fromInside = await run(sbx, `curl -s --max-time 5 -H 'X-API-Key: ${WELL_KNOWN}' ${t.server.url}/v2/sandboxes`);
    expect(fromInside.exitCode).not.toBe(0);
    expect(fromInside.stdout).toBe("");
    await sbx.kill();
  });
});

describe("the server's own descriptors", () => {
  it("a command inherits none of what the server's starter left open (here a file at fd 300)", async () => {
    // The server as `npm run sandbox` starts it, from a shell that leaves one more descriptor open.
    const dataDir = join(hostRoot, "fds-data");
    const server = spawn("/bin/bash", ["-c", 'exec 300<"$0"; exec "$@"', join(hostRoot, "repo", "README.md"), process.execPath, join(import.meta.dirname, "..", "..", "local-sandbox", "main.ts")], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, SANDBOX_PORT: "0", SANDBOX_DATA_DIR: dataDir, E2B_API_KEY: "" },
    });
    try {
      let out = "";
      const started = await new Promise<{ url: string; apiKey: string }>((resolve, reject) => {
        server.stdout!.on("data", (d: Buffer) => {
          out += d.toString();
          const url = /listening on (\S+)/.exec(out)?.[1];
          const apiKey = /^E2B_API_KEY=(\S+)$/m.exec(out)?.[1];
          if (url && apiKey) resolve({ url, apiKey });
        });
        server.once("exit", (code) => reject(new Error(`the server exited (${code}): ${out}`)));
      });
      const sbx = await Sandbox.create("base", { apiKey: started.apiKey, apiUrl: started.url, sandboxUrl: started.url });
      // The shell's open descriptors, each with what it is (the glob's own directory is gone by then).
      const fds = await run(sbx, 'for f in /proc/$$/fd/*; do [ -e "$f" ] && echo "${f##*/} $(readlink "$f")"; done');
      const open = fds.stdout.split("\n").filter(Boolean);
      expect(open.map((line) => Number(line.split(" ")[0])).sort(), open.join("; ")).toEqual([0, 1, 2]);
      await sbx.kill();
    } finally {
      // A server that already exited (its start failed) has nothing left to wait for.
      if (server.exitCode === null && server.signalCode === null) {
        const exited = new Promise((r) => server.once("exit", r));
        server.kill("SIGTERM");
        await exited;
      }
    }
  });
});

describe("the sandbox user", () => {
  it("runs commands as `user` (uid 200000), not root: /etc/shadow is unreadable, and host files are owned by that uid", async () => {
    const sbx = await Sandbox.create("base", t.sdk);
    expect((await run(sbx, "id -u; id -g; id -un; id -G")).stdout).toBe("200000\n200000\nuser\n200000\n");
    expect(await run(sbx, "cat /etc/shadow")).toMatchObject({ exitCode: 1, stdout: "" });
    const home = join(t.server.dataDir, sbx.sandboxId, "home");
    await run(sbx, "echo cmd > /home/user/by-cmd.txt");
    expect(statSync(join(home, "by-cmd.txt")).uid).toBe(200000);
    // Files and folders the envd file API makes belong to the user too: commands can change them.
    await sbx.files.write("/home/user/api/new/a.txt", "api\n");
    await sbx.files.makeDir("/home/user/made/deep");
    for (const p of ["api", "api/new", "api/new/a.txt", "made", "made/deep"]) expect(statSync(join(home, p)).uid).toBe(200000);
    expect((await run(sbx, "echo more >> api/new/a.txt && touch made/deep/f api/new/b && cat api/new/a.txt")).stdout).toBe("api\nmore\n");
    await sbx.kill();
  });

  it("has `sudo` as E2B's images do, as root of a user namespace of its own: uid 0 there, nothing more on the host", async () => {
    const sbx = await Sandbox.create("base", t.sdk);
    expect(await run(sbx, "sudo id -u && sudo -E -u root whoami && sudo -u user id -un")).toMatchObject({ exitCode: 0, stdout: "0\nroot\nuser\n" });
    // A command's env var does not reach the next command, sudo or not (E2B's envVars test).
    expect((await run(sbx, 'sudo echo "[$FOO]"')).stdout).toBe("[]\n");
    expect(await run(sbx, "sudo cat /etc/shadow")).toMatchObject({ exitCode: 1, stdout: "" });
    for (const cmd of ["sudo touch /etc/from-sudo", "sudo touch /usr/bin/from-sudo", "sudo mount -o remount,rw /", "sudo cp /bin/sh /.local-sandbox/bin/sudo"]) {
      expect((await run(sbx, cmd)).exitCode, cmd).not.toBe(0);
    }
    expect(await run(sbx, "sudo -u nobody id")).toMatchObject({ exitCode: 1 });
    // What sudo writes in the sandbox's own folders belongs to `user` on the host.
    await run(sbx, "sudo touch /home/user/by-sudo");
    expect(statSync(join(t.server.dataDir, sbx.sandboxId, "home", "by-sudo")).uid).toBe(200000);
    await sbx.kill();
  });
});

describe("the envd file API", () => {
  // Exchanges /home/user/swap (a directory) and /home/user/link (a symlink to a host folder) with
  // renameat2(RENAME_EXCHANGE), as fast as it can: `swap` always exists, and is a directory one
  // instant and a link out of the sandbox the next. At the lowest priority: it spins on a core for
  // the whole test, and the rest of the suite comes first (still thousands of swaps a second).
  const SWAPPER = `nice -n 19 python3 -c "
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
print('swapping', flush=True)
while True:
    libc.renameat2(-100, b'swap', -100, b'link', 2)
"`;

  it("never follows a symlink swapped in during an operation out of the sandbox", async () => {
    const host = join(hostRoot, "host-folder");
    mkdirSync(join(host, "sub"), { recursive: true });
    writeFileSync(join(host, "victim.txt"), "HOST SECRET\n");
    writeFileSync(join(host, "host-only.txt"), "x");
    const before = readdirSync(host).sort();
    const sbx = await Sandbox.create("base", t.sdk);
    await run(sbx, `mkdir -p swap/sub && echo sandbox > swap/victim.txt && ln -s ${host} link`);
    let swapping!: () => void;
    const started = new Promise<void>((r) => (swapping = r));
    const swapper = await sbx.commands.run(SWAPPER, { background: true, onStdout: () => swapping() });
    await started;
    const seen: string[] = [];
    const attempt = async (op: () => Promise<unknown>) => {
      try {
        const out = await op();
        seen.push(typeof out === "string" ? out : JSON.stringify(out));
      } catch {
        // losing the race is fine; leaving the sandbox is not
      }
    };
    for (let i = 0; i < 40; i++) {
      await Promise.all([
        attempt(() => sbx.files.read("/home/user/swap/victim.txt")),
        attempt(() => sbx.files.list("/home/user/swap")),
        attempt(() => sbx.files.write(`/home/user/swap/written-${i}.txt`, "from the API")),
        attempt(() => sbx.files.makeDir(`/home/user/swap/made-${i}`)),
        attempt(() => sbx.files.rename("/home/user/swap/sub", `/home/user/moved-${i}`)),
        attempt(() => sbx.files.remove("/home/user/swap/victim.txt")),
        attempt(() => sbx.files.getInfo("/home/user/swap/host-only.txt")),
      ]);
      await run(sbx, "mkdir -p swap/sub link/sub 2>/dev/null; echo sandbox > swap/victim.txt; true");
    }
    await swapper.kill();
    expect(readdirSync(host).sort()).toEqual(before);
    expect(readFileSync(join(host, "victim.txt"), "utf8")).toBe("HOST SECRET\n");
    expect(seen.join("\n")).not.toContain("HOST SECRET");
    expect(seen.join("\n")).not.toContain("host-only");
    await sbx.kill();
    // A bound for a loaded machine (each round starts a command in the sandbox), not a timing.
  }, 180_000);

  it("refuses FIFOs at once, several at a time, while other file operations go on", async () => {
    const sbx = await Sandbox.create("base", t.sdk);
    await run(sbx, "mkfifo /home/user/p1 /home/user/p2 /home/user/p3 /home/user/p4 /tmp/p5 && ln -s /home/user/p1 /home/user/to-fifo");
    const fifoOps = [
      ...["p1", "p2", "p3", "p4", "to-fifo"].map((p) => sbx.files.read(`/home/user/${p}`)),
      sbx.files.read("/tmp/p5"),
      sbx.files.write("/home/user/p2", "into a fifo"),
    ].map((p) => p.then(() => "answered", (err: Error) => err.message));
    await sbx.files.write("/home/user/ok.txt", "fine");
    expect(await sbx.files.read("/home/user/ok.txt")).toBe("fine");
    const answers = await Promise.all(fifoOps);
    for (const a of answers) expect(a).toMatch(/not a regular file/);
    expect(await sbx.files.read("/home/user/ok.txt")).toBe("fine");
    await sbx.kill();
  });
});

describe("resource limits", () => {
  let limited: TestSandboxServer;
  beforeAll(async () => {
    limited = await startTestSandboxServer({ limits: { memoryMB: 128, pids: 96, cpus: 1 } });
  });
  afterAll(async () => {
    await limited?.stop();
  });

  it("a fork bomb stops at the sandbox's process limit, and only that sandbox", async () => {
    const bomb = await Sandbox.create("base", limited.sdk);
    const other = await Sandbox.create("base", limited.sdk);
    // The limit first, safely: 200 processes cannot all start.
    const many = await run(bomb, `python3 -c "
import os, signal
n = 0
try:
    while n < 200:
        if os.fork() == 0:
            signal.pause()
        n += 1
except OSError as e:
    print('fork', n, 'failed:', e.strerror)"`);
    expect(many.stdout).toMatch(/^fork \d+ failed: Resource temporarily unavailable$/m);
    await bomb.kill();
    const bomb2 = await Sandbox.create("base", limited.sdk);
    // The classic bomb for 3 s (how far it gets in that time depends on the machine's load; the
    // limit itself is shown above): it ends, and its processes live on in their sandbox only.
    const out = await run(bomb2, `timeout -s KILL 3 bash -c 'f() { f | f & }; f; wait' >/dev/null 2>&1; echo ended`);
    expect(out.stdout).toBe("ended\n");
    // The others work, and so does the host.
    expect((await run(other, "echo alive")).stdout).toBe("alive\n");
    expect(execFileSync("sh", ["-c", "echo host"], { encoding: "utf8" })).toBe("host\n");
    await bomb2.kill();
    const fresh = await Sandbox.create("base", limited.sdk);
    expect((await run(fresh, "echo fresh")).stdout).toBe("fresh\n");
    await fresh.kill();
    await other.kill();
  });

  it("a memory hog is killed in its sandbox with a clear error; the others go on", async () => {
    const hog = await Sandbox.create("base", limited.sdk);
    const other = await Sandbox.create("base", limited.sdk);
    const err = await hog.commands.run(`python3 -c "b = b'x' * (400 << 20)"`).then(
      () => undefined,
      (e: unknown) => e as CommandExitError,
    );
    expect(err).toBeInstanceOf(CommandExitError);
    expect(err?.error).toMatch(/out of memory: the sandbox reached its memory limit \(128 MiB\)/);
    expect((await run(hog, "echo still here")).stdout).toBe("still here\n");
    expect((await run(other, "echo alive")).stdout).toBe("alive\n");
    await hog.kill();
    await other.kill();
  });
});
