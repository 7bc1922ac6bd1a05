// The Pool starts a launched fork's sandbox while the engine starts its instance (Pool.prepare);
// the fork's own acquire then joins that create or finds its result, never making a second one.
import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { POOL_NAME, type LeaseRequest, type Pool } from "../../src/durable-objects/pool";
import type { Env } from "../../src/env";
import { forkInstanceId } from "../../src/runs/ids";
import { createRun, getRun, api, sandboxAdmin, waitFor } from "./helpers";

const pool = () => (env as unknown as Env).POOL.getByName(POOL_NAME) as unknown as DurableObjectStub<Pool>;

function lease(key: string): LeaseRequest {
  return { key, runId: `r${key}`, fork: 1, template: "base", timeoutSeconds: 300 };
}

describe("sandboxes prepared at launch", () => {
  beforeEach(async () => {
    await sandboxAdmin.reset();
  });
  afterEach(async () => {
    await sandboxAdmin.latency({});
  });

  it("an acquire during the prepared create joins it, and one after it makes no control-plane call", async () => {
    await sandboxAdmin.latency({ create: 600 });
    const [a, b] = [`prep-${crypto.randomUUID()}`, `prep-${crypto.randomUUID()}`];
    expect(await pool().prepare([lease(a), lease(b)])).toBe(2);
    // Asked again (a relaunch, a retried call): already being created, nothing more starts.
    expect(await pool().prepare([lease(a)])).toBe(0);

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

  it("a prepared sandbox whose lease is released before it exists is killed as soon as it does", async () => {
    await sandboxAdmin.latency({ create: 600 });
    const key = `prep-${crypto.randomUUID()}`;
    expect(await pool().prepare([lease(key)])).toBe(1);
    await pool().release(key);
    await waitFor("the sandbox to be created and killed", async () => {
      const stats = await sandboxAdmin.stats();
      return stats.created === 1 && stats.live === 0;
    });
  });

  it("a run cancelled right after it is created leaves no sandbox behind", async () => {
    await sandboxAdmin.latency({ create: 300 });
    const run = await createRun({ forks: 5, maxConcurrent: 5, task: { commands: ["sleep 5"] } });
    expect((await api(`/v1/runs/${run.id}/cancel`, { method: "POST" })).status).toBe(200);
    await waitFor("every sandbox to be gone", async () => {
      const stats = await sandboxAdmin.stats();
      return stats.live === 0 && stats.created > 0 && stats.killed === stats.created;
    });
    expect((await getRun(run.id)).forks.every((f) => f.status === "cancelled")).toBe(true);
    // Nothing comes back later (an instance's own acquire does not create a new sandbox): once
    // every fork's instance has ended, every sandbox made is killed (a prepared create still under
    // way at the cancel lands later and is killed as soon as it exists: the test above).
    const ended = async (n: number) => {
      try {
        return ["terminated", "errored", "complete"].includes((await (await (env as unknown as Env).FORK_WORKFLOW.get(forkInstanceId(run.id, n, 1))).status()).status);
      } catch {
        return true; // never created
      }
    };
    await waitFor("the forks' instances to end", async () => (await Promise.all([1, 2, 3, 4, 5].map(ended))).every(Boolean));
    await waitFor("every sandbox made to be killed", async () => {
      const stats = await sandboxAdmin.stats();
      return stats.live === 0 && stats.killed === stats.created;
    });
  });
});
