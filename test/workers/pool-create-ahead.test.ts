// The Pool starts a launched fork's sandbox while the engine starts its instance (Pool.prepare);
// the fork's own acquire then joins that create or finds its result, never making a second one.
// Smoke tests over RPC and a real run; the rules (in order, within the cap and the rate, never
// ahead of the queue, a sandbox released before it exists killed) are unit-tested in
// test/unit/pool-acquire.test.ts.
import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type LeaseRequest, type Pool } from "../../src/objects/pool/pool";
import type { Env } from "../../src/core/env";
import { createRun, getRun, api, sandboxAdmin, waitFor } from "./helpers";
import { POOL_NAME } from "../../src/protocol/events";
import { forkInstanceId } from "../../src/protocol/run-ids";

const pool = () => (env as unknown as Env).POOL.getByName(POOL_NAME) as unknown as DurableObjectStub<Pool>;

function lease(key: string): LeaseRequest {
  return { key, runId: `r${key}`, fork: 1, template: "base", timeoutSeconds: 300 };
}

describe("outgoing connections of one invocation", () => {
  afterEach(async () => {
    await sandboxAdmin.latency({});
  });

  it("a run's release kills its 12 sandboxes with at most 6 requests waiting for an answer at once (Cloudflare's limit per invocation)", async () => {
    await sandboxAdmin.reset();
    const runId = `conn-${crypto.randomUUID()}`;
    for (let fork = 1; fork <= 12; fork++) {
      const acquired = await pool().acquire({ key: `${runId}-${fork}`, runId, fork, template: "base", timeoutSeconds: 300 });
      expect(acquired.ok && acquired.value.status).toBe("acquired");
    }
    // Slow to answer: every kill waits 400 ms for its response headers.
    await sandboxAdmin.latency({ kill: 400 });
    const released = await pool().releaseRun(runId);
    expect(released.ok && released.value).toHaveLength(12);
    const stats = (await sandboxAdmin.stats()) as Awaited<ReturnType<typeof sandboxAdmin.stats>> & { peakWaiting: Record<string, number> };
    expect(stats.killed).toBe(12);
    expect(stats.peakWaiting.kill).toBe(6);
  });
});

describe("instance creations paced across runs", () => {
  it("the Pool books every run's fork-instance creations in one schedule (WORKFLOW_CREATE_RATE_PER_SECOND: 90 here)", async () => {
    // A full second's worth booked, by one run's launch: the next booking, whatever run makes it, waits for that second to pass.
    const first = await pool().bookWorkflowCreations(90);
    const second = await pool().bookWorkflowCreations(1);
    expect(first).toBeLessThanOrEqual(1000);
    expect(second).toBeGreaterThan(0);
    expect(second).toBeLessThanOrEqual(first + 1000);
  });
});

describe("sandboxes created ahead at launch", () => {
  beforeEach(async () => {
    await sandboxAdmin.reset();
  });
  afterEach(async () => {
    await sandboxAdmin.latency({});
  });

  it("an acquire during the prepared create joins it, and one after it makes no control-plane call", async () => {
    await sandboxAdmin.latency({ create: 600 });
    const [a, b] = [`prep-${crypto.randomUUID()}`, `prep-${crypto.randomUUID()}`];
    expect(await pool().createAhead([lease(a), lease(b)])).toBe(2);
    // Asked again (a relaunch, a retried call): already being created, nothing more starts.
    expect(await pool().createAhead([lease(a)])).toBe(0);

    const joined = await pool().acquire(lease(a));
    expect(joined.ok && joined.value.status).toBe("acquired");
    await waitFor("the second prepared sandbox", async () => (await sandboxAdmin.stats()).created === 2);
    const before = (await sandboxAdmin.stats()).calls;
    const found = await pool().acquire(lease(b));
    expect(found.ok && found.value.status).toBe("acquired");
    expect((await sandboxAdmin.stats()).calls).toEqual(before);

    await pool().release(a);
    await pool().release(b);
    const stats = await sandboxAdmin.stats();
    expect({ created: stats.created, live: stats.live }).toEqual({ created: 2, live: 0 });
  });

  it("a run cancelled right after it is created leaves no sandbox behind", async () => {
    await sandboxAdmin.latency({ create: 300 });
    const run = await createRun({ forks: 5, maxConcurrent: 5, task: { commands: ["sleep 5"] } });
    expect((await api(`/v1/runs/${run.id}/cancel`, { method: "POST" })).status).toBe(200);
    // Every create the launch started (all sent within a slot spread far shorter than one create's
    // 300 ms) has answered, and each sandbox made was killed.
    await waitFor("every sandbox to be gone", async () => {
      const stats = await sandboxAdmin.stats();
      return stats.live === 0 && stats.created > 0 && stats.killed === stats.created && stats.calls.create === stats.created;
    });
    expect((await getRun(run.id)).forks.every((f) => f.status === "cancelled")).toBe(true);
    // Nothing comes back later (an instance's own acquire does not create a new sandbox): every
    // fork's instance has ended, or was never started, with no sandbox left.
    const workflows = env as unknown as Env;
    await waitFor("every fork's instance to end", async () => {
      const ended = await Promise.all(
        [1, 2, 3, 4, 5].map(async (n) => {
          const instance = await workflows.FORK_WORKFLOW.get(forkInstanceId(run.id, n, 1)).catch(() => undefined);
          return !instance || ["complete", "errored", "terminated"].includes((await instance.status()).status);
        }),
      );
      return ended.every(Boolean);
    });
    const stats = await sandboxAdmin.stats();
    expect({ live: stats.live, unanswered: stats.calls.create! - stats.created }).toEqual({ live: 0, unanswered: 0 });
  });
});
