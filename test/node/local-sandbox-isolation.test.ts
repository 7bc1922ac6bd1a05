// Isolation (bubblewrap) and git inside sandboxes. The bwrap tests are skipped, with a message,
// where bwrap is missing or does not work; the non-isolated fallback is tested everywhere.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommandExitError, Sandbox } from "e2b";
import { startTestSandboxServer, type TestSandboxServer } from "../../local-sandbox/testing.ts";
import { detectIsolation } from "../../local-sandbox/isolation.ts";

const iso = detectIsolation("auto");
const hasBwrap = iso.kind === "bwrap";
if (!hasBwrap) {
  console.warn(`[local-sandbox tests] bwrap isolation tests SKIPPED: ${iso.reason ?? "bwrap unavailable"} (apt-get install bubblewrap)`);
}

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

const hostTmpRoot = mkdtempSync(join(tmpdir(), "local-sandbox-iso-"));
// A repo under /tmp is invisible in a bwrap sandbox (private /tmp) unless exposed explicitly.
const exposedRepo = join(hostTmpRoot, "exposed-repo");
const hiddenFile = join(hostTmpRoot, "host-only.txt");
// A repo outside /tmp is visible read-only through the read-only root bind.
const varTmpRoot = existsSync("/var/tmp") ? mkdtempSync("/var/tmp/local-sandbox-iso-") : mkdtempSync(join(process.cwd(), ".ls-iso-"));
const visibleRepo = join(varTmpRoot, "repo");

let t: TestSandboxServer;

beforeAll(async () => {
  makeHostRepo(exposedRepo);
  makeHostRepo(visibleRepo);
  writeFileSync(hiddenFile, "host secret\n");
  t = await startTestSandboxServer({ exposePaths: [exposedRepo] });
});

afterAll(async () => {
  await t?.stop();
  rmSync(hostTmpRoot, { recursive: true, force: true });
  rmSync(varTmpRoot, { recursive: true, force: true });
});

async function exitCodeOf(sbx: Sandbox, cmd: string): Promise<number> {
  try {
    return (await sbx.commands.run(cmd)).exitCode;
  } catch (err) {
    if (err instanceof CommandExitError) return err.exitCode;
    throw err;
  }
}

describe.skipIf(!hasBwrap)("bwrap isolation", () => {
  it("cannot write outside /home/user, can write inside it", async () => {
    const sbx = await Sandbox.create("base", t.sdk);
    const escape = join(process.cwd(), `escape-test-${sbx.sandboxId}`);
    expect(await exitCodeOf(sbx, `touch ${escape}`)).not.toBe(0);
    expect(existsSync(escape)).toBe(false);
    expect(await exitCodeOf(sbx, "echo x > /etc/forkyard")).not.toBe(0);
    expect(existsSync("/etc/forkyard")).toBe(false);
    expect(await exitCodeOf(sbx, "touch /work/escape-test")).not.toBe(0);
    expect(existsSync("/work/escape-test")).toBe(false);
    expect(await exitCodeOf(sbx, "mount -o remount,rw / 2>/dev/null")).not.toBe(0);

    const ok = await sbx.commands.run("echo inside > /home/user/ok.txt && cat /home/user/ok.txt && id -u");
    expect(ok.stdout).toMatch(/^inside\n/);
    expect(await sbx.files.read("/home/user/ok.txt")).toBe("inside\n");
    await sbx.kill();
  });

  it("gives each sandbox a private /tmp and hides host /tmp, /root and other sandboxes", async () => {
    const a = await Sandbox.create("base", t.sdk);
    const b = await Sandbox.create("base", t.sdk);
    await a.commands.run("echo from-a > /tmp/private.txt");
    expect(await a.files.read("/tmp/private.txt")).toBe("from-a\n");
    expect(await exitCodeOf(b, "test -e /tmp/private.txt")).toBe(1);
    expect(await exitCodeOf(a, `test -e ${hiddenFile}`)).toBe(1);
    expect(await exitCodeOf(a, `ls ${t.server.dataDir}/${b.sandboxId} >/dev/null 2>&1`)).not.toBe(0);
    expect(existsSync(join(tmpdir(), "private.txt"))).toBe(false);
    const root = await a.commands.run("ls -A /root | wc -l");
    expect(root.stdout.trim()).toBe("0");
    await a.kill();
    await b.kill();
  });

  it("kills the command's process group; nothing survives the sandbox (not even setsid'd children)", async () => {
    const sbx = await Sandbox.create("base", t.sdk);
    const marker = 900 + Math.floor(Math.random() * 90);
    const handle = await sbx.commands.run(`sleep ${marker}.1 & setsid sleep ${marker}.2 & sleep ${marker}.3; wait`, { background: true });
    const hostPs = () => execFileSync("ps", ["-eo", "args"], { encoding: "utf8" });
    // wait until every sleep runs (the setsid one has exec'd, i.e. already left the group)
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
    expect(after.includes(`sleep ${marker}.2`)).toBe(t.server.sharedNamespace);
    await sbx.kill();
    await new Promise((r) => setTimeout(r, 300));
    expect(hostPs()).not.toContain(`sleep ${marker}.`);
  });
});

describe.skipIf(!hasBwrap)("one namespace per sandbox (bwrap as root with nsenter/setpriv)", () => {
  it("keeps `cmd &` jobs alive across commands, shows them to later commands, and stops them on pause", async (ctx) => {
    if (!t.server.sharedNamespace) ctx.skip();
    const sbx = await Sandbox.create("base", t.sdk);
    const marker = `${800 + Math.floor(Math.random() * 99)}.7`;
    await sbx.commands.run(`nohup sleep ${marker} >/dev/null 2>&1 &`);
    const ps = await sbx.commands.run("ps -eo args");
    expect(ps.stdout).toContain(`sleep ${marker}`);
    const other = await Sandbox.create("base", t.sdk);
    expect((await other.commands.run("ps -eo args")).stdout).not.toContain(`sleep ${marker}`);
    await sbx.pause();
    await new Promise((r) => setTimeout(r, 200));
    expect(execFileSync("ps", ["-eo", "args"], { encoding: "utf8" })).not.toContain(`sleep ${marker}`);
    const resumed = await Sandbox.connect(sbx.sandboxId, t.sdk);
    expect((await resumed.commands.run("echo back")).stdout).toBe("back\n");
    await resumed.kill();
    await other.kill();
  });
});

describe.skipIf(!hasBwrap)("one bwrap per command (sharedNamespace: false)", () => {
  it("still isolates, and background jobs end with their command", async () => {
    const per = await startTestSandboxServer({ sharedNamespace: false });
    try {
      expect(per.server.sharedNamespace).toBe(false);
      const sbx = await Sandbox.create("base", per.sdk);
      expect(await exitCodeOf(sbx, "touch /etc/forkyard-per-process")).not.toBe(0);
      expect((await sbx.commands.run("echo ok > /tmp/t && cat /tmp/t && pwd")).stdout).toBe("ok\n/home/user\n");
      const marker = `${600 + Math.floor(Math.random() * 99)}.3`;
      await sbx.commands.run(`sleep ${marker} >/dev/null 2>&1 &`);
      await new Promise((r) => setTimeout(r, 200));
      expect(execFileSync("ps", ["-eo", "args"], { encoding: "utf8" })).not.toContain(`sleep ${marker}`);
      await sbx.kill();
    } finally {
      await per.stop();
    }
  });
});

describe.skipIf(!hasBwrap)("git inside a sandbox", () => {
  it("git init + commit in /home/user, and clone host repos (read-only root, exposed /tmp path)", async () => {
    const sbx = await Sandbox.create("base", t.sdk);
    const init = await sbx.commands.run(
      "git init -q -b main work && cd work && echo hi > a.txt && git add a.txt && " +
        "git -c user.email=a@b.c -c user.name=agent commit -q -m first && git log --oneline | wc -l",
    );
    expect(init.stdout.trim()).toBe("1");

    const clone = await sbx.commands.run(`git clone -q ${visibleRepo} cloned && cat cloned/README.md`);
    expect(clone.stdout).toBe("hello from the host repo\n");
    const clone2 = await sbx.commands.run(`git clone -q ${exposedRepo} cloned2 && git -C cloned2 log --format=%s`);
    expect(clone2.stdout).toBe("initial\n");
    // the host repo itself stays read-only
    expect(await exitCodeOf(sbx, `touch ${visibleRepo}/written-from-sandbox`)).not.toBe(0);
    expect(existsSync(join(visibleRepo, "written-from-sandbox"))).toBe(false);
    await sbx.kill();
  });
});

describe.skipIf(!hasBwrap)("data dir inside a throw-away /tmp directory", () => {
  it("exposes the data dir's siblings read-only (a test repo next to sandboxes/) but not the data dir", async () => {
    const root = mkdtempSync(join(tmpdir(), "local-sandbox-root-"));
    const repo = makeHostRepo(join(root, "repo"));
    const s = await startTestSandboxServer({ dataDir: join(root, "sandboxes") });
    try {
      const a = await Sandbox.create("base", s.sdk);
      const b = await Sandbox.create("base", s.sdk);
      const clone = await a.commands.run(`git clone -q ${repo} r && cat r/README.md`);
      expect(clone.stdout).toBe("hello from the host repo\n");
      expect((await a.commands.run(`ls -A ${root}/sandboxes | wc -l`)).stdout.trim()).toBe("0");
      expect(await exitCodeOf(a, `test -e ${root}/sandboxes/${b.sandboxId}`)).toBe(1);
      expect(await exitCodeOf(a, `touch ${root}/repo/x`)).not.toBe(0);
    } finally {
      await s.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("without isolation (fallback)", () => {
  it("runs commands as plain processes in the host directory and warns", async () => {
    const logs: string[] = [];
    const plain = await startTestSandboxServer({ isolation: "none", log: (m) => logs.push(m) });
    try {
      expect(plain.server.isolation).toBe("none");
      expect(logs.join("\n")).toContain("WITHOUT isolation");
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
