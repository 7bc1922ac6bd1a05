/**
 * Where a fork stood at each step boundary it passed (src/workflows/fork-branching.ts): what an
 * ended agent fork stores for branches at an earlier step without snapshots, and what a
 * continuation instance carries over — the boundary it continued at is taken again there, once.
 */
import { describe, expect, it } from "vitest";
import type { Config } from "../../src/core/env.ts";
import type { ForkParams } from "../../src/protocol/fork-params.ts";
import { ForkBranching, type ForkBranchingDeps } from "../../src/workflows/fork-branching.ts";

/** A fork's branching with no branch waiting and no snapshots: `journal` stands for its journal's length. */
function branchingOf(journal: { length: number }): ForkBranching {
  const deps = {
    params: { runId: "r1", n: 1 } as ForkParams,
    config: { RETRY_POLICIES: {} } as unknown as Config,
    steps: { takeBranchSignal: () => false },
    sandbox: {
      get journalLength() {
        return journal.length;
      },
    },
  } as unknown as ForkBranchingDeps;
  return new ForkBranching(deps);
}

const exchange = (turns: number) => ({ prompt: "p", turns: Array.from({ length: turns }, () => ({ model: { stopReason: "tool_use" as const, content: [], usage: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 }, model: "m" }, tools: [] })) });

describe("a fork's step boundaries", () => {
  it("marks each boundary with the turns and journal entries done there; a continuation carries them and takes its boundary again once", async () => {
    const journal = { length: 0 };
    const first = branchingOf(journal);
    first.position = { turn: 0, exchange: exchange(0) };
    await first.at("model-1");
    journal.length = 2;
    first.position = { turn: 1, exchange: exchange(1) };
    await first.at("model-2");
    // The end is no step to branch at.
    await first.at("end");
    expect(first.isAgent).toBe(true);
    const carried = first.carried();
    expect(carried.marks).toEqual([
      { tag: "model-1", turn: 0, journal: 0 },
      { tag: "model-2", turn: 1, journal: 2 },
    ]);
    expect(carried.snapshotChain).toEqual({ previous: null, journalAt: 0, turnsAt: 0 });

    // The new instance starts at model-2 again: one mark for it, then the next.
    const next = branchingOf(journal);
    next.resume(carried);
    next.position = { turn: 1, exchange: exchange(1) };
    await next.at("model-2");
    journal.length = 3;
    next.position = { turn: 2, exchange: exchange(2) };
    await next.at("model-3");
    expect(next.carried().marks).toEqual([
      { tag: "model-1", turn: 0, journal: 0 },
      { tag: "model-2", turn: 1, journal: 2 },
      { tag: "model-3", turn: 2, journal: 3 },
    ]);
  });

  it("a commands fork is no agent (its end state is stored only when its sandbox is kept)", async () => {
    const branching = branchingOf({ length: 0 });
    branching.position = { turn: 0 };
    await branching.at("command-1");
    expect(branching.isAgent).toBe(false);
  });
});
