// Pause with memory (E2B's `pause({ keepMemory })`, issue 23 item 2): a paused sandbox's processes
// are frozen and go on after connect; `keepMemory: false`, the frozen-memory cap and a server
// restart make a pause files-only, and the admin view and the log say so.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Sandbox } from "e2b";
import { startTestSandboxServer, type TestSandboxServer } from "../../local-sandbox/testing.ts";

// Started with `timeoutMs: 0`: no process deadline (its timer runs on while the sandbox is paused).
const COUNTER = "i=0; while :; do i=$((i+1)); echo $i > /home/user/count; sleep 0.05; done";

const count = async (sbx: Sandbox) => Number((await sbx.files.read("/home/user/count")).trim() || "0");

/** Polls (no clock) until the counter file passes `above`. */
async function countPasses(sbx: Sandbox, above: number): Promise<number> {
  for (;;) {
    const n = await count(sbx).catch(() => 0);
    if (n > above) return n;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function pauseView(srv: TestSandboxServer, id: string): Promise<{ pause?: { memory: boolean; note?: string }; frozen: { how: string } | null }> {
  const rows = (await (await srv.api("/admin/sandboxes")).json()) as Array<{ sandboxID: string; pause?: { memory: boolean; note?: string }; frozen: { how: string } | null }>;
  return rows.find((r) => r.sandboxID === id)!;
}

describe("pause with memory", () => {
  let srv: TestSandboxServer;
  beforeAll(async () => {
    srv = await startTestSandboxServer();
  });
  afterAll(async () => {
    await srv.stop();
  });

  it("keeps a background process: frozen while paused, the same pid goes on counting after connect", async () => {
    const sbx = await Sandbox.create("base", { ...srv.sdk, timeoutMs: 60_000 });
    const boot = (await sbx.commands.run("cat /proc/sys/kernel/random/boot_id")).stdout;
    const bg = await sbx.commands.run(COUNTER, { background: true, timeoutMs: 0 });
    await countPasses(sbx, 2);

    expect(await sbx.pause()).toBe(true);
    expect(await sbx.isRunning()).toBe(false);
    const view = await pauseView(srv, sbx.sandboxId);
    expect(view.pause).toEqual({ memory: true });
    expect(view.frozen?.how).toMatch(/cgroup freezer|SIGSTOP/);

    const resumed = await sbx.connect();
    const atResume = await count(resumed);
    expect((await resumed.commands.list()).map((p) => p.pid)).toContain(bg.pid);
    expect(await countPasses(resumed, atResume + 2)).toBeGreaterThan(atResume + 2);
    // a memory pause is no reboot
    expect((await resumed.commands.run("cat /proc/sys/kernel/random/boot_id")).stdout).toBe(boot);
    await resumed.kill();
  });

  it("is files-only with keepMemory: false (processes stopped)", async () => {
    const sbx = await Sandbox.create("base", { ...srv.sdk, timeoutMs: 60_000 });
    await sbx.commands.run(COUNTER, { background: true, timeoutMs: 0 });
    await countPasses(sbx, 1);
    await sbx.pause({ keepMemory: false });
    expect((await pauseView(srv, sbx.sandboxId)).pause).toEqual({ memory: false });
    const resumed = await sbx.connect();
    expect(await resumed.commands.list()).toEqual([]);
    await resumed.kill();
  });
});

describe("without cgroups (SANDBOX_LIMITS=off)", () => {
  it("stops the process tree with SIGSTOP and continues it on connect", async () => {
    const srv = await startTestSandboxServer({ limits: false });
    try {
      const sbx = await Sandbox.create("base", { ...srv.sdk, timeoutMs: 60_000 });
      const bg = await sbx.commands.run(COUNTER, { background: true, timeoutMs: 0 });
      await countPasses(sbx, 1);
      await sbx.pause();
      expect((await pauseView(srv, sbx.sandboxId)).frozen?.how).toBe("SIGSTOP");
      const resumed = await sbx.connect();
      const atResume = await count(resumed);
      expect((await resumed.commands.list()).map((p) => p.pid)).toContain(bg.pid);
      expect(await countPasses(resumed, atResume + 2)).toBeGreaterThan(atResume + 2);
    } finally {
      await srv.stop();
    }
  });
});

describe("the frozen-memory cap", () => {
  it("at 0 makes every pause files-only, and the admin view and the log say why", async () => {
    const logs: string[] = [];
    const srv = await startTestSandboxServer({ frozenMemoryMB: 0, log: (m) => logs.push(m) });
    try {
      const sbx = await Sandbox.create("base", { ...srv.sdk, timeoutMs: 60_000 });
      await sbx.commands.run(COUNTER, { background: true, timeoutMs: 0 });
      await countPasses(sbx, 1);
      expect(await sbx.pause()).toBe(true);
      const view = await pauseView(srv, sbx.sandboxId);
      expect(view.pause?.memory).toBe(false);
      expect(view.pause?.note).toMatch(/files-only.*SANDBOX_FROZEN_MEMORY_MB=0/);
      expect(view.frozen).toBeNull();
      expect(logs.some((l) => l.includes(sbx.sandboxId) && l.includes("files-only"))).toBe(true);
      const resumed = await sbx.connect();
      expect(await resumed.commands.list()).toEqual([]);
    } finally {
      await srv.stop();
    }
  });
});

describe("a server restart", () => {
  it("resumes a sandbox paused with memory files-only, and says so", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "local-sandbox-frozen-"));
    try {
      const first = await startTestSandboxServer({ dataDir });
      const sbx = await Sandbox.create("base", { ...first.sdk, timeoutMs: 60_000 });
      await sbx.commands.run(COUNTER, { background: true, timeoutMs: 0 });
      await countPasses(sbx, 1);
      await sbx.pause();
      expect((await pauseView(first, sbx.sandboxId)).pause).toEqual({ memory: true });
      await first.stop();

      const logs: string[] = [];
      const second = await startTestSandboxServer({ dataDir, log: (m) => logs.push(m) });
      try {
        const view = await pauseView(second, sbx.sandboxId);
        expect(view.pause).toEqual({ memory: false, note: expect.stringMatching(/server restarted.*resumes files-only/) });
        expect(logs.some((l) => l.includes(sbx.sandboxId) && l.includes("resumes files-only"))).toBe(true);
        const resumed = await Sandbox.connect(sbx.sandboxId, second.sdk);
        expect(await resumed.commands.list()).toEqual([]);
        expect(await count(resumed)).toBeGreaterThan(0);
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
