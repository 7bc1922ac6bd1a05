// Isolation of local sandboxes, in every isolated mode this machine offers: bwrap when installed,
// unshare (util-linux, root) always here. Each mode must confine a sandbox to its view and show
// the SDK the same things. CI runs the suite once with bwrap and once with it masked; when
// FORKYARD_EXPECT_ISOLATION is set, the default mode must be that one.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommandExitError, Sandbox } from "e2b";
import { startTestSandboxServer, type TestSandboxServer } from "../../local-sandbox/testing.ts";
import { findOnPath, type IsolationKind } from "../../local-sandbox/isolation.ts";
import { sandboxView, type MountInput } from "../../local-sandbox/isolation/view.ts";

const ROOT = resolve(import.meta.dirname, "..", "..");

/** Makes a small git repository on the host. */
function makeHostRepo(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", ...args], { cwd: dir, stdio: "pipe" });
  git("init", "-q", "-b", "main");
  writeFileSync(join(dir, "README.md"), "hello from the host repo\n");
  git("add", ".");
  git("commit", "-q", "-m", "initial");
  return dir;
}

async function exitCodeOf(sbx: Sandbox, cmd: string): Promise<number> {
  try {
    return (await sbx.commands.run(cmd)).exitCode;
  } catch (err) {
    if (err instanceof CommandExitError) return err.exitCode;
    throw err;
  }
}

const hostPs = () => execFileSync("ps", ["-eo", "args"], { encoding: "utf8" });

// Host layout of the tests: an exposed folder holding a repo, a "state dir" with a secrets file
// (hidden, as npm start hides STATE_DIR) and the server's data dir; a private file outside it.
const hostRoot = mkdtempSync(join(tmpdir(), "local-sandbox-iso-"));
const exposed = join(hostRoot, "exposed");
const exposedRepo = join(exposed, "repo");
const stateDir = join(exposed, "state");
const secretFile = join(stateDir, "forkyard.env");
const dataDir = join(exposed, "sandboxes");
const privateFile = join(hostRoot, "host-only.txt");

const modes: IsolationKind[] = findOnPath("bwrap") ? ["bwrap", "unshare"] : ["unshare"];
const servers = new Map<IsolationKind, TestSandboxServer>();
let auto: TestSandboxServer;

beforeAll(async () => {
  makeHostRepo(exposedRepo);
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(secretFile, 'GITHUB_TOKEN="ghp_secret"\n', { mode: 0o600 });
  writeFileSync(privateFile, "host secret\n");
  for (const mode of modes) {
    servers.set(mode, await startTestSandboxServer({ isolation: mode, dataDir: join(dataDir, mode), exposePaths: [exposed], hidePaths: [stateDir] }));
  }
  auto = await startTestSandboxServer({ dataDir: join(dataDir, "auto"), exposePaths: [exposed] });
});

afterAll(async () => {
  for (const s of servers.values()) await s.stop();
  await auto?.stop();
  rmSync(hostRoot, { recursive: true, force: true });
});

describe("the default isolation", () => {
  it("is unshare as root (bwrap without root): never silently none", () => {
    expect(auto.server.isolation).toBe(process.getuid?.() === 0 ? "unshare" : modes[0]);
    if (process.env.FORKYARD_EXPECT_ISOLATION) expect(auto.server.isolation).toBe(process.env.FORKYARD_EXPECT_ISOLATION);
  });
});

describe.each(modes)("%s isolation", (mode) => {
  const t = () => servers.get(mode)!;

  it("sees system folders and exposed paths only: not the checkout, the state dir, other sandboxes or host files", async () => {
    const a = await Sandbox.create("base", t().sdk);
    const b = await Sandbox.create("base", t().sdk);
    const top = (await a.commands.run("ls -A /")).stdout.trim().split("\n");
    // (/bin, /lib… are the host's links into /usr; the exposed folder lies in the sandbox's own /tmp;
    // /.local-sandbox holds `sudo`)
    expect(top.filter((d) => !["bin", "sbin", "lib", "lib32", "lib64", "libx32"].includes(d)).sort()).toEqual(
      [".local-sandbox", "dev", "etc", "home", "opt", "proc", "root", "tmp", "usr", "var"].filter((d) => d !== "opt" || existsSync("/opt")),
    );
    expect(await exitCodeOf(a, `cat ${secretFile}`)).not.toBe(0);
    expect((await a.commands.run(`ls -A ${stateDir} | wc -l`)).stdout.trim()).toBe("0");
    expect(await exitCodeOf(a, `test -e ${ROOT}/package.json`)).toBe(1);
    expect(await exitCodeOf(a, `test -e ${privateFile}`)).toBe(1);
    expect(await exitCodeOf(a, `ls ${t().server.dataDir}/${b.sandboxId}`)).not.toBe(0);
    expect((await a.commands.run(`cat ${exposedRepo}/README.md`)).stdout).toBe("hello from the host repo\n");
    expect((await a.commands.run("ls -A /root | wc -l")).stdout.trim()).toBe("0");
    await a.kill();
    await b.kill();
  });

  it("cannot write the host: /etc, the root, exposed paths are read-only; /home/user and /tmp are its own", async () => {
    const a = await Sandbox.create("base", t().sdk);
    const b = await Sandbox.create("base", t().sdk);
    expect(await exitCodeOf(a, "echo x > /etc/forkyard")).not.toBe(0);
    expect(existsSync("/etc/forkyard")).toBe(false);
    expect(await exitCodeOf(a, "touch /escape")).not.toBe(0);
    expect(await exitCodeOf(a, `touch ${exposedRepo}/written-from-sandbox`)).not.toBe(0);
    expect(existsSync(join(exposedRepo, "written-from-sandbox"))).toBe(false);
    expect(await exitCodeOf(a, "mount -o remount,rw / 2>/dev/null")).not.toBe(0);
    expect(await exitCodeOf(a, "grep -q '^CapEff:[[:space:]]*0*$' /proc/self/status")).toBe(0);
    await a.commands.run("echo from-a > /tmp/private.txt && echo home > /home/user/ok.txt");
    expect(await a.files.read("/tmp/private.txt")).toBe("from-a\n");
    expect(await a.files.read("/home/user/ok.txt")).toBe("home\n");
    expect(await exitCodeOf(b, "test -e /tmp/private.txt")).toBe(1);
    expect(existsSync(join(tmpdir(), "private.txt"))).toBe(false);
    await a.kill();
    await b.kill();
  });

  it("has its own PID namespace: host processes and their environments are invisible", async () => {
    const sbx = await Sandbox.create("base", t().sdk);
    const ps = (await sbx.commands.run("ps -eo pid,args")).stdout;
    expect(ps).not.toMatch(/node|vitest|workerd/);
    expect(ps.trim().split("\n").length).toBeLessThan(10);
    expect(await exitCodeOf(sbx, `grep -l E2B_API_KEY /proc/[0-9]*/environ 2>/dev/null`)).not.toBe(0);
    await sbx.kill();
  });

  it("kills the command's process group; nothing survives the sandbox (not even setsid'd children)", async () => {
    const sbx = await Sandbox.create("base", t().sdk);
    const marker = 900 + Math.floor(Math.random() * 90);
    const handle = await sbx.commands.run(`sleep ${marker}.1 & setsid sleep ${marker}.2 & sleep ${marker}.3; wait`, { background: true });
    const running = () => [1, 2, 3].every((n) => new RegExp(`^sleep ${marker}\\.${n}$`, "m").test(hostPs()));
    for (let i = 0; i < 50 && !running(); i++) await new Promise((r) => setTimeout(r, 100));
    expect(running()).toBe(true);
    await handle.kill();
    await handle.wait().catch(() => {});
    await new Promise((r) => setTimeout(r, 300));
    const after = hostPs();
    expect(after).not.toContain(`sleep ${marker}.1`);
    expect(after).not.toContain(`sleep ${marker}.3`);
    // A setsid'd child left the command's group: like in a VM it lives on in a shared sandbox
    // namespace (and dies with a per-process namespace); killing the sandbox always ends it.
    expect(after.includes(`sleep ${marker}.2`)).toBe(t().server.sharedNamespace);
    await sbx.kill();
    await new Promise((r) => setTimeout(r, 300));
    expect(hostPs()).not.toContain(`sleep ${marker}.`);
  });

  it("keeps `cmd &` jobs across commands in one namespace and a pause with memory, and stops them on a files-only pause", async () => {
    const sbx = await Sandbox.create("base", t().sdk);
    const marker = `${800 + Math.floor(Math.random() * 99)}.7`;
    await sbx.commands.run(`nohup sleep ${marker} >/dev/null 2>&1 &`);
    expect((await sbx.commands.run("ps -eo args")).stdout).toContain(`sleep ${marker}`);
    const other = await Sandbox.create("base", t().sdk);
    expect((await other.commands.run("ps -eo args")).stdout).not.toContain(`sleep ${marker}`);
    await sbx.pause();
    const thawed = await Sandbox.connect(sbx.sandboxId, t().sdk);
    expect((await thawed.commands.run("ps -eo args")).stdout).toContain(`sleep ${marker}`);
    await sbx.pause({ keepMemory: false });
    await new Promise((r) => setTimeout(r, 200));
    expect(hostPs()).not.toContain(`sleep ${marker}`);
    const resumed = await Sandbox.connect(sbx.sandboxId, t().sdk);
    expect((await resumed.commands.run("echo back")).stdout).toBe("back\n");
    await resumed.kill();
    await other.kill();
  });

  it("runs git: init and commit in /home/user, clone an exposed repo", async () => {
    const sbx = await Sandbox.create("base", t().sdk);
    const init = await sbx.commands.run(
      "git init -q -b main work && cd work && echo hi > a.txt && git add a.txt && " +
        "git -c user.email=a@b.c -c user.name=agent commit -q -m first && git log --oneline | wc -l",
    );
    expect(init.stdout.trim()).toBe("1");
    const clone = await sbx.commands.run(`git clone -q ${exposedRepo} cloned && git -C cloned log --format=%s && cat cloned/README.md`);
    expect(clone.stdout).toBe("initial\nhello from the host repo\n");
    await sbx.kill();
  });
});

describe("what the SDK observes", () => {
  /** cwd, paths, env, exit codes and signals, as one comparable record. */
  async function observe(t: TestSandboxServer) {
    const sbx = await Sandbox.create("base", { ...t.sdk, envs: { SANDBOX_VAR: "s" } });
    const env = await sbx.commands.run('pwd; echo "$HOME $TMPDIR $USER $SHELL $SANDBOX_VAR $CMD_VAR"; id -u; ls /home; readlink -f /var/tmp', { envs: { CMD_VAR: "c" } });
    const cwd = await sbx.commands.run("pwd", { cwd: "/tmp" });
    const exit = await exitCodeOf(sbx, "exit 7");
    const bg = await sbx.commands.run("sleep 30", { background: true });
    await bg.kill();
    const signalled = await bg.wait().then(
      () => "no error",
      (err: unknown) => (err instanceof CommandExitError ? `${err.exitCode} ${err.error}` : String(err)),
    );
    await sbx.files.write("/home/user/data/f.txt", "file");
    const listed = (await sbx.files.list("/home/user/data")).map((e) => `${e.path} ${e.type}`);
    const etc = await sbx.commands.run("cd /etc && pwd && test -r /etc/passwd && echo readable");
    await sbx.kill();
    return { env: env.stdout, cwd: cwd.stdout, exit, signalled, listed, etc: etc.stdout };
  }

  it("is the same in every isolated mode", async () => {
    const seen = await Promise.all(modes.map(async (mode) => observe(servers.get(mode)!)));
    expect(seen[0]).toEqual({
      env: "/home/user\n/home/user /tmp user /bin/bash s c\n200000\nuser\n/tmp\n",
      cwd: "/tmp\n",
      exit: 7,
      signalled: "-1 signal: killed",
      listed: ["/home/user/data/f.txt file"],
      etc: "/etc\nreadable\n",
    });
    for (const other of seen.slice(1)) expect(other).toEqual(seen[0]);
  });
});

describe("the unshare holder", () => {
  // What a sandbox sees of its mounts, devices, root and network: the same whichever holder built it.
  const VIEW = "id; awk '{print $5, $6, $9, $10, $11}' /proc/self/mountinfo; ls -la --time-style=+ /dev; ls -A /; cat /proc/net/dev";

  it("is holder.py where python3 is installed, and builds exactly the view of the shell script (the holder without it)", async () => {
    const t = servers.get("unshare")!;
    const config = (await (await t.api("/admin/config")).json()) as { holder: string };
    expect(config.holder).toBe(findOnPath("python3") ? "holder.py" : "sh");
    const sh = await startTestSandboxServer({ isolation: "unshare", unshareHolder: "sh", dataDir: join(dataDir, "unshare-sh"), exposePaths: [exposed], hidePaths: [stateDir] });
    try {
      expect(((await (await sh.api("/admin/config")).json()) as { holder: string }).holder).toBe("sh");
      const [a, b] = await Promise.all([t, sh].map(async (s) => {
        const sbx = await Sandbox.create("base", s.sdk);
        try {
          return (await sbx.commands.run(VIEW)).stdout.replaceAll(join(dataDir, "unshare-sh"), join(dataDir, "unshare"));
        } finally {
          await sbx.kill();
        }
      }));
      expect(a).toContain("/proc rw,nosuid,nodev,noexec");
      expect(a).toContain("/dev/pts rw,relatime devpts");
      expect(b).toEqual(a);
    } finally {
      await sh.stop();
    }
  });
});

describe.skipIf(!modes.includes("bwrap"))("one bwrap per command (sharedNamespace: false)", () => {
  it("still isolates, and background jobs end with their command", async () => {
    const per = await startTestSandboxServer({ isolation: "bwrap", sharedNamespace: false });
    try {
      expect(per.server.sharedNamespace).toBe(false);
      const sbx = await Sandbox.create("base", per.sdk);
      expect(await exitCodeOf(sbx, "touch /etc/forkyard-per-process")).not.toBe(0);
      expect((await sbx.commands.run("echo ok > /tmp/t && cat /tmp/t && pwd")).stdout).toBe("ok\n/home/user\n");
      const marker = `${600 + Math.floor(Math.random() * 99)}.3`;
      await sbx.commands.run(`sleep ${marker} >/dev/null 2>&1 &`);
      await new Promise((r) => setTimeout(r, 200));
      expect(hostPs()).not.toContain(`sleep ${marker}`);
      await sbx.kill();
    } finally {
      await per.stop();
    }
  });
});

describe("the view's layering", () => {
  const view = (m: Partial<MountInput>) =>
    sandboxView({ home: "/d/s/home", tmp: "/d/s/tmp", dataDir: "/d", exposePaths: [], ...m }, () => ({ kind: "missing" }));
  it("shows a folder exposed inside a hidden one (deeper wins), never one inside the data dir or hidden exactly", () => {
    const ops = view({ exposePaths: ["/w/checkout/.test-data/run", "/w", "/d/s", "/w/state"], hidePaths: ["/w/checkout", "/w/state"] });
    const layered = ops.filter((o) => o.op === "ro-bind" || o.op === "tmpfs").map((o) => `${o.op} ${o.dst}`);
    expect(layered).toEqual(["ro-bind /w", "tmpfs /w/checkout", "tmpfs /w/state", "ro-bind /w/checkout/.test-data/run"]);
  });
  it("does not hide what is not visible anyway", () => {
    expect(view({ hidePaths: ["/srv/state"] }).some((o) => o.op === "tmpfs")).toBe(false);
  });
});

describe("the admin API", () => {
  it("takes its own key: the E2B key (which the Worker holds) is refused", async () => {
    const t = auto;
    const stats = (headers: Record<string, string>) => fetch(`${t.server.url}/admin/stats`, { headers }).then((r) => r.status);
    expect(await stats({})).toBe(401);
    expect(await stats({ "X-API-Key": t.server.apiKey })).toBe(401);
    expect(await stats({ "X-Admin-Key": t.server.apiKey })).toBe(401);
    expect(await stats({ "X-Admin-Key": t.server.adminKey })).toBe(200);
  });
});

describe("without isolation (only when asked for)", () => {
  it("runs commands as plain processes in the host directory and warns", async () => {
    const logs: string[] = [];
    const plain = await startTestSandboxServer({ isolation: "none", log: (m) => logs.push(m) });
    try {
      expect(plain.server.isolation).toBe("none");
      expect(logs.join("\n")).toContain("NOT isolated");
      const sbx = await Sandbox.create("base", plain.sdk);
      const r = await sbx.commands.run("pwd; echo $HOME; echo hi > f.txt");
      const [pwd, home] = r.stdout.trim().split("\n");
      expect(pwd).toBe(join(plain.server.dataDir, sbx.sandboxId, "home"));
      expect(home).toBe(pwd);
      expect(await sbx.files.read("/home/user/f.txt")).toBe("hi\n");
      await expect(sbx.commands.run("pwd", { cwd: "/etc" })).rejects.toThrow();
      await sbx.kill();
    } finally {
      await plain.stop();
    }
  });
});
