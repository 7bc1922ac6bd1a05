// Fault injection, latency injection, counters, the live-sandbox cap and the admin API.
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { RateLimitError, Sandbox, ServiceBusyError } from "e2b";
import { startTestSandboxServer, type TestSandboxServer } from "../../local-sandbox/testing.ts";
import { optionsFromEnv } from "../../local-sandbox/config.ts";
import { parseForwardHosts } from "../../local-sandbox/isolation/forward.ts";

let t: TestSandboxServer;

beforeAll(async () => {
  t = await startTestSandboxServer();
});

afterAll(async () => {
  await t?.stop();
});

beforeEach(() => {
  t.server.reset();
});

async function countByMetadata(metadata: Record<string, string>): Promise<number> {
  const p = Sandbox.list({ ...t.sdk, query: { metadata } });
  let n = 0;
  while (p.hasNext) n += (await p.nextItems()).length;
  return n;
}

describe("faults", () => {
  it("fails the first K creates with 503, then succeeds; counters reflect it", async () => {
    t.server.setFaults([{ op: "create", status: 503, firstK: 2 }]);
    await expect(Sandbox.create("base", t.sdk)).rejects.toBeInstanceOf(ServiceBusyError);
    await expect(Sandbox.create("base", t.sdk)).rejects.toBeInstanceOf(ServiceBusyError);
    const sbx = await Sandbox.create("base", t.sdk);
    const stats = t.server.getStats();
    expect(stats.calls.create).toBe(3);
    expect(stats.faultsInjected).toBe(2);
    expect(stats.created).toBe(1);
    await sbx.kill();
    expect(t.server.getStats().killed).toBe(1);
  });

  it("after:true + drop creates the sandbox but loses the response", async () => {
    t.server.setFaults([{ op: "create", drop: true, after: true, firstK: 1 }]);
    const metadata = { lost: "response-1" };
    await expect(Sandbox.create("base", { ...t.sdk, metadata })).rejects.toThrow();
    // the sandbox exists: a retry can find it by metadata instead of creating a second one
    expect(await countByMetadata(metadata)).toBe(1);
    const stats = t.server.getStats();
    expect(stats.created).toBe(1);
    expect(stats.faultsInjected).toBe(1);
    expect(stats.calls.list).toBe(1);
  });

  it("429 carries Retry-After: the SDK retries by itself; with retries: 0 it raises RateLimitError", async () => {
    t.server.setFaults([{ op: "create", status: 429, firstK: 1 }]);
    const sbx = await Sandbox.create("base", t.sdk);
    expect(t.server.getStats().calls.create).toBe(2);
    await sbx.kill();

    t.server.setFaults([{ op: "create", status: 429, firstK: 1 }]);
    await expect(Sandbox.create("base", { ...t.sdk, retries: 0 })).rejects.toBeInstanceOf(RateLimitError);
    t.server.setFaults([{ op: "create", status: 429, firstK: 1 }]);
    const limited = await t.api("/v2/sandboxes", { method: "POST", body: JSON.stringify({ templateID: "base" }) });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    const raw = await t.api("/v2/sandboxes", { method: "POST", body: "{}" });
    expect(raw.status).toBe(400); // fault used up; the bad body is rejected normally
  });

  it("injects faults into envd operations", async () => {
    const sbx = await Sandbox.create("base", t.sdk);
    t.server.setFaults([
      { op: "process.start", status: 503, firstK: 1 },
      { op: "files.read", drop: true, firstK: 1 },
    ]);
    await expect(sbx.commands.run("echo hi")).rejects.toThrow();
    expect((await sbx.commands.run("echo hi")).stdout).toBe("hi\n");
    await sbx.files.write("/home/user/f.txt", "x");
    await expect(sbx.files.read("/home/user/f.txt")).rejects.toThrow();
    expect(await sbx.files.read("/home/user/f.txt")).toBe("x");
    const stats = t.server.getStats();
    expect(stats.faultsByOp).toEqual({ "process.start": 1, "files.read": 1 });
    expect(stats.calls["process.start"]).toBe(2);
    await sbx.kill();
  });

  it("kill: the call's sandbox is lost (killed), only the one named, and the call finds it gone", async () => {
    const [kept, lost] = await Promise.all([Sandbox.create("base", t.sdk), Sandbox.create("base", t.sdk)]);
    t.server.setFaults([{ op: "process.start", kill: true, sandbox: lost.sandboxId, firstK: 1 }]);
    expect((await kept.commands.run("echo hi")).stdout).toBe("hi\n");
    await expect(lost.commands.run("echo hi")).rejects.toThrow();
    await expect(Sandbox.getInfo(lost.sandboxId, t.sdk)).rejects.toThrow(/not found/);
    expect(t.server.getStats()).toMatchObject({ killed: 1, faultsByOp: { "process.start": 1 } });
    // A control-plane call naming the sandbox: it is killed, and the call answers 404.
    t.server.setFaults([{ op: "setTimeout", kill: true, sandbox: kept.sandboxId }]);
    await expect(kept.setTimeout(60_000)).rejects.toThrow(/not found/i);
    await expect(Sandbox.getInfo(kept.sandboxId, t.sdk)).rejects.toThrow(/not found/);
  });

  it("rate 1 always fires, rate 0 never", async () => {
    t.server.setFaults([{ op: "get", status: 500, rate: 0 }]);
    const sbx = await Sandbox.create("base", t.sdk);
    await sbx.getInfo();
    t.server.setFaults([{ op: "get", status: 500, rate: 1 }]);
    await expect(sbx.getInfo()).rejects.toThrow(/500/);
    await expect(sbx.getInfo()).rejects.toThrow(/500/);
    t.server.clearFaults();
    await sbx.kill();
  });
});

describe("latency", () => {
  it("delays create by the injected latency, and only create", async () => {
    t.server.setLatency({ create: 400 });
    // Ordered, not timed: a list started after the delayed create answers first.
    const order: string[] = [];
    const created = Sandbox.create("base", t.sdk).then((sbx) => (order.push("create"), sbx));
    await Sandbox.list(t.sdk).nextItems().then(() => order.push("list"));
    const sbx = await created;
    expect(order).toEqual(["list", "create"]);
    t.server.setLatency({});
    await sbx.kill();
  });

  it("holds calls until the latency is changed: a long latency is a gate a test releases", async () => {
    t.server.setLatency({ create: 600_000 });
    let created = false;
    const creating = Sandbox.create("base", t.sdk).then((sbx) => ((created = true), sbx));
    await vi.waitFor(() => expect(t.server.stats.calls.create).toBe(1), { timeout: 30_000 });
    await Sandbox.list(t.sdk).nextItems();
    expect(created).toBe(false);
    // Cleared over the admin API (as the workers tests do): the held create goes on at once.
    expect((await t.api("/admin/latency", { method: "DELETE" })).status).toBe(204);
    const sbx = await creating;
    await sbx.kill();
  });
});

describe("admin API", () => {
  it("requires the admin key and manages faults, latency, stats and reset over HTTP", async () => {
    expect((await fetch(`${t.server.url}/admin/stats`)).status).toBe(401);
    expect((await fetch(`${t.server.url}/admin/stats`, { headers: { "X-API-Key": t.server.apiKey } })).status).toBe(401);
    const put = await t.api("/admin/faults", { method: "PUT", body: JSON.stringify({ faults: [{ op: "list", status: 500, firstK: 1 }] }) });
    expect(put.status).toBe(200);
    expect((await t.api("/v2/sandboxes")).status).toBe(500);
    expect((await t.api("/v2/sandboxes")).status).toBe(200);
    const faults = (await (await t.api("/admin/faults")).json()) as { faults: Array<{ seen: number; fired: number }> };
    expect(faults.faults[0]).toMatchObject({ op: "list", seen: 2, fired: 1 });
    expect((await t.api("/admin/faults", { method: "PUT", body: JSON.stringify({ faults: [{ op: "x" }] }) })).status).toBe(400);

    expect((await t.api("/admin/latency", { method: "PUT", body: JSON.stringify({ list: 400 }) })).status).toBe(200);
    // Ordered, not timed: the stats asked for after the delayed list answer first.
    const order: string[] = [];
    const listed = t.api("/v2/sandboxes").then(() => order.push("list"));
    await t.api("/admin/stats").then(() => order.push("stats"));
    await listed;
    expect(order).toEqual(["stats", "list"]);

    const calls = (await (await t.api("/admin/calls?op=list")).json()) as Array<{ op: string; at: number }>;
    expect(calls.map((c) => c.op)).toEqual(["list", "list", "list"]);
    expect(calls[0]!.at).toBeLessThanOrEqual(calls[2]!.at);
    const stats = (await (await t.api("/admin/stats")).json()) as { calls: Record<string, number>; faultsInjected: number };
    expect(stats.calls.list).toBe(3);
    expect(stats.faultsInjected).toBe(1);
    const reset = (await (await t.api("/admin/reset", { method: "POST" })).json()) as { calls: Record<string, number> };
    expect(reset.calls).toEqual({});
    expect(await (await t.api("/admin/latency")).json()).toEqual({});
    expect((await t.api("/admin/faults", { method: "DELETE" })).status).toBe(204);
  });

  it("tracks live and peakLive", async () => {
    const a = await Sandbox.create("base", t.sdk);
    const b = await Sandbox.create("base", t.sdk);
    await a.kill();
    const s = t.server.getStats();
    expect(s.live).toBe(t.server.store.liveCount());
    expect(s.peakLive).toBeGreaterThanOrEqual(s.live + 1);
    await b.kill();
  });
});

describe("live sandbox cap", () => {
  it("answers 429 beyond SANDBOX_MAX_LIVE; paused sandboxes do not count", async () => {
    const capped = await startTestSandboxServer({ maxLive: 2 });
    try {
      const a = await Sandbox.create("base", capped.sdk);
      await Sandbox.create("base", capped.sdk);
      const err = await Sandbox.create("base", capped.sdk).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RateLimitError);
      expect(String((err as Error).message)).toContain("maximum number of concurrent E2B sandboxes");
      await a.pause();
      const c = await Sandbox.create("base", capped.sdk);
      await expect(Sandbox.connect(a.sandboxId, capped.sdk)).rejects.toBeInstanceOf(RateLimitError);
      await c.kill();
      expect((await Sandbox.connect(a.sandboxId, capped.sdk)).sandboxId).toBe(a.sandboxId);
    } finally {
      await capped.stop();
    }
  });
});

describe("configuration from the environment", () => {
  it("parses SANDBOX_* variables", () => {
    const opts = optionsFromEnv({
      SANDBOX_PORT: "0",
      SANDBOX_MAX_LIVE: "5",
      SANDBOX_LATENCY: '{"create":150,"list":[1,5]}',
      SANDBOX_FAULTS: '[{"op":"create","status":503,"firstK":2}]',
      SANDBOX_ISOLATION: "none",
      SANDBOX_EXPOSE_PATHS: "/a:/b",
      SANDBOX_FORWARD_HOSTS: "127.0.0.1:8080, localhost:9000",
      SANDBOX_MEMORY_MB: "512",
      SANDBOX_PIDS_MAX: "256",
      SANDBOX_DISK_MB: "4096",
      SANDBOX_EGRESS: "open",
      SANDBOX_EGRESS_LOOPBACK: "1",
      SANDBOX_FROZEN_MEMORY_MB: "0",
    });
    expect(opts).toMatchObject({
      forwardHosts: ["127.0.0.1:8080", "localhost:9000"],
      egress: "open",
      egressLoopback: true,
      limits: { memoryMB: 512, pids: 256, diskMB: 4096 },
      port: 0,
      maxLive: 5,
      latency: { create: 150, list: [1, 5] },
      faults: [{ op: "create", status: 503, firstK: 2 }],
      isolation: "none",
      exposePaths: ["/a", "/b"],
      frozenMemoryMB: 0,
    });
    // No key configured: the server makes a random one.
    expect(opts.apiKey).toBeUndefined();
    expect(() => optionsFromEnv({ SANDBOX_FAULTS: '[{"op":"create"}]' })).toThrow(/needs either status, drop:true, lose or kill:true/);
    expect(() => optionsFromEnv({ SANDBOX_LATENCY: "nope" })).toThrow(/JSON/);
    expect(optionsFromEnv({ SANDBOX_LIMITS: "off" }).limits).toBe(false);
    expect(() => optionsFromEnv({ SANDBOX_EGRESS: "everything" })).toThrow(/SANDBOX_EGRESS must be one of off, allowlist, open/);
    expect(() => optionsFromEnv({ SANDBOX_FROZEN_MEMORY_MB: "-1" })).toThrow(/SANDBOX_FROZEN_MEMORY_MB must be an integer >= 0/);
    expect(() => parseForwardHosts(["example.com:80"])).toThrow(/IPv4 address/);
    expect(parseForwardHosts(["localhost:9000"])).toEqual([{ host: "127.0.0.1", port: 9000 }]);
  });
});
