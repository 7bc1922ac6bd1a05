// Waiting for capacity, against the real stack (wrangler dev + the local sandbox server) with
// room for one sandbox, as smoke: forks that wait do not burn steps while they wait, and they get
// their sandboxes first come first served across runs. The queue's rules (positions, notices,
// renotify, admission only with room for everyone ahead) are unit-tested in
// test/unit/pool-acquire.test.ts and pool-decisions.test.ts, so a few forks suffice here.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { forkyardClient, waitForTerminal } from "../../scripts/api-client.ts";
import { LOCAL_API_TOKEN, LOCAL_E2B_API_KEY, scratchDir, startSandboxServer, startWorker, workerVars, type SandboxServerProcess, type StackProcess } from "../../scripts/local-stack.ts";
import { createTestRepo } from "../support/test-repo.ts";

const WAITING_RUNS = 2;
const FORKS_PER_RUN = 4;

let tmp: string;
let repoRoot: string;
let repo: string;
let sandbox: SandboxServerProcess;
let worker: StackProcess;
let api: ReturnType<typeof forkyardClient>;

async function get<T>(path: string): Promise<T> {
  const res = await fetch(`${worker.url}${path}`, { headers: { Authorization: `Bearer ${LOCAL_API_TOKEN}` } });
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return (await res.json()) as T;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  return vi.waitFor(
    async () => {
      const value = await probe();
      if (value === undefined) throw new Error(`timed out waiting for ${what}`);
      return value;
    },
    { timeout: timeoutMs, interval: 200 },
  );
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "forkyard-capacity-"));
  repoRoot = scratchDir("capacity");
  repo = createTestRepo(join(repoRoot, "repo"));
  sandbox = await startSandboxServer({ dataDir: join(tmp, "sandboxes"), apiKey: LOCAL_E2B_API_KEY, exposePaths: [repoRoot], quiet: true });
  worker = await startWorker({
    stateDir: join(tmp, "state"),
    vars: { ...workerVars({ backend: "local", sandboxUrl: sandbox.url, env: {} }), MAX_LIVE_SANDBOXES: "1", SANDBOX_CREATE_RATE_PER_SECOND: "50" },
    quiet: true,
  });
  api = forkyardClient(worker.url, LOCAL_API_TOKEN);
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await sandbox?.stop();
  rmSync(tmp, { recursive: true, force: true });
  rmSync(repoRoot, { recursive: true, force: true });
}, 30_000);

describe("waiting for capacity (MAX_LIVE_SANDBOXES=1)", () => {
  it("forks wait behind a long one on a constant number of steps, then start in arrival order across runs", { timeout: 240_000 }, async () => {
    // The long fork holds the only sandbox until the test opens its gate (the local sandbox's admin
    // API), once every waiting fork has queued: no window to race.
    const long = await api.createRun({ repo, task: { commands: ["until [ -e ~/.gates/long ]; do sleep 0.05; done"] } });
    await until("the long fork to hold the sandbox", async () => ((await api.getRun(long.id)).forks[0]?.steps.some((s) => s.name === "command-1") ? true : undefined));

    // Runs arrive one after another: each one's forks all queue before the next run is posted.
    const runs: string[] = [];
    for (let r = 0; r < WAITING_RUNS; r++) {
      const run = await api.createRun({ repo, forks: FORKS_PER_RUN, maxConcurrent: FORKS_PER_RUN, task: { commands: ["echo $FORKYARD_RUN_ID/$FORKYARD_FORK"] } });
      runs.push(run.id);
      await until(`run ${r + 1}'s forks to queue`, async () => ((await get<{ waiting: number }>("/v1/pool")).waiting === (r + 1) * FORKS_PER_RUN ? true : undefined));
    }
    const opened = await fetch(`${sandbox.url}/admin/gates/long`, { method: "POST", headers: { "X-Admin-Key": sandbox.adminKey } });
    expect(((await opened.json()) as { opened: number }).opened).toBe(1);

    const views = [];
    for (const id of runs) views.push(await waitForTerminal(api, id, 180_000));
    for (const view of views) expect(view.forks.every((f) => f.status === "succeeded")).toBe(true);

    // First come, first served: every fork of an earlier run had its sandbox (and, one at a time,
    // finished) before any fork of a later run.
    for (let r = 1; r < views.length; r++) {
      const lastOfEarlier = Math.max(...views[r - 1]!.forks.map((f) => Date.parse(f.finishedAt!)));
      const firstOfLater = Math.min(...views[r]!.forks.map((f) => Date.parse(f.finishedAt!)));
      expect(firstOfLater).toBeGreaterThan(lastOfEarlier);
    }

    // Steps per waiting fork do not grow with the wait (~12 s here): the acquire step ran once when
    // the fork queued and once when its turn came, whatever the time in between.
    // Each waiting fork was told its place in the queue (fork.queued): behind the forks of earlier runs.
    for (const [r, id] of runs.entries()) {
      const events = await fetch(`${worker.url}/v1/runs/${id}/events`, { headers: { Authorization: `Bearer ${LOCAL_API_TOKEN}` } }).then((r) => r.text());
      const acquires = new Map<number, number>();
      const positions = new Map<number, number>();
      for (const block of events.split("\n\n")) {
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (!data) continue;
        const event = JSON.parse(data) as { type: string; fork: number | null; step?: string; position?: number };
        if (event.type === "step.started" && event.step === "acquire-sandbox") acquires.set(event.fork!, (acquires.get(event.fork!) ?? 0) + 1);
        if (event.type === "fork.queued" && !positions.has(event.fork!)) positions.set(event.fork!, event.position!);
      }
      expect([...acquires.values()].every((n) => n <= 3)).toBe(true);
      expect(acquires.size).toBe(FORKS_PER_RUN);
      expect(positions.size).toBe(FORKS_PER_RUN);
      for (const position of positions.values()) {
        expect(position).toBeGreaterThan(r * FORKS_PER_RUN);
        expect(position).toBeLessThanOrEqual((r + 1) * FORKS_PER_RUN);
      }
    }
    expect((await get<{ waiting: number }>("/v1/pool")).waiting).toBe(0);
  });
});
