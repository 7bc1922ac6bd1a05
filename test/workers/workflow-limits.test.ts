import { describe, expect, it } from "vitest";
import { createRun, scriptedModel, waitForRunStatus } from "./helpers";

describe("Cloudflare's Workflow limits, honoured in local dev", () => {
  it("runs forks of a task too large to copy into each instance (4 × 300 KB prompt > 1 MiB): each fork gets it whole, by reference", async () => {
    await scriptedModel.reset();
    // 100,000 characters (the most a prompt has), 3 bytes each in UTF-8.
    const prompt = `Task ${crypto.randomUUID()}: ${"€".repeat(99_950)}`;
    const run = await createRun({ forks: 4, maxConcurrent: 4, task: { prompt } });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.forks.map((f) => f.status)).toEqual(["succeeded", "succeeded", "succeeded", "succeeded"]);
    // Every fork's first model call carried the whole prompt (the script is empty: each answers at once).
    const calls = await scriptedModel.calls();
    expect(calls).toHaveLength(4);
    for (const call of calls) expect(JSON.stringify((call.body as { messages: unknown[] }).messages[0])).toContain(prompt);
  });
});
