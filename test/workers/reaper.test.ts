import { Sandbox } from "e2b";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SANDBOX_TAG } from "../../src/sandbox/metadata";
import { exports } from "cloudflare:workers";
import { api, createRun, e2bOptions, getRun, sandboxAdmin, scriptedModel, waitFor, waitForRunStatus } from "./helpers";

describe("the reaper", () => {
  it("kills a planted Forkyard-tagged orphan and leaves other sandboxes alone", async () => {
    const orphan = await Sandbox.create("base", { ...e2bOptions(), metadata: { [SANDBOX_TAG.app]: "1", [SANDBOX_TAG.run]: "rorphan", [SANDBOX_TAG.lease]: "rorphan-1" } });
    const bystander = await Sandbox.create("base", { ...e2bOptions(), metadata: { owner: "someone-else" } });

    const res = await api("/v1/reaper/run", { method: "POST" });
    expect(res.status).toBe(200);
    const report = (await res.json()) as { count: number; killed: { sandboxId: string; reason: string }[] };
    expect(report.killed).toContainEqual({ sandboxId: orphan.sandboxId, runId: "rorphan", reason: "no_lease" });
    expect(report.killed.map((k) => k.sandboxId)).not.toContain(bystander.sandboxId);

    await expect(Sandbox.connect(orphan.sandboxId, e2bOptions())).rejects.toThrow();
    expect((await Sandbox.getInfo(bystander.sandboxId, e2bOptions())).sandboxId).toBe(bystander.sandboxId);
    await bystander.kill();
  });

  it("runs on the cron trigger", async () => {
    const orphan = await Sandbox.create("base", { ...e2bOptions(), metadata: { [SANDBOX_TAG.app]: "1", [SANDBOX_TAG.lease]: "rcron-1" } });
    const worker = (exports as unknown as { default: { scheduled(event: { cron: string; scheduledTime: number }): Promise<{ outcome: string }> } }).default;
    const result = await worker.scheduled({ cron: "*/5 * * * *", scheduledTime: Date.now() });
    expect(result.outcome).toBe("ok");
    await waitFor("the orphan to be killed", async () => (await Sandbox.list({ ...e2bOptions(), query: { metadata: { [SANDBOX_TAG.lease]: "rcron-1" } } }).nextItems()).length === 0);
    await expect(Sandbox.connect(orphan.sandboxId, e2bOptions())).rejects.toThrow();
  });
});

describe("no lease leaks", () => {
  beforeEach(async () => {
    await sandboxAdmin.reset();
  });
  afterEach(async () => {
    await sandboxAdmin.faults([]);
  });

  it("a kill that fails at release is retried until the sandbox is gone; the fork is not held up and capacity comes back", async () => {
    await sandboxAdmin.faults([{ op: "kill", status: 503 }]);
    const run = await createRun({ task: { commands: ["echo ok"] } });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.status).toBe("completed");
    // The sandbox is still alive (every kill failed) and still counts against the cap.
    expect((await sandboxAdmin.stats()).live).toBe(1);

    await sandboxAdmin.faults([]);
    const report = (await (await api("/v1/reaper/run", { method: "POST" })).json()) as { freed: { key: string; reason: string; sandboxId: string }[] };
    expect(report.freed).toContainEqual({ key: `${run.id}-1`, sandboxId: view.forks[0]!.sandboxId, reason: "kill_retried" });
    expect((await sandboxAdmin.stats()).live).toBe(0);
  });

  it("a failed kill whose sandbox then expires is settled too (the kill finds nothing: done)", async () => {
    await sandboxAdmin.faults([{ op: "kill", status: 503 }]);
    const run = await createRun({ task: { commands: ["echo ok"] } });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    await sandboxAdmin.request(`/admin/sandboxes/${view.forks[0]!.sandboxId}/expire`, { method: "POST" });
    expect((await sandboxAdmin.stats()).live).toBe(0);
    await sandboxAdmin.faults([]);
    const report = (await (await api("/v1/reaper/run", { method: "POST" })).json()) as { freed: { key: string; reason: string }[] };
    expect(report.freed).toContainEqual(expect.objectContaining({ key: `${run.id}-1`, reason: "kill_retried" }));
  });

  it("frees a lease whose sandbox vanished under a running fork (expired, killed elsewhere)", async () => {
    // An agent fork inside its first model call (answered a minute later): it does not touch its
    // sandbox meanwhile, so only the reaper can notice the sandbox is gone (a command would fail
    // at once, and the fork replace its sandbox itself).
    await scriptedModel.reset();
    await scriptedModel.script([{ content: [{ type: "text", text: "late" }], delayMs: 60_000 }]);
    const run = await createRun({ task: { prompt: "wait", model: "sonnet" } });
    const sandboxId = await waitFor("the fork's model call", async () => {
      const v = await getRun(run.id);
      return v.forks[0]?.steps.some((s) => s.name === "model-1" && s.status === "running") ? v.forks[0]!.sandboxId : undefined;
    });
    // Gone behind the Pool's back. The lease is freed once it was acquired more than the grace
    // period (REAPER_GONE_GRACE_SECONDS, 1 s in tests) before a listing that lacks its sandbox.
    await sandboxAdmin.request(`/admin/sandboxes/${sandboxId}/expire`, { method: "POST" });
    const freed = await waitFor("a reaper pass to free the lease", async () => {
      const report = (await (await api("/v1/reaper/run", { method: "POST" })).json()) as { freed: { key: string; reason: string; sandboxId: string }[] };
      return report.freed.find((f) => f.key === `${run.id}-1` && f.reason === "sandbox_gone");
    });
    expect(freed).toEqual({ key: `${run.id}-1`, sandboxId, reason: "sandbox_gone" });
    expect((await api(`/v1/runs/${run.id}/cancel`, { method: "POST" })).status).toBe(200);
    await waitForRunStatus(run.id, ["cancelled", "completed", "failed"]);
  });
});
