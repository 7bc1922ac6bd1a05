// Prepare once, fork N ways: a run's prepare commands run in one sandbox, which is then forked
// (E2B's sandbox fork) for every fork; the forks start in the prepared workspace without a clone.
import { beforeEach, describe, expect, it } from "vitest";
import { api, createRun, sandboxAdmin, waitFor, waitForRunStatus } from "./helpers";

const PREPARE = { commands: ["echo token-$RANDOM$RANDOM > token.txt", "mkdir -p build && echo built > build/out.txt"] };
const TASK = { commands: ['cat token.txt build/out.txt && echo "$FORKYARD_FORK" > fork.txt'] };

beforeEach(async () => {
  await sandboxAdmin.reset();
});

async function noSandboxLeft(): Promise<void> {
  await waitFor("no sandbox left", async () => {
    const stats = await sandboxAdmin.stats();
    return stats.live === 0 && stats.pausedNow === 0;
  }, 15_000);
}

describe("prepared forks", () => {
  it("prepares once and forks the sandbox N ways: every fork sees the prepared files, skips the clone, and its patch holds only its own change", async () => {
    const run = await createRun({ forks: 5, maxConcurrent: 5, prepare: PREPARE, task: TASK });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.prepared).toMatchObject({ status: "forked", baseSha: expect.stringMatching(/^[0-9a-f]{40}$/) });
    expect(view.forks.map((f) => f.status)).toEqual(Array(5).fill("succeeded"));
    const tokens = view.forks.map((f) => /token-\d+/.exec(f.commands[0]!.stdoutTail)?.[0]);
    expect(new Set(tokens).size).toBe(1);
    for (const fork of view.forks) {
      expect(fork.commands[0]!.stdoutTail).toContain("built");
      expect(fork.steps.map((s) => s.name)).toContain("branch");
      expect(fork.steps.map((s) => s.name)).not.toContain("clone");
      expect(fork.diff).toEqual({ files: 1, insertions: 1, deletions: 0 });
    }
    const stats = await sandboxAdmin.stats();
    // One sandbox created for the forks (the prepared one), one fork call of count 5; and one fresh
    // verification sandbox per fork (it clones the base and re-runs the prepare commands).
    expect(stats.calls.create).toBe(1 + 5);
    expect(stats.calls.fork).toBe(1);
    expect(stats.forked).toBe(5);
    await noSandboxLeft();
  });

  it("falls back to preparing in each fork when the backend cannot fork", async () => {
    await sandboxAdmin.faults([{ op: "fork", status: 501 }]);
    try {
      const run = await createRun({ forks: 2, maxConcurrent: 2, prepare: PREPARE, task: TASK });
      const view = await waitForRunStatus(run.id, ["completed", "failed"]);
      expect(view.prepared?.status).toBe("per_fork");
      expect(view.forks.map((f) => f.status)).toEqual(["succeeded", "succeeded"]);
      for (const fork of view.forks) expect(fork.steps.map((s) => s.name)).toEqual(expect.arrayContaining(["clone", "prepare-1", "prepare-2"]));
      // Each fork prepared for itself: their tokens differ.
      const tokens = view.forks.map((f) => /token-\d+/.exec(f.commands[0]!.stdoutTail)?.[0]);
      expect(new Set(tokens).size).toBe(2);
      // The prepared one, the forks' own and their verification sandboxes.
      expect((await sandboxAdmin.stats()).calls.create).toBe(1 + 2 + 2);
    } finally {
      await sandboxAdmin.faults([]);
    }
    await noSandboxLeft();
  });

  it("a fork call whose answer is lost is made again; the sandboxes it made are reaped, none is leaked", async () => {
    await sandboxAdmin.faults([{ op: "fork", drop: true, after: true, firstK: 1 }]);
    try {
      const run = await createRun({ forks: 2, maxConcurrent: 2, prepare: PREPARE, task: TASK });
      const view = await waitForRunStatus(run.id, ["completed", "failed"]);
      expect(view.prepared?.status).toBe("forked");
      expect(view.forks.map((f) => f.status)).toEqual(["succeeded", "succeeded"]);
    } finally {
      await sandboxAdmin.faults([]);
    }
    const stats = await sandboxAdmin.stats();
    expect(stats.forked).toBe(4);
    // The first call's two children carry the prepared sandbox's tag and no lease: the reaper kills them.
    const reaped = (await (await api("/v1/reaper/run", { method: "POST" })).json()) as { killed: { reason: string }[] };
    expect(reaped.killed.filter((k) => k.reason === "no_lease").length).toBeGreaterThanOrEqual(2);
    await noSandboxLeft();
  });

  it("a failed prepare fails the forks (prepare_failed) and leaves nothing running", async () => {
    const run = await createRun({ forks: 2, prepare: { commands: ["echo nope; exit 3"] }, task: TASK });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.status).toBe("failed");
    expect(view.prepared).toMatchObject({ status: "failed", error: { code: "command_failed" } });
    expect(view.forks.map((f) => f.error?.code)).toEqual(["prepare_failed", "prepare_failed"]);
    await noSandboxLeft();
  });
});
