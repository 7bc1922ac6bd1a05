/**
 * What a replayed step was told about a waiting branch, from the run's record (the Orchestrator's
 * side of test/unit/branch-signal.test.ts): a branch still open and asked for by the time the step
 * reported its end. On the run's real schema, over Node's SQLite.
 */
import { describe, expect, it } from "vitest";
import { BranchStore } from "../../src/objects/orchestrator/branch-store";
import { RunStore } from "../../src/objects/orchestrator/run-store";
import { RUN_MIGRATIONS } from "../../src/objects/orchestrator/schema";
import { migrate } from "../../src/objects/shared/migrations";
import { sqliteStorage } from "./support/sqlite-storage";

const T0 = Date.parse("2026-12-07T18:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();

function run() {
  const storage = sqliteStorage();
  migrate(storage, RUN_MIGRATIONS);
  storage.sql.exec("INSERT INTO forks (n, status, branch) VALUES (1, 'running', 'w/1')");
  const store = new RunStore(storage.sql, () => { throw new Error("no legacy run here"); });
  // Fork 1: command-1 ended at T0+1 s; command-2 started at T0+2 s and has not ended.
  store.stepStarted(1, "command-1", 1, T0);
  store.stepFinished(1, "command-1", 1, true, 1000, T0 + 1000);
  store.stepStarted(1, "command-2", 1, T0 + 2000);
  return { store, branches: new BranchStore(storage.sql) };
}

describe("a branch asked for by the time a step reported its end", () => {
  it("a branch asked for while command-2 ran was not told to command-1: the boundary command-1 passed takes nothing", () => {
    const { store, branches } = run();
    branches.add(1, 2, undefined, (n) => `w/${n}`, iso(T0 + 3000));
    const ended = store.stepEndedAt(1, "command-1");
    expect(ended).toBe(T0 + 1000);
    expect(branches.openAskedBy(1, iso(ended!))).toBe(false);
    // Once command-2 reports its end, it was told: the boundary after it takes the branch.
    store.stepFinished(1, "command-2", 1, true, 6000, T0 + 8000);
    expect(branches.openAskedBy(1, iso(store.stepEndedAt(1, "command-2")!))).toBe(true);
  });

  it("a branch asked for before the step ended counts while it is open; a step with no recorded end was told nothing", () => {
    const { store, branches } = run();
    branches.add(1, 1, undefined, (n) => `w/${n}`, iso(T0 + 500));
    expect(branches.openAskedBy(1, iso(store.stepEndedAt(1, "command-1")!))).toBe(true);
    expect(store.stepEndedAt(1, "command-2")).toBeUndefined();
    // Claimed at a boundary whose step was lost: still open, taken again.
    branches.claim(1, { tag: "command-2", turn: 1, journal: 1 });
    expect(branches.openAskedBy(1, iso(T0 + 1000))).toBe(true);
    // Forked: nothing waits any more.
    branches.forked(1, 1, "state");
    expect(branches.openAskedBy(1, iso(T0 + 1000))).toBe(false);
  });
});
