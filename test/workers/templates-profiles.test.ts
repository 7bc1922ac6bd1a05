// Size profiles and pinned template aliases: a run resolves both when created and keeps them.
import { Sandbox } from "e2b";
import { describe, expect, it } from "vitest";
import type { RunView } from "../../src/api/runs";
import { DEFAULT_PROFILES } from "../../src/core/sandbox-profiles";
import { api, createRun, e2bOptions, getRun, testEnv, waitFor, waitForRunStatus } from "./helpers";
import { plantRun } from "./planted-run";

async function putAlias(alias: string, templateId: string): Promise<Response> {
  return api(`/v1/templates/${alias}`, { method: "PUT", json: { templateId } });
}

const templateOf = async (sandboxId: string) => (await Sandbox.getInfo(sandboxId, e2bOptions())).templateId;

describe("profiles", () => {
  it("GET /v1/profiles lists the four with their template, size and timeout", async () => {
    const body = (await (await api("/v1/profiles")).json()) as { profiles: Record<string, unknown> };
    expect(body.profiles).toEqual(DEFAULT_PROFILES);
  });

  it("a run's profile sets its timeout and its cost rate (unless the run sets them); the sandbox is costed at the profile's size", async () => {
    const heavy = await createRun({ profile: "heavy", task: { commands: ["sleep 1"] } });
    const light = await createRun({ profile: "light", timeoutSeconds: 600, task: { commands: ["sleep 1"] } });
    const [h, l] = await Promise.all([waitForRunStatus(heavy.id, ["completed", "failed"]), waitForRunStatus(light.id, ["completed", "failed"])]);
    expect(h.request.timeoutSeconds).toBe(DEFAULT_PROFILES.heavy.timeoutSeconds);
    expect(l.request.timeoutSeconds).toBe(600);
    expect(h.sandbox).toEqual({ profile: "heavy", templateId: "base", alias: null, vcpu: 4, memoryGib: 8 });
    expect(l.sandbox).toMatchObject({ profile: "light", vcpu: 1, memoryGib: 1 });
    // Per sandbox-second, heavy (4 vCPU, 8 GiB) costs several times light (1, 1).
    const rate = (v: RunView) => v.forks[0]!.costUsd.sandbox / (Date.parse(v.forks[0]!.finishedAt!) - Date.parse(v.forks[0]!.startedAt!));
    expect(rate(h) / rate(l)).toBeGreaterThan(3);
  });

  it("rejects an unknown profile naming the field", async () => {
    const res = await api("/v1/runs", { method: "POST", json: { repo: "/x", profile: "huge", task: { commands: ["true"] } } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { details: { field: string } } }).error.details.field).toBe("profile");
  });
});

describe("template aliases", () => {
  it("PUT records versions, GET lists them, rollback returns to the previous one", async () => {
    const alias = `env-${crypto.randomUUID().slice(0, 8)}`;
    expect((await api(`/v1/templates/${alias}`)).status).toBe(404);
    expect((await putAlias(alias, "tpl-a")).status).toBe(201);
    expect((await putAlias(alias, "tpl-a")).status).toBe(200);
    const moved = await putAlias(alias, "tpl-b");
    expect(moved.status).toBe(201);
    const view = (await moved.json()) as { active: { version: number; templateId: string }; versions: { version: number; templateId: string; active: boolean }[] };
    expect(view.active).toEqual({ version: 2, templateId: "tpl-b" });
    expect(view.versions.map((v) => [v.version, v.templateId, v.active])).toEqual([
      [2, "tpl-b", true],
      [1, "tpl-a", false],
    ]);
    const back = await api(`/v1/templates/${alias}/rollback`, { method: "POST" });
    expect(((await back.json()) as { active: unknown }).active).toEqual({ version: 1, templateId: "tpl-a" });
    const again = await api(`/v1/templates/${alias}/rollback`, { method: "POST" });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe("no_previous_version");
  });

  it("rejects a bad template id naming the field", async () => {
    const res = await putAlias("env-bad", "no spaces please");
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { details: { field: string } } }).error.details.field).toBe("templateId");
  });

  it("a run pinned to version A keeps creating from A after the alias moves to B, also for a fork relaunched after a crash", async () => {
    const alias = `env-${crypto.randomUUID().slice(0, 8)}`;
    await putAlias(alias, "tpl-a");
    const key = `pin-${crypto.randomUUID()}`;
    const body = { repo: testEnv.TEST_REPO, template: alias, forks: 2, maxConcurrent: 2, task: { commands: ["sleep 3"] } };
    // The run was created (resolving A) and fork 2 launched, then the runtime crashed before its instance existed.
    const { id } = await plantRun(body, { idempotencyKey: key, launched: [2] });

    await putAlias(alias, "tpl-b");
    // The client retries: the run is driven (fork 2 relaunched, fork 1 launched), still on A.
    expect((await api("/v1/runs", { method: "POST", json: body, headers: { "Idempotency-Key": key } })).status).toBe(202);
    const ids = await waitFor("both forks' sandboxes", async () => {
      const forks = (await getRun(id)).forks;
      return forks.every((f) => f.sandboxId) ? forks.map((f) => f.sandboxId!) : undefined;
    });
    expect(await Promise.all(ids.map(templateOf))).toEqual(["tpl-a", "tpl-a"]);
    const view = await waitForRunStatus(id, ["completed", "failed"]);
    expect(view.status).toBe("completed");
    expect(view.sandbox).toMatchObject({ templateId: "tpl-a", alias: { name: alias, version: 1 } });

    // A new run takes B.
    const next = await createRun({ template: alias, task: { commands: ["true"] } });
    expect((await getRun(next.id)).sandbox).toMatchObject({ templateId: "tpl-b", alias: { name: alias, version: 2 } });
    await waitForRunStatus(next.id, ["completed", "failed"]);
  });
});
