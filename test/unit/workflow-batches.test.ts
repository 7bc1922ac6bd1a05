import { describe, expect, it } from "vitest";
import type { CreateRunRequest } from "../../src/api/runs";
import { RunLaunching } from "../../src/objects/orchestrator/launching";
import type { RunContext } from "../../src/objects/orchestrator/run-context";
import type { ForkRow } from "../../src/objects/orchestrator/run-store";
import { chunkInstances, createInBatches, MAX_BATCH_INSTANCES, MAX_WORKFLOW_PAYLOAD_BYTES, serializedBytes } from "../../src/protocol/workflow-limits";

/** A Workflow binding that refuses what Cloudflare refuses: over 100 instances or 1 MiB per call. */
function strictWorkflow() {
  const calls: number[] = [];
  return {
    calls,
    async createBatch(options: { instances: { id: string; params: unknown }[] }) {
      if (options.instances.length > MAX_BATCH_INSTANCES) throw new Error("createBatch: over 100 instances");
      if (serializedBytes(options) > MAX_WORKFLOW_PAYLOAD_BYTES) throw new Error("createBatch: payload over 1 MiB");
      calls.push(options.instances.length);
      return { errors: options.instances.flatMap((instance, index) => (instance.id.endsWith("-exists") ? [{ index, message: "(instance.already_exists) exists" }] : [])) };
    },
  };
}

const PROMPT_100KB = "Refactor the parser. ".repeat(5_000).slice(0, 100_000);

/** RunLaunching of a run of `forks` agent forks with `prompt`, for its forkParams alone. */
function launchingFor(prompt: string) {
  const request = { repo: "https://github.com/o/r", branch: "main", forks: 50, maxConcurrent: 50, timeoutSeconds: 1800, task: { prompt } } as CreateRunRequest;
  const run = { id: "rabcdefghijklmnopqrst", request, sandbox: { templateId: "base", vcpu: 2, memoryGib: 0.5 }, codeVersion: { code: 2 } };
  const context = { run: () => run, env: {} } as unknown as RunContext;
  return new RunLaunching(context, { branching: {} as never, preparing: {} as never, waves: {} as never });
}

const forkRow = (n: number) => ({ n, branch: `forkyard/r/${n}`, branched_from: null }) as unknown as ForkRow;

describe("createBatch within Cloudflare's limits", () => {
  it("passes the task by reference: 50 forks with a 100 KB prompt are one createBatch call well under 1 MiB", async () => {
    const launching = launchingFor(PROMPT_100KB);
    const instances = Array.from({ length: 50 }, (_, i) => ({ id: `rabcdefghijklmnopqrst-${i + 1}`, params: launching.forkParams(forkRow(i + 1)) }));
    expect(instances[0]!.params.task).toBeUndefined();
    expect(JSON.stringify(instances)).not.toContain("Refactor the parser");
    expect(serializedBytes({ instances })).toBeLessThan(100_000);
    const workflow = strictWorkflow();
    expect(await createInBatches(workflow, instances)).toEqual({ errors: [], calls: 1 });
  });

  it("splits at 100 instances, and under 1 MiB of payload, keeping order", () => {
    const small = Array.from({ length: 250 }, (_, i) => ({ id: `i${i}`, params: { n: i } }));
    const byCount = chunkInstances(small);
    expect(byCount.map((c) => c.chunk.length)).toEqual([100, 100, 50]);
    expect(byCount.flatMap((c) => c.chunk)).toEqual(small);

    // Params that copied a 100 KB prompt into each of 50 instances (~5 MB): chunks under 1 MiB each.
    const copied = Array.from({ length: 50 }, (_, i) => ({ id: `i${i}`, params: { n: i, task: { prompt: PROMPT_100KB } } }));
    const byBytes = chunkInstances(copied);
    expect(byBytes.length).toBe(5); // 10 instances of ~100 KB a call
    for (const { chunk, tooLarge } of byBytes) {
      expect(tooLarge).toBe(false);
      expect(serializedBytes({ instances: chunk })).toBeLessThanOrEqual(MAX_WORKFLOW_PAYLOAD_BYTES);
    }
    expect(byBytes.flatMap((c) => c.chunk)).toEqual(copied);
  });

  it("creates every chunk, maps the engine's errors back to the caller's indexes, and never sends an instance too large for any call", async () => {
    const huge = { id: "i-huge", params: { blob: "x".repeat(MAX_WORKFLOW_PAYLOAD_BYTES) } };
    const instances = [...Array.from({ length: 120 }, (_, i) => ({ id: i === 110 ? "i110-exists" : `i${i}`, params: { n: i } })), huge, { id: "i-last-exists", params: {} }];
    const workflow = strictWorkflow();
    const { errors, calls } = await createInBatches(workflow, instances);
    expect(workflow.calls).toEqual([100, 20, 1]); // the huge one in between: never sent
    expect(calls).toBe(3);
    expect(errors.map((e) => e.index)).toEqual([110, 120, 121]);
    expect(errors[1]!.message).toMatch(/^payload_too_large: instance i-huge's params are over the 1048576 bytes/);
  });
});
