// The warm pool end to end, as smoke: PUT /v1/pool is validated; warm sandboxes are made on the
// local sandbox server, a fork takes one (its timeout becomes the fork's), the pool refills, the
// reaper spares them, /metrics shows them; entries naming an alias or a profile resolve through
// D1 and the profiles. What the pool decides (paused mode, idle recycling and its overhead, targets,
// shedding, an alias that moves) is unit-tested over a fake backend: test/unit/pool-warm.test.ts.
import { Sandbox } from "e2b";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { PoolTemplateStatus } from "../../src/api/pool";
import { api, createRun, e2bOptions, getRun, sandboxAdmin, waitFor, waitForRunStatus } from "./helpers";

type Stats = Awaited<ReturnType<typeof sandboxAdmin.stats>> & { pausedNow: number; resumed: number };

async function configure(templates: Record<string, unknown>): Promise<Response> {
  return api("/v1/pool", { method: "PUT", json: { templates } });
}

async function warmStatus(template = "base"): Promise<PoolTemplateStatus | undefined> {
  const body = (await (await api("/v1/pool")).json()) as { templates: Record<string, PoolTemplateStatus> };
  return body.templates[template];
}

const stats = () => sandboxAdmin.stats() as Promise<Stats>;

describe("PUT /v1/pool", () => {
  it.each([
    [{ base: { min: 3, max: 2 } }, "templates.base.max"],
    [{ base: { min: -1 } }, "templates.base.min"],
    [{ base: { min: 1, mode: "frozen" } }, "templates.base.mode"],
    [{ base: { min: 1, idleSeconds: 0 } }, "templates.base.idleSeconds"],
    [{ base: { min: 1, size: 2 } }, "templates.base.size"],
    [{ "bad name!": { min: 1 } }, "templates.bad name!"],
    [{ base: { min: 30 }, other: { min: 30 } }, "templates.base.min"],
  ])("rejects %j naming the field (%s)", async (templates, field) => {
    const res = await configure(templates);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; details: { field: string } } };
    expect(body.error.code).toBe("invalid_input");
    expect(body.error.details.field).toBe(field);
  });

  it("rejects a missing body", async () => {
    const res = await api("/v1/pool", { method: "PUT" });
    expect(res.status).toBe(400);
  });
});

describe("the warm pool", () => {
  beforeEach(async () => {
    await sandboxAdmin.reset();
  });
  afterEach(async () => {
    expect((await configure({})).status).toBe(200);
    await waitFor("the warm sandboxes to be trimmed", async () => (await stats()).live + (await stats()).pausedNow === 0, 20_000);
  });

  it("keeps min running sandboxes ready; a fork takes one (its timeout extended to the fork's), the reaper spares both, the pool refills", async () => {
    const res = await configure({ base: { min: 2, idleSeconds: 120 } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { templates: Record<string, PoolTemplateStatus> }).templates.base).toMatchObject({ min: 2, max: 2, idleSeconds: 120, mode: "running" });
    await waitFor("two warm sandboxes", async () => (await warmStatus())?.warm.running === 2, 20_000);
    expect((await stats()).created).toBe(2);
    const { hits, misses } = (await warmStatus())!;

    const run = await createRun({ timeoutSeconds: 3600, task: { commands: ["sleep 2", "echo warm > hello.txt"] } });
    const sandboxId = await waitFor("the fork's sandbox", async () => (await getRun(run.id)).forks[0]?.sandboxId);
    // Created for 120 s of idling; handed out, it lives for the fork's hour.
    await waitFor("the sandbox's timeout to become the fork's", async () => (await Sandbox.getInfo(sandboxId, e2bOptions())).endAt.getTime() - Date.now() > 1800_000, 5_000);
    const report = (await (await api("/v1/reaper/run", { method: "POST" })).json()) as { killed: { sandboxId: string }[] };
    expect(report.killed).toEqual([]);
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.status).toBe("completed");
    expect(view.forks[0]!.sandboxId).toBe(sandboxId);

    const warm = await waitFor("the pool to refill", async () => {
      const s = await warmStatus();
      return s?.warm.running === 2 ? s : undefined;
    });
    // The fork's sandbox, then its verification sandbox: both warm.
    expect({ hits: warm.hits, misses: warm.misses }).toEqual({ hits: hits + 2, misses });
    expect(warm.acquireMs.warm.count).toBeGreaterThan(0);
    // Two warm, two refills: the fork and its verification created nothing.
    expect((await stats()).created).toBe(4);
    // The handed-out sandbox's idle time is booked as the pool's overhead, and shown.
    expect(warm.overhead.usd).toBeGreaterThan(0);
    const metrics = await (await api("/metrics")).text();
    expect(Number(/forkyard_warm_overhead_usd_total\{template="base"\} (\S+)/.exec(metrics)?.[1])).toBeGreaterThan(0);
    expect(metrics).toContain('forkyard_warm_sandboxes{template="base",state="running"} 2');
  });

  it("an entry may name an alias or a profile (resolved through D1 and the profiles); a run by profile takes from it", async () => {
    const alias = `warm-${crypto.randomUUID().slice(0, 8)}`;
    await api(`/v1/templates/${alias}`, { method: "PUT", json: { templateId: "tpl-w1" } });
    await configure({ [alias]: { min: 1, idleSeconds: 120 }, light: { min: 1, idleSeconds: 120 } });
    const ready = async (entry: string) => (await warmStatus(entry))?.warm.running === 1;
    await waitFor("both entries ready", async () => (await ready(alias)) && (await ready("light")), 20_000);
    const warmTemplates = async () => (await Sandbox.list({ ...e2bOptions(), query: { state: ["running"] } }).nextItems()).map((s) => s.templateId).sort();
    expect(await warmTemplates()).toEqual(["base", "tpl-w1"]);

    const byProfile = (await warmStatus("light"))!.hits;
    const run = await createRun({ profile: "light", task: { commands: ["true"] } });
    await waitForRunStatus(run.id, ["completed", "failed"]);
    // The fork's sandbox and its verification sandbox.
    expect((await warmStatus("light"))!.hits).toBe(byProfile + 2);
  });
});
