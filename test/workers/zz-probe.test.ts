import { expect, it } from "vitest";
import { api, createRun, waitForRunStatus } from "./helpers";

it("probe: cost of GET /v1/runs/:id", async () => {
  const run = await createRun({ forks: 3, maxConcurrent: 3, task: { commands: ["echo hi > f.txt", "cat f.txt"] }, check: "true" });
  await waitForRunStatus(run.id, ["completed", "failed"]);
  for (const path of [`/v1/nope`, `/v1/runs/${run.id}`, `/v1/runs/${run.id}/forks/1`, `/v1/nope`, `/v1/runs/${run.id}`]) {
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) await (await api(path)).arrayBuffer();
    const dt = performance.now() - t0;
    console.log(`PROBE ${path}: ${(dt / 200).toFixed(2)} ms per GET`);
  }
  expect(true).toBe(true);
}, 120_000);
