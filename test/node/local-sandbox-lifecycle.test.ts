// Control-plane emulation driven by the official e2b SDK: create/list/getInfo/setTimeout/pause/
// connect/fork/kill, auth errors, envd access-token checks and persistence across restarts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthenticationError, Sandbox, SandboxNotFoundError, TimeoutError, type SandboxInfo } from "e2b";
import { startTestSandboxServer, type TestSandboxServer } from "../../local-sandbox/testing.ts";
import { startSandboxServer } from "../../local-sandbox/server.ts";

let t: TestSandboxServer;

beforeAll(async () => {
  t = await startTestSandboxServer();
});

afterAll(async () => {
  await t?.stop();
});

async function listAll(query: Parameters<typeof Sandbox.list>[0] = {}): Promise<SandboxInfo[]> {
  const paginator = Sandbox.list({ ...t.sdk, ...query });
  const out: SandboxInfo[] = [];
  while (paginator.hasNext) out.push(...(await paginator.nextItems()));
  return out;
}

describe("create, getInfo, list", () => {
  it("creates a sandbox with metadata and reports it in getInfo", async () => {
    const sbx = await Sandbox.create("base", { ...t.sdk, metadata: { suite: "create", who: "me" }, timeoutMs: 120_000 });
    expect(sbx.sandboxId).toMatch(/^i[a-z0-9]+$/);
    const info = await sbx.getInfo();
    expect(info.sandboxId).toBe(sbx.sandboxId);
    expect(info.state).toBe("running");
    expect(info.metadata).toEqual({ suite: "create", who: "me" });
    expect(info.templateId).toBe("base");
    expect(info.cpuCount).toBe(2);
    expect(info.memoryMB).toBe(512);
    const ttl = info.endAt.getTime() - info.startedAt.getTime();
    expect(ttl).toBe(120_000);
    expect(await sbx.isRunning()).toBe(true);
    await sbx.kill();
  });

  it("filters by metadata (AND, values with & = and spaces) and by state", async () => {
    const tricky = "a&b=c d+e%f";
    const a = await Sandbox.create("base", { ...t.sdk, metadata: { suite: "filter", k: tricky, "key with space": "v" } });
    const b = await Sandbox.create("base", { ...t.sdk, metadata: { suite: "filter", k: "other" } });
    const c = await Sandbox.create("base", { ...t.sdk, metadata: { suite: "filter", k: tricky } });
    await c.pause();

    const byTricky = await listAll({ query: { metadata: { suite: "filter", k: tricky } } });
    expect(byTricky.map((s) => s.sandboxId).sort()).toEqual([a.sandboxId, c.sandboxId].sort());
    const bySpaceKey = await listAll({ query: { metadata: { "key with space": "v" } } });
    expect(bySpaceKey.map((s) => s.sandboxId)).toEqual([a.sandboxId]);
    const running = await listAll({ query: { metadata: { suite: "filter" }, state: ["running"] } });
    expect(running.map((s) => s.sandboxId).sort()).toEqual([a.sandboxId, b.sandboxId].sort());
    const paused = await listAll({ query: { metadata: { suite: "filter" }, state: ["paused"] } });
    expect(paused.map((s) => [s.sandboxId, s.state])).toEqual([[c.sandboxId, "paused"]]);
    const none = await listAll({ query: { metadata: { suite: "filter", k: "nope" } } });
    expect(none).toEqual([]);

    // raw wire check: the double-encoded form the SDK sends, X-Total-Running header
    const inner = new URLSearchParams({ [encodeURIComponent("suite")]: encodeURIComponent("filter") }).toString();
    const res = await t.api(`/v2/sandboxes?metadata=${encodeURIComponent(inner)}&state=running,paused`);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-total-running")).toBe("2");
    expect(((await res.json()) as unknown[]).length).toBe(3);
  });

  it("startedAfter is inclusive; metrics honour start and end", async () => {
    const sbx = await Sandbox.create("base", { ...t.sdk, metadata: { suite: "since" } });
    const { startedAt } = await sbx.getInfo();
    const raw = async (at: Date) => (await (await t.api(`/v2/sandboxes?startedAfter=${encodeURIComponent(at.toISOString())}&metadata=${encodeURIComponent("suite=since")}`)).json()) as unknown[];
    expect(await raw(startedAt)).toHaveLength(1);
    expect(await raw(new Date(startedAt.getTime() + 1))).toHaveLength(0);
    const now = Math.floor(Date.now() / 1000);
    const metrics = async (q: string) => (await (await t.api(`/sandboxes/${sbx.sandboxId}/metrics${q}`)).json()) as unknown[];
    expect(await metrics(`?start=${now - 60}&end=${now + 60}`)).toHaveLength(1);
    expect(await metrics(`?end=${now - 60}`)).toHaveLength(0);
    expect(await metrics(`?start=${now + 60}`)).toHaveLength(0);
    expect((await t.api(`/sandboxes/${sbx.sandboxId}/metrics?start=yesterday`)).status).toBe(400);
    await sbx.kill();
  });

  it("paginates with limit and nextToken", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await Sandbox.create("base", { ...t.sdk, metadata: { suite: "pages" } })).sandboxId);
    const paginator = Sandbox.list({ ...t.sdk, limit: 2, query: { metadata: { suite: "pages" } } });
    const pages: string[][] = [];
    while (paginator.hasNext) pages.push((await paginator.nextItems()).map((s) => s.sandboxId));
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(pages.flat().sort()).toEqual([...ids].sort());
    expect(new Set(pages.flat()).size).toBe(5);
  });
});

describe("timeouts, pause/resume, fork, kill", () => {
  it("setTimeout shortens the TTL; the sandbox expires and disappears from list", async () => {
    const sbx = await Sandbox.create("base", { ...t.sdk, metadata: { suite: "ttl" } });
    const created = await sbx.getInfo();
    await sbx.setTimeout(1000);
    const info = await sbx.getInfo();
    // Created with the default 300 s: its end moved a good 4 minutes earlier.
    expect(created.endAt.getTime() - info.endAt.getTime()).toBeGreaterThan(240_000);
    // the sweeper runs every 250 ms: poll instead of sleeping a fixed time
    for (let i = 0; i < 50 && (await listAll({ query: { metadata: { suite: "ttl" } } })).length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await listAll({ query: { metadata: { suite: "ttl" } } })).toEqual([]);
    await expect(sbx.getInfo()).rejects.toBeInstanceOf(SandboxNotFoundError);
    expect(await sbx.isRunning()).toBe(false);
  });

  it("pauses files-only (processes stop, files stay) and resumes via connect", async () => {
    const sbx = await Sandbox.create("base", { ...t.sdk });
    await sbx.files.write("/home/user/keep.txt", "kept");
    const bg = await sbx.commands.run("sleep 60", { background: true });
    expect(await sbx.pause({ keepMemory: false })).toBe(true);
    expect(await Sandbox.pause(sbx.sandboxId, t.sdk)).toBe(false); // already paused: 409 -> false
    expect((await sbx.getInfo()).state).toBe("paused");
    expect(await sbx.isRunning()).toBe(false);
    // its stream is cut like a vanished VM's; the SDK's health probe then sees 502 -> TimeoutError
    await expect(bg.wait()).rejects.toBeInstanceOf(TimeoutError);

    const resumed = await Sandbox.connect(sbx.sandboxId, t.sdk);
    expect((await resumed.getInfo()).state).toBe("running");
    expect(await resumed.files.read("/home/user/keep.txt")).toBe("kept");
    expect((await resumed.commands.list()).length).toBe(0);
    const r = await resumed.commands.run("cat keep.txt && echo after-resume");
    expect(r.stdout).toBe("keptafter-resume\n");
    // connecting to a running sandbox only extends the TTL
    const before = (await resumed.getInfo()).endAt.getTime();
    await Sandbox.connect(sbx.sandboxId, { ...t.sdk, timeoutMs: 10_000 });
    expect((await resumed.getInfo()).endAt.getTime()).toBe(before);
    await resumed.kill();
  });

  it("forks a sandbox into new sandboxes with its files copied", async () => {
    const sbx = await Sandbox.create("base", { ...t.sdk, metadata: { suite: "fork" } });
    await sbx.files.write("/home/user/repo/state.txt", "v1");
    const forks = await Sandbox.fork(sbx.sandboxId, { ...t.sdk, count: 2, timeoutMs: 60_000 });
    expect(forks).toHaveLength(2);
    for (const f of forks) {
      expect(f).toBeInstanceOf(Sandbox);
      const fork = f as Sandbox;
      expect(fork.sandboxId).not.toBe(sbx.sandboxId);
      expect(await fork.files.read("/home/user/repo/state.txt")).toBe("v1");
      await fork.files.write("/home/user/repo/state.txt", `changed in ${fork.sandboxId}`);
      expect((await fork.getInfo()).metadata).toEqual({ suite: "fork" });
    }
    expect(await sbx.files.read("/home/user/repo/state.txt")).toBe("v1");
    // the raw endpoint shape, and a fork reached through Sandbox.connect
    const res = await t.api(`/sandboxes/${sbx.sandboxId}/fork`, { method: "POST", body: JSON.stringify({ count: 1, timeout: 30 }) });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Array<{ sandbox: { sandboxID: string } }>;
    const viaConnect = await Sandbox.connect(body[0]!.sandbox.sandboxID, t.sdk);
    expect(await viaConnect.files.read("repo/state.txt")).toBe("v1");
    await sbx.pause();
    const paused = await t.api(`/sandboxes/${sbx.sandboxId}/fork`, { method: "POST", body: "{}" });
    expect(paused.status).toBe(409);
    for (const s of [...forks, viaConnect, sbx]) if (s instanceof Sandbox) await s.kill();
  });

  it("kill removes the sandbox; getInfo then throws SandboxNotFoundError", async () => {
    const sbx = await Sandbox.create("base", { ...t.sdk });
    const dir = `${t.server.dataDir}/${sbx.sandboxId}`;
    await sbx.kill();
    await expect(Sandbox.getInfo(sbx.sandboxId, t.sdk)).rejects.toBeInstanceOf(SandboxNotFoundError);
    expect(await Sandbox.kill(sbx.sandboxId, t.sdk)).toBe(false);
    await new Promise((r) => setTimeout(r, 100));
    const { existsSync } = await import("node:fs");
    expect(existsSync(dir)).toBe(false);
  });
});

describe("errors and auth", () => {
  it("rejects a wrong API key with AuthenticationError", async () => {
    await expect(Sandbox.create("base", { ...t.sdk, apiKey: "e2b_deadbeef" })).rejects.toBeInstanceOf(AuthenticationError);
    await expect(Sandbox.list({ ...t.sdk, apiKey: "e2b_deadbeef" }).nextItems()).rejects.toBeInstanceOf(AuthenticationError);
    const res = await fetch(`${t.server.url}/v2/sandboxes`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 401 });
    const health = await fetch(`${t.server.url}/health`);
    expect(health.status).toBe(200);
  });

  it("connect to an unknown sandbox throws SandboxNotFoundError", async () => {
    await expect(Sandbox.connect("idoesnotexist00000000", t.sdk)).rejects.toBeInstanceOf(SandboxNotFoundError);
  });

  it("envd rejects a wrong access token (401) and answers 502 for unknown sandboxes", async () => {
    const sbx = await Sandbox.create("base", { ...t.sdk });
    const url = `${t.server.url}/filesystem.Filesystem/ListDir`;
    const body = JSON.stringify({ path: "/home/user", depth: 1 });
    const headers = { "Content-Type": "application/json", "E2b-Sandbox-Id": sbx.sandboxId, "E2b-Sandbox-Port": "49983" };
    const bad = await fetch(url, { method: "POST", body, headers: { ...headers, "X-Access-Token": "wrong" } });
    expect(bad.status).toBe(401);
    const good = await fetch(url, { method: "POST", body, headers: { ...headers, "X-Access-Token": sbx["envdAccessToken"] as string } });
    expect(good.status).toBe(200);
    const health = await fetch(`${t.server.url}/health`, { headers: { "E2b-Sandbox-Id": sbx.sandboxId } });
    expect(health.status).toBe(204);
    const gone = await fetch(url, { method: "POST", body, headers: { ...headers, "E2b-Sandbox-Id": "inope" } });
    expect(gone.status).toBe(502);
    expect(await gone.json()).toEqual({ sandboxId: "inope", message: "The sandbox was not found", code: 502 });
    await sbx.kill();
  });

  it("rejects bad input with 400", async () => {
    const res = await t.api("/v2/sandboxes", { method: "POST", body: JSON.stringify({ templateID: "base", timeout: 0 }) });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 400, message: "Timeout must be greater than 0" });
    const list = await t.api("/v2/sandboxes?limit=0");
    expect(list.status).toBe(400);
  });
});

describe("persistence", () => {
  it("keeps sandboxes (running without processes, paused stays paused) across a restart", async () => {
    const { mkdtempSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dataDir = mkdtempSync(join(tmpdir(), "local-sandbox-persist-"));
    try {
      const first = await startSandboxServer({ port: 0, dataDir, log: () => {} });
      const opts = { apiKey: first.apiKey, apiUrl: first.url, sandboxUrl: first.url };
      const a = await Sandbox.create("base", { ...opts, metadata: { p: "1" } });
      await a.files.write("/home/user/persisted.txt", "still here");
      const b = await Sandbox.create("base", { ...opts, metadata: { p: "1" } });
      await b.pause();
      await first.close();

      const second = await startSandboxServer({ port: 0, dataDir, log: () => {} });
      const opts2 = { apiKey: second.apiKey, apiUrl: second.url, sandboxUrl: second.url };
      const infoA = await Sandbox.getInfo(a.sandboxId, opts2);
      const infoB = await Sandbox.getInfo(b.sandboxId, opts2);
      expect([infoA.state, infoB.state]).toEqual(["running", "paused"]);
      const a2 = await Sandbox.connect(a.sandboxId, opts2);
      expect(await a2.files.read("persisted.txt")).toBe("still here");
      await second.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
