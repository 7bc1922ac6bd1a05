// A run planted straight into its Orchestrator's SQLite, as a crash would leave it: its row and
// forks written, no alarm armed, no instance created (forks in `launched` recorded as launched).
import { env, runInDurableObject } from "cloudflare:test";
import type { Orchestrator } from "../../src/objects/orchestrator/orchestrator";
import type { Env } from "../../src/core/env";
import { prepareRun } from "../../src/actions/create-run";
import { forkInstanceId } from "../../src/protocol/run-ids";
import { RunStore } from "../../src/objects/orchestrator/run-store";

export const workerEnv = env as unknown as Env;

export async function plantRun(
  body: Record<string, unknown>,
  opts: { idempotencyKey: string | null; launched?: number[] },
  inside?: (instance: Orchestrator, state: DurableObjectState, store: RunStore) => Promise<void> | void,
): Promise<{ id: string; stub: DurableObjectStub<Orchestrator> }> {
  const input = await prepareRun(workerEnv, body, { idempotencyKey: opts.idempotencyKey });
  const stub = workerEnv.ORCHESTRATOR.getByName(input.id) as unknown as DurableObjectStub<Orchestrator>;
  await runInDurableObject(stub, async (instance: Orchestrator, state) => {
    const store = new RunStore(state.storage.sql, () => input.sandbox);
    const now = new Date().toISOString();
    store.insertRun({ id: input.id, request: input.request, sandbox: input.sandbox, requestHash: input.requestHash, idempotencyKey: opts.idempotencyKey, status: "running", createdAt: now, updatedAt: now, codeVersion: input.codeVersion }, input.branches);
    for (const n of opts.launched ?? []) store.markLaunched(n, forkInstanceId(input.id, n, 1), Date.now());
    await inside?.(instance, state, store);
  });
  return { id: input.id, stub };
}
