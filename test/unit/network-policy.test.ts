// A run's `network` rules: what is accepted (deny: addresses and CIDRs only; allow: host names
// too), the defaults added for its sandboxes, and the Pool never handing such a run a warm sandbox
// (made with the default egress).
import { describe, expect, it } from "vitest";
import { DEFAULT_DENY_OUT, deploymentNetwork, effectiveNetwork, isCidrOrIp, networkPolicy, runNetwork } from "../../src/api/network-policy";
import { leaseRequest, ok, poolUnderTest, warmConfig } from "./support/pool-fakes";

describe("network rules", () => {
  it("deny rules are IP addresses or CIDR ranges only; allow rules may name hosts", () => {
    for (const rule of ["10.0.0.0/8", "8.8.8.8", "0.0.0.0/0", "::1", "fc00::/7", "2001:db8:0:0:0:0:0:1/128"]) expect(isCidrOrIp(rule), rule).toBe(true);
    for (const rule of ["github.com", "10.0.0.0/33", "256.1.1.1", "10.0.0/8", "1.2.3.4/8/8", "::1::2", "fc00::/129", ""]) expect(isCidrOrIp(rule), rule).toBe(false);
    expect(networkPolicy.safeParse({ allowOut: ["github.com", "*.npmjs.org", "1.2.3.4/32"], denyOut: ["0.0.0.0/0"] }).success).toBe(true);
    expect(networkPolicy.safeParse({ denyOut: ["github.com"] }).success).toBe(false);
    expect(networkPolicy.safeParse({ allowOut: ["https://github.com"] }).success).toBe(false);
    expect(networkPolicy.safeParse({ allowOut: ["*"] }).success).toBe(false);
  });

  it("adds the private ranges and the host to the denies, and the run's git remote to the allows", () => {
    const net = effectiveNetwork({ allowOut: ["pypi.org"], denyOut: ["0.0.0.0/0", "10.0.0.0/8"] }, { repo: "https://github.com/octo/hello.git" });
    expect(net.allowOut).toEqual(["pypi.org", "github.com"]);
    expect(net.denyOut).toEqual(expect.arrayContaining(["0.0.0.0/0", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "127.0.0.0/8"]));
    expect(net.denyOut.filter((r) => r === "10.0.0.0/8")).toHaveLength(1);
    expect(effectiveNetwork({}, { repo: "git@example.com:o/r.git" }).allowOut).toEqual(["example.com"]);
    expect(effectiveNetwork({}, { repo: "http://127.0.0.1:8080/o/r.git" }).allowOut).toEqual(["127.0.0.1"]);
    expect(effectiveNetwork({}, { repo: "/srv/repos/r" }).allowOut).toEqual([]);
  });

  it("lets a claude-code fork with rules reach the model proxy at PUBLIC_URL, never the model API itself", () => {
    const request = { repo: "/srv/r", network: { denyOut: ["0.0.0.0/0"] } };
    expect(runNetwork({ ...request, task: { prompt: "p", runtime: "claude-code" } }, "https://forkyard.example.com")?.allowOut).toEqual(["forkyard.example.com"]);
    expect(runNetwork({ ...request, task: { prompt: "p", runtime: "claude-code" } }, "http://127.0.0.1:8787")?.allowOut).toEqual(["127.0.0.1"]);
    expect(runNetwork({ ...request, task: { prompt: "p" } }, "https://forkyard.example.com")?.allowOut).toEqual([]);
  });

  it("gives a run without rules the deployment's default, plus its git remote when that is an address the default denies", () => {
    const commands = { commands: ["true"] };
    expect(deploymentNetwork("https://forkyard.example.com")).toEqual({ allowOut: ["forkyard.example.com"], denyOut: DEFAULT_DENY_OUT });
    expect(deploymentNetwork(undefined).allowOut).toEqual([]);
    // The Pool adds the default (undefined here): a local path, a named remote, a remote on the Worker's own host.
    expect(runNetwork({ repo: "/srv/r", task: commands }, "http://127.0.0.1:8787")).toBeUndefined();
    expect(runNetwork({ repo: "https://github.com/o/r.git", task: commands }, "http://127.0.0.1:8787")).toBeUndefined();
    expect(runNetwork({ repo: "http://127.0.0.1:9418/o/r.git", task: commands }, "http://127.0.0.1:8787")).toBeUndefined();
    // A remote at another private address is allowed explicitly, the defaults kept.
    expect(runNetwork({ repo: "http://10.1.2.3/o/r.git", task: commands }, "http://127.0.0.1:8787")).toEqual({ allowOut: ["10.1.2.3", "127.0.0.1"], denyOut: DEFAULT_DENY_OUT });
  });
});

describe("the Pool and a lease with network rules", () => {
  it("creates its sandbox with the rules instead of handing out a warm one", async () => {
    const pool = poolUnderTest();
    await pool.logic.warm.configure({ base: warmConfig({ min: 1, max: 1 }) });
    await pool.host.settle();
    const network = { allowOut: ["github.com"], denyOut: ["0.0.0.0/0"] };
    const got = ok(await pool.logic.acquirer.acquire(leaseRequest({ network })));
    expect(got.status).toBe("acquired");
    const sandbox = pool.backend.sandboxes.get(got.status === "acquired" ? got.sandboxId : "")!;
    expect(sandbox.network).toEqual(network);
    expect(pool.logic.status().templates.base).toMatchObject({ hits: 0, warm: { running: 1 } });
    // Without rules, the warm one is taken.
    expect(ok(await pool.logic.acquirer.acquire(leaseRequest({ key: "other" })))).toMatchObject({ status: "acquired" });
    expect(pool.logic.status().templates.base!.hits).toBe(1);
  });

  it("creates every sandbox whose holder gives no rules, warm ones included, with the deployment's default rules", async () => {
    const defaultNetwork = deploymentNetwork("http://127.0.0.1:8787");
    const pool = poolUnderTest({ defaultNetwork, maxLiveSandboxes: 5 });
    await pool.logic.warm.configure({ base: warmConfig({ min: 1, max: 1 }) });
    await pool.host.settle();
    const warm = ok(await pool.logic.acquirer.acquire(leaseRequest({ key: "warm" })));
    const cold = ok(await pool.logic.acquirer.acquire(leaseRequest({ key: "cold" })));
    const ids = [warm, cold].map((got) => (got.status === "acquired" ? got.sandboxId : ""));
    expect(pool.logic.status().templates.base!.hits).toBe(1);
    for (const id of ids) expect(pool.backend.sandboxes.get(id)!.network).toEqual(defaultNetwork);
  });
});
