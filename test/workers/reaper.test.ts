// The reaper end to end, as smoke: it lists the sandbox server's Forkyard-tagged sandboxes, kills
// an orphan and spares others, runs on the cron trigger, and settles a kill that failed at
// release. Its verdicts (finished runs, max age, kept sandboxes, warm ones) and the leases it frees
// (a sandbox gone behind the Pool's back, a kill that finds nothing) are unit-tested with a fake
// backend and clock: test/unit/pool-reaper.test.ts.
import { Sandbox } from "e2b";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SANDBOX_TAG } from "../../src/sandbox/metadata";
import { exports } from "cloudflare:workers";
import { api, createRun, e2bOptions, sandboxAdmin, waitFor, waitForRunStatus } from "./helpers";

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
    // The fork's sandbox and its verification sandbox are still alive (every kill failed) and still count against the cap.
    expect((await sandboxAdmin.stats()).live).toBe(2);

    await sandboxAdmin.faults([]);
    const report = (await (await api("/v1/reaper/run", { method: "POST" })).json()) as { freed: { key: string; reason: string; sandboxId: string }[] };
    expect(report.freed).toContainEqual({ key: `${run.id}-1`, sandboxId: view.forks[0]!.sandboxId, reason: "kill_retried" });
    expect(report.freed).toContainEqual(expect.objectContaining({ key: `${run.id}-1-verify`, reason: "kill_retried" }));
    expect((await sandboxAdmin.stats()).live).toBe(0);
  });
});
