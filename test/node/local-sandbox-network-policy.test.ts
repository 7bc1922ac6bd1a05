// The local sandbox server enforces a create body's `network` rules on what it forwards: a sandbox
// whose rules deny the forwarded GitHub stand-in (and do not allow it) cannot reach it; one that
// allows it can.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommandExitError, Sandbox } from "e2b";
import { startTestSandboxServer, type TestSandboxServer } from "../../local-sandbox/testing.ts";
import { startTestGitHub, type GitHubServer } from "../support/github-server.ts";
import { createTestRepo } from "../support/test-repo.ts";
import { allowedForwards, parseNetwork } from "../../local-sandbox/isolation/egress.ts";

const hostRoot = mkdtempSync(join(tmpdir(), "local-sandbox-netpolicy-"));
let t: TestSandboxServer;
let github: GitHubServer;
let gh: { host: string; port: number };

/** Connects from inside the sandbox with bash's /dev/tcp; exit 0 = connected. */
async function reaches(sbx: Sandbox): Promise<boolean> {
  try {
    await sbx.commands.run(`timeout 5 bash -c 'exec 3<>/dev/tcp/${gh.host}/${gh.port}'`);
    return true;
  } catch (err) {
    if (err instanceof CommandExitError) return false;
    throw err;
  }
}

beforeAll(async () => {
  const repo = createTestRepo(join(hostRoot, "repo"));
  github = await startTestGitHub(join(hostRoot, "github"), repo, "ghp_unused");
  const url = new URL(github.url);
  gh = { host: url.hostname, port: Number(url.port) };
  t = await startTestSandboxServer({ forwardHosts: [url.host] });
});

afterAll(async () => {
  await t?.stop();
  await github?.close();
  rmSync(hostRoot, { recursive: true, force: true });
});

describe("a sandbox's network rules on the local server", () => {
  it("forwards the GitHub stand-in only when the rules let it through", async () => {
    const denied = await Sandbox.create("base", { ...t.sdk, network: { denyOut: ["127.0.0.0/8"], allowOut: ["github.com"] } });
    const allowed = await Sandbox.create("base", { ...t.sdk, network: { denyOut: ["0.0.0.0/0"], allowOut: [gh.host] } });
    const open = await Sandbox.create("base", t.sdk);
    try {
      expect(await reaches(denied)).toBe(false);
      expect(await reaches(allowed)).toBe(true);
      expect(await reaches(open)).toBe(true);
      const clone = await allowed.commands.run(`git clone -q ${github.url}/octo/hello.git hello && cat hello/counter.txt`);
      expect(clone.stdout).toBe("0\n");
      // The rules are kept with the sandbox and shown as E2B shows them.
      expect((await Sandbox.getInfo(denied.sandboxId, t.sdk)).network).toMatchObject({ denyOut: ["127.0.0.0/8"] });
    } finally {
      await Promise.all([denied, allowed, open].map((s) => s.kill()));
    }
  });

  it("refuses a deny rule that is not an address (400 naming the field)", async () => {
    await expect(Sandbox.create("base", { ...t.sdk, network: { denyOut: ["github.com"] } })).rejects.toThrow(/network\.denyOut/);
  });
});

describe("which forwarded hosts a sandbox gets", () => {
  const hosts = [{ host: "127.0.0.1", port: 8080 }, { host: "10.1.2.3", port: 22 }];
  it("all without rules; allow wins over deny; names and IPv6 rules match no forwarded address", () => {
    expect(allowedForwards(hosts, undefined)).toEqual(hosts);
    expect(allowedForwards(hosts, { allowOut: [], denyOut: ["10.0.0.0/8"] })).toEqual([hosts[0]]);
    expect(allowedForwards(hosts, { allowOut: ["10.1.2.3"], denyOut: ["0.0.0.0/0"] })).toEqual([hosts[1]]);
    expect(allowedForwards(hosts, { allowOut: ["localhost"], denyOut: ["0.0.0.0/0"] })).toEqual([hosts[0]]);
    expect(allowedForwards(hosts, { allowOut: ["example.com", "::1"], denyOut: ["0.0.0.0/0"] })).toEqual([]);
    expect(() => parseNetwork({ denyOut: ["10.0.0.0/33"] })).toThrow(/denyOut/);
  });
});
