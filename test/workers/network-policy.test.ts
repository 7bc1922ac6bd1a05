// A run's `network` rules are kept with the run and reach every sandbox create it makes, with the
// defaults added (private ranges and the host denied). What the local server then enforces is
// tested in test/node/local-sandbox-network-policy.test.ts.
import { describe, expect, it } from "vitest";
import { createRun, getRun, sandboxAdmin, scriptedModel, testEnv, waitForRunStatus } from "./helpers";
import { createSession, say, send, turnEnded, waitForSession } from "./session-helpers";
import { SANDBOX_TAG } from "../../src/sandbox/metadata";

interface CreateRecord {
  sandboxID: string;
  metadata: Record<string, string>;
  network?: { allowOut: string[]; denyOut: string[] };
}

async function createsOf(runId: string): Promise<CreateRecord[]> {
  const res = await sandboxAdmin.request("/admin/creates");
  return ((await res.json()) as CreateRecord[]).filter((c) => c.metadata[SANDBOX_TAG.run] === runId || Object.values(c.metadata).some((v) => v.includes(runId)));
}

/** The Worker's own address (PUBLIC_URL: the model proxy) as an allow rule. */
const workerHost = new URL((testEnv as unknown as { PUBLIC_URL: string }).PUBLIC_URL).hostname;

describe("a run's network policy", () => {
  it("is stored with the run and sent in each sandbox's create body, defaults added", async () => {
    const network = { allowOut: ["registry.npmjs.org", "203.0.113.7"], denyOut: ["0.0.0.0/0"] };
    const run = await createRun({ repo: testEnv.TEST_REPO, forks: 2, task: { commands: ["true"] }, network });
    await waitForRunStatus(run.id, ["completed"]);
    expect((await getRun(run.id)).request.network).toEqual(network);
    const creates = await createsOf(run.id);
    // Each fork's sandbox (and its verification sandbox) was created with the rules.
    expect(creates.length).toBeGreaterThanOrEqual(2);
    for (const c of creates) {
      expect(c.network?.allowOut).toEqual(network.allowOut);
      expect(c.network?.denyOut).toEqual(expect.arrayContaining(["0.0.0.0/0", "10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16"]));
    }
  });

  it("a prepared run's prepare sandbox (which its forks are forked from) is created with the rules", async () => {
    const network = { denyOut: ["0.0.0.0/0"] };
    const run = await createRun({ repo: testEnv.TEST_REPO, forks: 1, prepare: { commands: ["true"] }, task: { commands: ["true"] }, network });
    await waitForRunStatus(run.id, ["completed"]);
    const creates = await createsOf(run.id);
    expect(creates.some((c) => c.metadata[SANDBOX_TAG.fork] === "0")).toBe(true);
    expect(creates.every((c) => c.network?.denyOut.includes("0.0.0.0/0") && c.network.denyOut.includes("10.0.0.0/8"))).toBe(true);
  });

  it("a run without rules, and a session, get the default: private ranges and the host denied, the Worker's address allowed", async () => {
    const run = await createRun({ repo: testEnv.TEST_REPO, task: { commands: ["true"] } });
    await scriptedModel.script([say("hello")]);
    const session = await createSession();
    await send(session.id, "hi");
    await waitForSession(session.id, "the turn to end", turnEnded(1));
    await waitForRunStatus(run.id, ["completed"]);
    for (const id of [run.id, session.id]) {
      const creates = await createsOf(id);
      expect(creates.length, id).toBeGreaterThanOrEqual(1);
      for (const c of creates) {
        expect(c.network?.allowOut).toEqual([workerHost]);
        expect(c.network?.denyOut).toEqual(expect.arrayContaining(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16"]));
      }
    }
  });
});
