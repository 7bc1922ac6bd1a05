// A command's environment is the client's, but an isolated command is started by root helpers on
// the host (the cgroup wrapper, nsenter, setpriv; `script` for a PTY). A client's LD_PRELOAD must
// load its library into the sandboxed command only, never into those helpers: there it would run
// as root outside the sandbox. The attack uses a real preload library (compiled with the machine's
// C compiler) whose constructor appends the uid it runs as to /tmp/<marker> of whatever filesystem
// it sees: the host's /tmp for a host helper, the sandbox's own /tmp for the command.
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Sandbox } from "e2b";
import { startTestSandboxServer, type TestSandboxServer } from "../../local-sandbox/testing.ts";
import { findOnPath } from "../../local-sandbox/isolation.ts";
import { lastStageScript, splitLoaderEnv } from "../../local-sandbox/isolation/loader-env.ts";

const cc = findOnPath("cc") ?? findOnPath("gcc");
const hostDir = mkdtempSync(join(tmpdir(), "loader-env-"));
const marker = `forkyard-preload-${process.pid}-${Date.now()}`;
const hostMarker = join("/tmp", marker);
const library = join(hostDir, "preload.so");
let t: TestSandboxServer;

beforeAll(async () => {
  if (!cc) return;
  const source = join(hostDir, "preload.c");
  writeFileSync(
    source,
    `#include <stdio.h>\n#include <unistd.h>\n__attribute__((constructor)) static void mark(void) {\n  FILE *f = fopen("/tmp/${marker}", "a");\n  if (f) { fprintf(f, "%d\\n", (int)getuid()); fclose(f); }\n}\n`,
  );
  execFileSync(cc, ["-shared", "-fPIC", "-o", library, source]);
  chmodSync(hostDir, 0o755);
  t = await startTestSandboxServer({});
});

afterAll(async () => {
  await t?.stop();
  rmSync(hostDir, { recursive: true, force: true });
  rmSync(hostMarker, { force: true });
});

describe("the loader's variables", () => {
  it("are split off for the sandbox's last stage, which sets them", () => {
    const { host, loader } = splitLoaderEnv({ PATH: "/usr/bin", LD_PRELOAD: "/x.so", GCONV_PATH: "/g", SECRET: "s" });
    expect(host).toEqual({ PATH: "/usr/bin", SECRET: "s" });
    expect(loader).toEqual([["LD_PRELOAD", "/x.so"], ["GCONV_PATH", "/g"]]);
    const script = lastStageScript(loader);
    const out = execFileSync("/bin/sh", ["-c", script, "/", "/x.so", "/g", "/bin/sh", "-c", 'printf "%s|%s|%s" "$LD_PRELOAD" "$GCONV_PATH" "$PWD"'], { env: { PATH: "/usr/bin:/bin" } }).toString();
    expect(out).toBe("/x.so|/g|/");
  });

  it.skipIf(!cc)("load a client's LD_PRELOAD into the command inside the sandbox, never into the host's root helpers", async () => {
    const sbx = await Sandbox.create("base", t.sdk);
    // The same library at a path only the sandbox sees, and at one only the host sees.
    const so = readFileSync(library);
    await sbx.files.write("/home/user/preload.so", so.buffer.slice(so.byteOffset, so.byteOffset + so.length) as ArrayBuffer);
    const envs = { LD_PRELOAD: `${library}:/home/user/preload.so` };
    await sbx.commands.run("true", { envs });
    const pty = await sbx.pty.create({ cols: 80, rows: 24, envs, onData: () => {} });
    await sbx.pty.sendInput(pty.pid, new TextEncoder().encode("exit\n"));
    await pty.wait().catch(() => undefined);
    // Nothing on the host loaded it: no root helper ran the client's library.
    expect(existsSync(hostMarker) ? readFileSync(hostMarker, "utf8") : "").toBe("");
    // Inside the sandbox the command did, as the sandbox user (as in an E2B VM).
    const inside = (await sbx.files.read(`/tmp/${marker}`)).trim().split("\n");
    expect(inside.length).toBeGreaterThan(0);
    expect(new Set(inside)).not.toContain("0");
    await sbx.kill();
  });
});
