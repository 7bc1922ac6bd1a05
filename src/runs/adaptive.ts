/**
 * Adaptive N (strategy.kind "adaptive"), pure: a run launches its forks in waves of `initial` and
 * stops searching at the first passing check (until "check_pass"), once a judged fork reaches
 * `minScore`, when every fork up to `max` was launched, or when the budget is spent. The
 * Orchestrator's part (src/objects/orchestrator/waves.ts) applies what decideWave says.
 */
import type { AdaptiveStop, AdaptiveView } from "../api/selection-responses";
import type { AdaptiveStrategy } from "../api/runs";

/** The wave state a run stores: how many waves were launched, why it stopped, the judging of a wave (minScore). */
export interface WaveState {
  launched: number;
  stopped: AdaptiveStop | null;
  /** minScore: the judging (its number) started when wave `wave` ended. */
  judging?: { wave: number; k: number };
}

export const INITIAL_WAVES: WaveState = { launched: 1, stopped: null };

/** The wave fork n belongs to (1-based). */
export const waveOf = (n: number, initial: number) => Math.ceil(n / initial);

/** What the decision reads of a fork of a launched wave. */
export interface WaveFork {
  n: number;
  ended: boolean;
  /** Its check passed (and it succeeded). */
  passed: boolean;
  succeeded: boolean;
}

/** What the decision reads of the run's latest judging. */
export interface WaveJudging {
  k: number;
  status: "running" | "done" | "failed";
  scores: ReadonlyMap<number, number>;
}

export type WaveDecision = { kind: "wait" } | { kind: "judge"; wave: number } | { kind: "launch"; wave: number } | { kind: "stop"; stop: AdaptiveStop };

function stop(reason: AdaptiveStop["reason"], wave: number, message: string, fork?: number): WaveDecision {
  return { kind: "stop", stop: { reason, wave, message, ...(fork !== undefined ? { fork } : {}) } };
}

/** The best-scored fork at or above minScore, from the wave's judging (done). */
function reachedScore(strategy: AdaptiveStrategy, state: WaveState, judging: WaveJudging | undefined): { n: number; score: number } | null {
  if (typeof strategy.until !== "object" || !state.judging || judging?.k !== state.judging.k || judging.status !== "done") return null;
  const best = [...judging.scores].filter(([, score]) => score >= (strategy.until as { minScore: number }).minScore).sort((a, b) => b[1] - a[1] || a[0] - b[0])[0];
  return best ? { n: best[0], score: best[1] } : null;
}

/**
 * The next move of an adaptive run, from the forks of its launched waves (`forks`, in the order
 * they ended for the passed ones), its latest judging and whether its budget is spent.
 */
export function decideWave(strategy: AdaptiveStrategy, state: WaveState, forks: readonly WaveFork[], judging: WaveJudging | undefined, budgetSpent: boolean): WaveDecision {
  const wave = state.launched;
  if (state.stopped) return { kind: "wait" };
  const passed = forks.find((f) => f.passed);
  if (strategy.until === "check_pass" && passed) return stop("check_pass", wave, `Fork ${passed.n} passed its check in wave ${wave}.`, passed.n);
  const reached = reachedScore(strategy, state, judging);
  if (reached) return stop("min_score", wave, `Fork ${reached.n} was judged ${reached.score}/10 (minScore ${(strategy.until as { minScore: number }).minScore}) after wave ${wave}.`, reached.n);
  if (forks.some((f) => !f.ended)) return { kind: "wait" };
  if (typeof strategy.until === "object" && state.judging?.wave !== wave && forks.some((f) => f.succeeded)) return { kind: "judge", wave };
  if (typeof strategy.until === "object" && state.judging?.wave === wave && judging?.k === state.judging.k && judging.status === "running") return { kind: "wait" };
  if (wave * strategy.initial >= strategy.max) return stop("max", wave, `Every fork up to max (${strategy.max}) was launched; none met the goal.`);
  if (budgetSpent) return stop("budget", wave, `The budget was spent after wave ${wave}.`);
  return { kind: "launch", wave: wave + 1 };
}

/** The run view's account of the waves: each wave's forks, cost and passes, and why it stopped. */
export function adaptiveView(strategy: AdaptiveStrategy, state: WaveState, forks: readonly { n: number; costUsd: number; passed: boolean }[]): AdaptiveView {
  const waves = Array.from({ length: state.launched }, (_, i) => {
    const own = forks.filter((f) => waveOf(f.n, strategy.initial) === i + 1);
    const costUsd = Math.round(own.reduce((s, f) => s + f.costUsd, 0) * 1e6) / 1e6;
    return { wave: i + 1, forks: own.map((f) => f.n), costUsd, passed: own.filter((f) => f.passed).map((f) => f.n) };
  });
  return { initial: strategy.initial, max: strategy.max, waves, stopped: state.stopped };
}
