import { beforeEach, describe, expect, it } from "vitest";
import { commandStep, STEP, VERIFY_STEP } from "../../src/workflows/steps";
import { createRun, getRun, sandboxAdmin, testEnv, waitFor, waitForRunStatus, api } from "./helpers";
import type { RunView } from "../../src/api/runs";
import { plantRun } from "./planted-run";

beforeEach(async () => {
  await sandboxAdmin.reset();
});

describe("a run of commands", () => {
  it("runs 3 forks to completion with per-fork outputs, branches, checks and diff stats", async () => {
    const run = await createRun({
      forks: 3,
      maxConcurrent: 3,
      task: { commands: ['echo "fork $FORKYARD_FORK of $FORKYARD_FORKS" > fork.txt', "cat fork.txt", "git rev-parse --abbrev-ref HEAD"] },
      check: "test -s fork.txt && grep -q Forkyard README.md",
    });
    expect(run.status).toBe("running");
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.status).toBe("completed");
    expect(view.totals).toMatchObject({ succeeded: 3, failed: 0, running: 0, queued: 0 });
    for (const fork of view.forks) {
      expect(fork.status).toBe("succeeded");
      expect(fork.branch).toBe(`forkyard/${run.id}/${fork.n}`);
      expect(fork.commands).toHaveLength(3);
      expect(fork.commands[1]?.stdoutTail).toBe(`fork ${fork.n} of 3\n`);
      expect(fork.commands[2]?.stdoutTail.trim()).toBe(fork.branch);
      expect(fork.check).toMatchObject({ command: "test -s fork.txt && grep -q Forkyard README.md", exitCode: 0, passed: true, verified: true });
      expect(fork.diff).toEqual({ files: 1, insertions: 1, deletions: 0 });
      expect(fork.sandboxId).toMatch(/.+/);
      expect(fork.costUsd.sandbox).toBeGreaterThan(0);
      expect(fork.steps.map((s) => s.name)).toEqual([
        STEP.budget,
        STEP.acquireSandbox,
        STEP.healthCheck,
        STEP.clone,
        "command-1",
        "command-2",
        "command-3",
        // The fork's files staged, its sandbox released, then its verification in a fresh one.
        VERIFY_STEP.export,
        STEP.releaseSandbox,
        `${VERIFY_STEP.prefix}${STEP.acquireSandbox}`,
        VERIFY_STEP.base,
        VERIFY_STEP.lay,
        VERIFY_STEP.build,
        VERIFY_STEP.check,
        VERIFY_STEP.release,
        STEP.report,
      ]);
      expect(fork.steps.every((s) => s.status === "succeeded")).toBe(true);
    }
    expect(view.totals.costUsd.total).toBeCloseTo(view.forks.reduce((sum, f) => sum + f.costUsd.total, 0), 8);
    const stats = await sandboxAdmin.stats();
    // Each fork's sandbox and its verification sandbox.
    expect(stats.created).toBe(6);
    expect(stats.live).toBe(0);
    // One page of the forks at a time (a run may hold up to 1,000): forksAfter and forksLimit.
    const page = async (query: string) => (await (await api(`/v1/runs/${run.id}?${query}`)).json()) as RunView;
    const first = await page("forksLimit=2");
    expect(first.forks.map((f) => f.n)).toEqual([1, 2]);
    expect(first.forksPage).toEqual({ after: 0, limit: 2, total: 3, next: 2 });
    const last = await page(`forksAfter=${first.forksPage!.next}&forksLimit=2`);
    expect(last.forks.map((f) => f.n)).toEqual([3]);
    expect(last.forksPage).toEqual({ after: 2, limit: 2, total: 3, next: null });
    expect(view.forksPage).toBeUndefined();
    expect((await api(`/v1/runs/${run.id}?forksLimit=0`)).status).toBe(400);
  });

  it("stops at a failing command, fails the fork with its exit code, and still releases the sandbox", async () => {
    const run = await createRun({ task: { commands: ["echo before", "echo broken >&2; exit 3", "echo never"] } });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.status).toBe("failed");
    const fork = view.forks[0]!;
    expect(fork.status).toBe("failed");
    expect(fork.error?.code).toBe("command_failed");
    expect(fork.commands.map((c) => c.exitCode)).toEqual([0, 3]);
    expect(fork.commands[1]?.stderrTail).toBe("broken\n");
    expect(fork.steps.find((s) => s.name === STEP.releaseSandbox)?.status).toBe("succeeded");
    // The failing command's step is recorded failed (the dashboard draws it red), the one before it succeeded.
    expect(fork.steps.filter((s) => s.name.startsWith("command-")).map((s) => [s.name, s.status])).toEqual([
      [commandStep(0), "succeeded"],
      [commandStep(1), "failed"],
    ]);
    expect((await sandboxAdmin.stats()).live).toBe(0);
  });

  it("talks to the control plane twice per sandbox: one create, one kill (steps reach envd from the acquire step's handle)", async () => {
    await sandboxAdmin.reset();
    const run = await createRun({ forks: 3, maxConcurrent: 3, task: { commands: ["echo a", "echo b"] }, check: "true" });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.status).toBe("completed");
    await waitFor("the sandboxes to be released", async () => (await sandboxAdmin.stats()).live === 0);
    const calls = (await sandboxAdmin.stats()).calls;
    // Two sandboxes per fork, one after the other: its own and its verification sandbox.
    expect({ create: calls.create, kill: calls.kill, connect: calls.connect ?? 0, get: calls.get ?? 0 }).toEqual({ create: 6, kill: 6, connect: 0, get: 0 });
  });

  it("never runs more than maxConcurrent forks at once", async () => {
    const run = await createRun({ forks: 6, maxConcurrent: 2, task: { commands: ["sleep 0.5"] } });
    const view = await waitForRunStatus(run.id, ["completed", "failed"], 90_000);
    expect(view.totals.succeeded).toBe(6);
    const stats = await sandboxAdmin.stats();
    // A fork releases its sandbox before it acquires its verification sandbox: never two at once.
    expect(stats.created).toBe(12);
    expect(stats.peakLive).toBeLessThanOrEqual(2);
    expect(stats.live).toBe(0);
  });

  it("lists runs newest first from the D1 index, filtered by status and paginated", async () => {
    const a = await createRun({ task: { commands: ["true"] } });
    const b = await createRun({ task: { commands: ["true"] } });
    await waitForRunStatus(a.id, ["completed"]);
    await waitForRunStatus(b.id, ["completed"]);
    const first = (await (await api("/v1/runs?limit=1&status=completed")).json()) as { runs: { id: string; status: string }[]; nextCursor: string };
    expect(first.runs).toHaveLength(1);
    expect(first.runs[0]?.status).toBe("completed");
    expect(first.nextCursor).toBeTruthy();
    const second = (await (await api(`/v1/runs?limit=1&status=completed&cursor=${first.nextCursor}`)).json()) as { runs: { id: string }[] };
    expect(second.runs).toHaveLength(1);
    expect(second.runs[0]?.id).not.toBe(first.runs[0]?.id);
    expect([a.id, b.id]).toContain(first.runs[0]?.id);
  });

  it("returns the same run for the same Idempotency-Key and refuses a different body under it", async () => {
    const body = { task: { commands: ["true"] } };
    const first = await createRun(body, { "Idempotency-Key": "key-123" });
    const again = await api("/v1/runs", { method: "POST", json: { repo: (await getRun(first.id)).request.repo, ...body }, headers: { "Idempotency-Key": "key-123" } });
    expect(again.status).toBe(202);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(((await again.json()) as { id: string }).id).toBe(first.id);
    const conflicting = await api("/v1/runs", { method: "POST", json: { repo: testEnv.TEST_REPO, task: { commands: ["false"] } }, headers: { "Idempotency-Key": "key-123" } });
    expect(conflicting.status).toBe(409);
    expect(((await conflicting.json()) as { error: { code: string } }).error.code).toBe("idempotency_key_reused");
    await waitForRunStatus(first.id, ["completed"]);
    // One fork: its sandbox and its verification sandbox.
    expect((await sandboxAdmin.stats()).created).toBe(2);
  });

  it("times a fork out when a command runs past the fork's timeout, and releases its sandbox", async () => {
    const run = await createRun({ timeoutSeconds: 10, task: { commands: ["echo started", "sleep 60", "echo never"] } });
    const view = await waitForRunStatus(run.id, ["completed", "failed"], 60_000);
    const fork = view.forks[0]!;
    expect(fork.status).toBe("timed_out");
    expect(fork.error?.code).toBe("fork_timeout");
    expect(fork.commands.map((c) => c.command)).toEqual(["echo started", "sleep 60"]);
    expect(fork.commands[1]?.exitCode).toBe(124);
    expect(fork.commands[1]?.stderrTail).toContain("deadline");
    await waitFor("the sandbox to be released", async () => (await sandboxAdmin.stats()).live === 0);
  });

  it("runs a fork with the longest timeout (24 h): its sandbox's lifetime stays within E2B's 24 h cap", async () => {
    const run = await createRun({ timeoutSeconds: 86_400, task: { commands: ["echo long"] } });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.forks[0]?.error).toBeFalsy();
    expect(view.forks[0]?.commands[0]?.stdoutTail).toBe("long\n");
  });

  it("names work branches with the branch prefix", async () => {
    const run = await createRun({ forks: 2, branchPrefix: "try/", task: { commands: ["git rev-parse --abbrev-ref HEAD"] } });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.forks.map((f) => f.branch)).toEqual(["try/1", "try/2"]);
    expect(view.forks.map((f) => f.commands[0]?.stdoutTail.trim())).toEqual(["try/1", "try/2"]);
  });

  it("fails a fork whose repo cannot be cloned with a clear error", async () => {
    // A remote is not checked at POST (a local path is: repo-check.test.ts); this one has no such repository.
    const repo = `${testEnv.TEST_GITHUB_URL}/acme/does-not-exist.git`;
    const run = await createRun({ repo, task: { commands: ["true"] } });
    const view = await waitForRunStatus(run.id, ["failed"]);
    expect(view.forks[0]?.error?.code).toBe("clone_failed");
    expect(view.forks[0]?.error?.message).toContain("does-not-exist");
    await waitFor("sandboxes released", async () => (await sandboxAdmin.stats()).live === 0);
  });
});

describe("sandbox time counts against the budget as it accrues", () => {
  it("stops a command while it runs once the fork's sandbox time has spent the budget", async () => {
    // The `ml` profile (8 vCPU, 32 GiB) costs about $0.000256 a second: $0.0011 is about 4.3 s of
    // sandbox time. The command would run for 10 minutes: the heartbeat that finds the budget
    // spent (every STALE_FORK_SECONDS / 3 = 2 s here) stops it, and the fork ends budget_exceeded.
    const run = await createRun({ budgetUsd: 0.0011, profile: "ml", task: { commands: ["echo started; sleep 600", "echo never"] } });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    const fork = view.forks[0]!;
    expect(fork.status).toBe("budget_exceeded");
    expect(fork.error).toMatchObject({ code: "budget_exceeded", message: expect.stringContaining("the running command was stopped") });
    expect(fork.commands.map((c) => c.command)).toEqual(["echo started; sleep 600"]);
    const [stopped] = fork.commands;
    expect(stopped!.stdoutTail).toBe("started\n");
    expect(stopped!.stderrTail).toContain("[stopped: The run's budget is spent");
    expect(fork.costUsd.sandbox).toBeGreaterThan(0.0011);
    // Booked on heartbeats while the command ran: far below 10 minutes of sandbox time ($0.15).
    expect(fork.costUsd.sandbox).toBeLessThan(0.02);
    await waitFor("the sandbox to be released", async () => (await sandboxAdmin.stats()).live === 0);
  });
});

describe("bounded run views", () => {
  it("shares a fixed output budget among many commands in the run view; GET /forks/:n has a fork's whole tails", async () => {
    // 300 commands whose stdout tails are 4 KiB each (stdout and stderr: 2.4 MB of tails), more
    // than the view's 2 MiB budget. Planted as the forks' reports store them (running 300 real
    // commands took most of a minute); a real command's 4 KiB tail is checked below.
    const commands = Array.from({ length: 100 }, (_, i) => `head -c 4096 /dev/zero | tr '\\0' '${String.fromCharCode(97 + (i % 26))}'`);
    const run = await plantRun({ repo: testEnv.TEST_REPO, forks: 3, maxConcurrent: 3, task: { commands } }, { idempotencyKey: null }, (_instance, _state, store) => {
      for (const n of [1, 2, 3]) {
        commands.forEach((command, i) => store.saveCommand(n, i, { command, exitCode: 0, stdoutTail: String.fromCharCode(97 + (i % 26)).repeat(4096), stderrTail: "", durationMs: 5 }));
      }
    });
    const view = await getRun(run.id);
    const tails = view.forks.flatMap((f) => f.commands.map((c) => c.stdoutTail));
    expect(tails).toHaveLength(300);
    expect(tails.every((t) => t.startsWith("[…truncated]\n") && t.length < 4096)).toBe(true);
    expect(JSON.stringify(view).length).toBeLessThan(2.5 * 1024 * 1024);
    const fork = (await (await api(`/v1/runs/${run.id}/forks/2`)).json()) as { n: number; commands: { stdoutTail: string }[] };
    expect(fork.n).toBe(2);
    expect(fork.commands).toHaveLength(100);
    expect(fork.commands[1]!.stdoutTail).toBe("b".repeat(4096));
    expect((await api(`/v1/runs/${run.id}/forks/4`)).status).toBe(404);
    // The planted run has no instances: cancelled, it ends.
    expect((await api(`/v1/runs/${run.id}/cancel`, { method: "POST" })).status).toBe(200);

    // A real command's 4 KiB of output is its whole stored tail.
    const real = await createRun({ task: { commands: [commands[1]!] } });
    const ended = await waitForRunStatus(real.id, ["completed", "failed"]);
    expect(ended.forks[0]!.commands[0]!.stdoutTail).toBe("b".repeat(4096));
  });
});

