// Adaptive N's decision (src/runs/adaptive.ts): waves of `initial`, stop at the first passing check,
// at a judged fork ≥ minScore, at max or at the budget; the view's account of each wave.
import { describe, expect, it } from "vitest";
import type { AdaptiveStrategy } from "../../src/api/runs";
import { adaptiveView, decideWave, INITIAL_WAVES, waveOf, type WaveFork } from "../../src/runs/adaptive";

const checkPass: AdaptiveStrategy = { kind: "adaptive", initial: 2, max: 5, until: "check_pass" };
const minScore: AdaptiveStrategy = { kind: "adaptive", initial: 2, max: 4, until: { minScore: 8 } };
const fork = (n: number, state: "running" | "passed" | "failed" | "succeeded"): WaveFork => ({ n, ended: state !== "running", succeeded: state === "passed" || state === "succeeded", passed: state === "passed" });

describe("decideWave", () => {
  it("stops at the first passing check, without waiting for the rest of the wave", () => {
    const decision = decideWave(checkPass, INITIAL_WAVES, [fork(2, "passed"), fork(1, "running")], undefined, false);
    expect(decision).toEqual({ kind: "stop", stop: { reason: "check_pass", wave: 1, fork: 2, message: "Fork 2 passed its check in wave 1." } });
  });

  it("waits for the wave while no fork passed, then launches the next one", () => {
    expect(decideWave(checkPass, INITIAL_WAVES, [fork(1, "failed"), fork(2, "running")], undefined, false)).toEqual({ kind: "wait" });
    expect(decideWave(checkPass, INITIAL_WAVES, [fork(1, "failed"), fork(2, "succeeded")], undefined, false)).toEqual({ kind: "launch", wave: 2 });
  });

  it("stops at max (the last wave may be partial) and at the budget", () => {
    const third = { launched: 3, stopped: null };
    const ended = [1, 2, 3, 4, 5].map((n) => fork(n, "failed"));
    expect(decideWave(checkPass, third, ended, undefined, false)).toMatchObject({ kind: "stop", stop: { reason: "max", wave: 3 } });
    expect(decideWave(checkPass, { launched: 1, stopped: null }, ended.slice(0, 2), undefined, true)).toMatchObject({ kind: "stop", stop: { reason: "budget", wave: 1 } });
  });

  it("a stopped search stays stopped", () => {
    const stopped = { launched: 1, stopped: { reason: "check_pass" as const, wave: 1, fork: 1, message: "" } };
    expect(decideWave(checkPass, stopped, [fork(1, "passed")], undefined, false)).toEqual({ kind: "wait" });
  });

  it("minScore: an ended wave is judged; a score at or above the goal stops the search, a lower one launches the next wave", () => {
    const wave = [fork(1, "succeeded"), fork(2, "failed")];
    expect(decideWave(minScore, INITIAL_WAVES, wave, undefined, false)).toEqual({ kind: "judge", wave: 1 });
    const judged = { launched: 1, stopped: null, judging: { wave: 1, k: 1 } };
    expect(decideWave(minScore, judged, wave, { k: 1, status: "running", scores: new Map() }, false)).toEqual({ kind: "wait" });
    expect(decideWave(minScore, judged, wave, { k: 1, status: "done", scores: new Map([[1, 8]]) }, false)).toMatchObject({ kind: "stop", stop: { reason: "min_score", fork: 1 } });
    expect(decideWave(minScore, judged, wave, { k: 1, status: "done", scores: new Map([[1, 7]]) }, false)).toEqual({ kind: "launch", wave: 2 });
    // A wave whose judging could not start (k 0) goes on as if no fork reached the score.
    expect(decideWave(minScore, { launched: 1, stopped: null, judging: { wave: 1, k: 0 } }, wave, undefined, false)).toEqual({ kind: "launch", wave: 2 });
    // A wave where nothing succeeded has nothing to judge.
    expect(decideWave(minScore, INITIAL_WAVES, [fork(1, "failed"), fork(2, "failed")], undefined, false)).toEqual({ kind: "launch", wave: 2 });
  });
});

describe("the waves in the run's view", () => {
  it("says which forks each wave launched, what it cost and which passed", () => {
    expect(waveOf(3, 2)).toBe(2);
    const view = adaptiveView(checkPass, { launched: 2, stopped: null }, [
      { n: 1, costUsd: 0.1, passed: false },
      { n: 2, costUsd: 0.2, passed: false },
      { n: 3, costUsd: 0.05, passed: true },
      { n: 4, costUsd: 0, passed: false },
      { n: 5, costUsd: 0, passed: false },
    ]);
    expect(view.waves).toEqual([
      { wave: 1, forks: [1, 2], costUsd: 0.3, passed: [] },
      { wave: 2, forks: [3, 4], costUsd: 0.05, passed: [3] },
    ]);
  });
});
