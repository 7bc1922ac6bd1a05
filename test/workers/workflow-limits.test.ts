import { describe, expect, it } from "vitest";
import { createRun, scriptedModel, waitForRunStatus } from "./helpers";

describe("Cloudflare's Workflow limits, honoured in local dev", () => {
  it("runs forks of a 300 KB prompt (the largest a task has) passed by reference: each fork's agent gets it whole", async () => {
    await scriptedModel.reset();
    // 100,000 characters (the most a prompt has), 3 bytes each in UTF-8.
    const prompt = `Task ${crypto.randomUUID()}: ${"€".repeat(99_950)}`;
    // Two forks: copying it into each instance is what 50 forks could not afford (test/unit/workflow-batches.test.ts).
    const run = await createRun({ forks: 2, maxConcurrent: 2, task: { prompt } });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.forks.map((f) => f.status)).toEqual(["succeeded", "succeeded"]);
    // Every fork's first model call carried the whole prompt (the script is empty: each answers at once).
    const calls = await scriptedModel.calls();
    expect(calls).toHaveLength(2);
    for (const call of calls) expect(JSON.stringify((call.body as { messages: unknown[] }).messages[0])).toContain(prompt);
  });
});
