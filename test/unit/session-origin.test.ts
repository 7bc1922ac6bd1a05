// What a session continuing a run's fork replays of the fork's journal when it rebuilds (issue 24, item 2).
import { describe, expect, it } from "vitest";
import { splitPrepare } from "../../src/actions/session-origin";
import { EXCLUDE_PREPARED_SCRIPT } from "../../src/sandbox/git";

describe("a kept fork's journal as a session's origin", () => {
  it("keeps the run's prepare commands apart (re-run before a snapshot too) from the fork's own commands", () => {
    expect(splitPrepare(["npm ci", EXCLUDE_PREPARED_SCRIPT, "make", "make test"], ["npm ci"])).toEqual({ prepare: ["npm ci"], commands: ["make", "make test"] });
  });

  it("a run without prepare: every command is the fork's", () => {
    expect(splitPrepare(["echo one > one.txt", "echo two > two.txt"], [])).toEqual({ prepare: [], commands: ["echo one > one.txt", "echo two > two.txt"] });
    expect(splitPrepare([], [])).toEqual({ prepare: [], commands: [] });
  });

  it("a per_fork prepare that failed partway (no exclude step) is replayed as it ran, all as commands", () => {
    expect(splitPrepare(["npm ci"], ["npm ci", "npm run build"])).toEqual({ prepare: [], commands: ["npm ci"] });
    expect(splitPrepare(["npm ci", "npm run build"], ["npm ci", "npm run build"])).toEqual({ prepare: [], commands: ["npm ci", "npm run build"] });
  });
});
