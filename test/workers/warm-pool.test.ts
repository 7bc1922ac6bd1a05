// The warm pool: PUT /v1/pool keeps sandboxes ready per template; a fork takes one instead of
// creating, the Pool refills, recycles idle ones, books their idle time, and the reaper spares them.
import { env, runDurableObjectAlarm } from "cloudflare:test";
import { Sandbox } from "e2b";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { PoolTemplateStatus } from "../../src/api/pool";
import { POOL_NAME } from "../../src/durable-objects/pool";
import type { Env } from "../../src/env";
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

/** Runs the Pool's alarm now: its warm check (idle recycling, following an alias) comes every 5 s on its own. */
const poolAlarm = () => runDurableObjectAlarm((env as unknown as Env).POOL.getByName(POOL_NAME));

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

  it("keeps min running sandboxes ready; a fork takes one (its timeout extended to the fork's) and the pool refills", async () => {
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
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.status).toBe("completed");

    const warm = await waitFor("the pool to refill", async () => {
      const s = await warmStatus();
      return s?.warm.running === 2 ? s : undefined;
    });
    expect({ hits: warm.hits, misses: warm.misses }).toEqual({ hits: hits + 1, misses });
    expect(warm.acquireMs.warm.count).toBeGreaterThan(0);
    // Two warm, one refill: the fork created nothing.
    expect((await stats()).created).toBe(3);
  });

  it("paused warm sandboxes neither run nor count; a fork's acquire resumes one", async () => {
    await configure({ base: { min: 1, mode: "paused", idleSeconds: 120 } });
    await waitFor("a paused warm sandbox", async () => (await warmStatus())?.warm.paused === 1, 20_000);
    const hits = (await warmStatus())!.hits;
    const before = await stats();
    expect({ live: before.live, pausedNow: before.pausedNow }).toEqual({ live: 0, pausedNow: 1 });

    const run = await createRun({ task: { commands: ["echo resumed"] } });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.status).toBe("completed");
    expect(view.forks[0]!.commands[0]!.stdoutTail).toBe("resumed\n");
    expect((await stats()).resumed).toBe(1);
    expect((await warmStatus())?.hits).toBe(hits + 1);
  });

  it("recycles a warm sandbox idle past idleSeconds and books its idle time as overhead", async () => {
    await configure({ base: { min: 1, idleSeconds: 1 } });
    await waitFor("a warm sandbox", async () => (await warmStatus())?.warm.running === 1, 20_000);
    await waitFor("the idle one to be replaced", async () => {
      await poolAlarm();
      const s = await stats();
      return s.created >= 2 && s.killed >= 1;
    }, 30_000);
    const status = await warmStatus();
    expect(status!.overhead.sandboxSeconds).toBeGreaterThan(1);
    expect(status!.overhead.usd).toBeGreaterThan(0);
    const metrics = await (await api("/metrics")).text();
    expect(Number(/forkyard_warm_overhead_usd_total\{template="base"\} (\S+)/.exec(metrics)?.[1])).toBeGreaterThan(0);
    expect(metrics).toContain('forkyard_warm_sandboxes{template="base",state="running"} 1');
  });

  it("the reaper spares warm sandboxes, and a warm sandbox held by a running fork", async () => {
    await configure({ base: { min: 2, idleSeconds: 120 } });
    await waitFor("two warm sandboxes", async () => (await warmStatus())?.warm.running === 2, 20_000);
    const hits = (await warmStatus())!.hits;
    const run = await createRun({ task: { commands: ["sleep 3"] } });
    const sandboxId = await waitFor("the fork's sandbox", async () => (await getRun(run.id)).forks[0]?.sandboxId);
    const report = (await (await api("/v1/reaper/run", { method: "POST" })).json()) as { killed: { sandboxId: string }[] };
    expect(report.killed).toEqual([]);
    expect((await waitForRunStatus(run.id, ["completed", "failed"])).status).toBe("completed");
    expect((await getRun(run.id)).forks[0]!.sandboxId).toBe(sandboxId);
    expect((await warmStatus())?.hits).toBe(hits + 1);
  });

  it("an entry may name an alias (following it when it moves) or a profile; forks of runs resolving to it take from it", async () => {
    const alias = `warm-${crypto.randomUUID().slice(0, 8)}`;
    await api(`/v1/templates/${alias}`, { method: "PUT", json: { templateId: "tpl-w1" } });
    await configure({ [alias]: { min: 1, idleSeconds: 120 }, light: { min: 1, idleSeconds: 120 } });
    const ready = async (entry: string) => (await warmStatus(entry))?.warm.running === 1;
    await waitFor("both entries ready", async () => (await ready(alias)) && (await ready("light")), 20_000);
    const warmTemplates = async () => (await Sandbox.list({ ...e2bOptions(), query: { state: ["running"] } }).nextItems()).map((s) => s.templateId).sort();
    expect(await warmTemplates()).toEqual(["base", "tpl-w1"]);

    // The alias moves: its warm sandbox is replaced by one of the new version.
    await api(`/v1/templates/${alias}`, { method: "PUT", json: { templateId: "tpl-w2" } });
    await waitFor("the alias's warm sandbox to follow it", async () => {
      await poolAlarm();
      return JSON.stringify(await warmTemplates()) === JSON.stringify(["base", "tpl-w2"]);
    }, 20_000);

    const [byAlias, byProfile] = [(await warmStatus(alias))!.hits, (await warmStatus("light"))!.hits];
    const a = await createRun({ template: alias, task: { commands: ["true"] } });
    const b = await createRun({ profile: "light", task: { commands: ["true"] } });
    await waitForRunStatus(a.id, ["completed", "failed"]);
    await waitForRunStatus(b.id, ["completed", "failed"]);
    expect([(await warmStatus(alias))!.hits, (await warmStatus("light"))!.hits]).toEqual([byAlias + 1, byProfile + 1]);
    await configure({});
  });
});
