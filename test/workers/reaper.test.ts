import { Sandbox } from "e2b";
import { describe, expect, it } from "vitest";
import { SANDBOX_TAG } from "../../src/sandbox/metadata";
import { exports } from "cloudflare:workers";
import { api, e2bOptions, waitFor } from "./helpers";

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
