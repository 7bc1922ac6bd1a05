import { env } from "cloudflare:workers";
import { Sandbox } from "e2b";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import type { Env } from "../../src/core/env";
import { SANDBOX_TAG } from "../../src/sandbox/metadata";
import { api, createRun, e2bOptions, waitFor, waitForRunStatus } from "./helpers";

/** Parses the exposition into `name{labels}` -> value. */
async function scrape(): Promise<Map<string, number>> {
  const res = await api("/metrics", { token: null });
  expect(res.status).toBe(200);
  expect(res.headers.get("Content-Type")).toContain("text/plain");
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

describe("GET /metrics", () => {
  it("exposes runs, forks, durations, step attempts, costs and sandboxes from durable state", async () => {
    const run = await createRun({ forks: 2, maxConcurrent: 2, task: { commands: ['[ "$FORKYARD_FORK" = 1 ] || exit 4'] } });
    await waitForRunStatus(run.id, ["completed"]);
    const m = await waitFor("the ended forks to be exported", async () => {
      const samples = await scrape();
      return samples.get("forkyard_fork_duration_seconds_count") === 2 ? samples : undefined;
    });
    expect(m.get('forkyard_runs_total{status="completed"}')).toBe(1);
    expect(m.get('forkyard_runs_total{status="running"}')).toBe(0);
    expect(m.get('forkyard_forks_total{status="succeeded"}')).toBe(1);
    expect(m.get('forkyard_forks_total{status="failed"}')).toBe(1);
    expect(m.get('forkyard_forks_total{status="queued"}')).toBe(0);
    expect(m.get('forkyard_fork_duration_seconds_bucket{le="+Inf"}')).toBe(2);
    expect(m.get('forkyard_fork_duration_seconds_bucket{le="60"}')).toBe(2);
    expect(m.get("forkyard_fork_duration_seconds_sum")).toBeGreaterThan(0);
    // A non-zero exit fails the command's step (once: it is not retried), and the fork after it.
    expect(m.get('forkyard_step_attempts_total{step="command",outcome="success"}')).toBe(1);
    expect(m.get('forkyard_step_attempts_total{step="command",outcome="failure"}')).toBe(1);
    expect(m.get('forkyard_step_attempts_total{step="command",outcome="retry"}')).toBe(0);
    expect(m.get('forkyard_step_attempts_total{step="acquire-sandbox",outcome="success"}')).toBe(2);
    expect(m.get('forkyard_cost_usd_total{kind="sandbox",model=""}')).toBeGreaterThan(0);
    expect(m.get("forkyard_live_sandboxes")).toBe(0);
    expect(m.get("forkyard_forks_running")).toBe(0);
    expect(m.get("forkyard_max_live_sandboxes")).toBe(50);
  });

  it("counts sandboxes killed by the reaper", async () => {
    const before = (await scrape()).get("forkyard_reaped_sandboxes_total") ?? 0;
    await Sandbox.create("base", { ...e2bOptions(), metadata: { [SANDBOX_TAG.app]: "1", [SANDBOX_TAG.lease]: "rmetrics-1" } });
    await api("/v1/reaper/run", { method: "POST" });
    expect((await scrape()).get("forkyard_reaped_sandboxes_total")).toBe(before + 1);
  });

  it("needs METRICS_TOKEN when deployed (not SANDBOX_BACKEND=local): closed without one, bearer with one", async () => {
    const app = createApp();
    const scrapeWith = (vars: Partial<Env>, token?: string) =>
      app.fetch(new Request("http://forkyard.test/metrics", { headers: token ? { Authorization: `Bearer ${token}` } : {} }), { ...(env as unknown as Env), ...vars });
    const deployed = await scrapeWith({ SANDBOX_BACKEND: "e2b", METRICS_TOKEN: undefined });
    expect(deployed.status).toBe(401);
    expect(((await deployed.json()) as { error: { message: string } }).error.message).toContain("set METRICS_TOKEN");
    expect((await scrapeWith({ SANDBOX_BACKEND: "e2b", METRICS_TOKEN: "m-token" })).status).toBe(401);
    expect((await scrapeWith({ SANDBOX_BACKEND: "e2b", METRICS_TOKEN: "m-token" }, "wrong")).status).toBe(401);
    expect((await scrapeWith({ SANDBOX_BACKEND: "e2b", METRICS_TOKEN: "m-token" }, "m-token")).status).toBe(200);
    // The local stack without a token (these tests) stays open; with one, it needs it too.
    expect((await scrapeWith({ SANDBOX_BACKEND: "local", METRICS_TOKEN: undefined })).status).toBe(200);
    expect((await scrapeWith({ SANDBOX_BACKEND: "local", METRICS_TOKEN: "m-token" })).status).toBe(401);
  });
});
