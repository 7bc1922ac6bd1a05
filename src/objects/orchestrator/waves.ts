import { judgesWithModel, TERMINAL_FORK_STATUSES, type ForkStatus } from "../../api/runs";
import { decideWave, INITIAL_WAVES, waveOf, type WaveFork, type WaveJudging, type WaveState } from "../../runs/adaptive";
import type { ForkOutcome } from "../../runs/fork-outcome";
import { errorFields, log } from "../../observability/log";
import type { RunContext } from "./run-context";
import type { RunJudging } from "./run-judging";

/**
 * Adaptive runs (strategy.kind "adaptive", src/runs/adaptive.ts): which queued forks may launch
 * (those of the waves launched so far), and, before each launch, the next move — another wave,
 * a judging of the ended wave (minScore), or the end of the search, whose queued forks are
 * cancelled. The state is the run's `waves` (migration 4); each move is written before it is
 * announced, so a repeated decision finds it made.
 */
export class RunWaves {
  readonly #run: RunContext;
  readonly #judging: RunJudging;

  constructor(run: RunContext, judging: RunJudging) {
    this.#run = run;
    this.#judging = judging;
  }

  /** Whether queued fork n may launch now: any fork of a run without a strategy, or a branched one (past max). */
  mayLaunch(n: number): boolean {
    const run = this.#run.run();
    const strategy = run.request.strategy;
    if (!strategy || n > strategy.max) return true;
    const state = run.waves ?? INITIAL_WAVES;
    return !state.stopped && waveOf(n, strategy.initial) <= state.launched;
  }

  /**
   * Applies the next move of a running adaptive run (none for other runs). A run that completed
   * or failed meanwhile (its last wave ended while that wave was judged) only records why its search stopped.
   */
  async decide(): Promise<void> {
    const run = this.#run.run();
    const strategy = run.request.strategy;
    if (!strategy || !["running", "completed", "failed"].includes(run.status)) return;
    const state = run.waves ?? INITIAL_WAVES;
    const budget = run.request.budgetUsd;
    const spent = budget !== undefined && this.#run.store.ledger.spentUsd() >= budget;
    const decision = decideWave(strategy, state, this.#waveForks(state.launched * strategy.initial, strategy.max), this.#latestJudging(), spent);
    if (decision.kind === "wait" || (run.status !== "running" && decision.kind !== "stop")) return;
    if (decision.kind === "launch") {
      this.#run.store.setWaves({ ...state, launched: decision.wave });
      this.#run.event("run.wave", null, { wave: decision.wave });
      return;
    }
    if (decision.kind === "judge") return this.#judgeWave(state, decision.wave);
    this.#run.store.setWaves({ ...state, stopped: decision.stop });
    this.#run.event("run.adaptive_stopped", decision.stop.fork ?? null, { ...decision.stop });
    log("info", "run.adaptive_stopped", { runId: run.id, reason: decision.stop.reason, wave: decision.stop.wave });
    const error = { code: "cancelled", message: `Not launched: the search stopped. ${decision.stop.message}` };
    for (const fork of this.#run.store.forksWithStatus("queued")) {
      if (fork.n > strategy.max) continue;
      if (this.#run.store.finishFork(fork.n, "cancelled", new Date().toISOString(), error)) this.#run.event("fork.finished", fork.n, { status: "cancelled" });
    }
  }

  /** minScore: the ended wave's forks (with every earlier one that succeeded) are judged; the next move waits for the scores. */
  async #judgeWave(state: WaveState, wave: number): Promise<void> {
    const request = this.#run.run().request.judge;
    try {
      await this.#judging.start(request && judgesWithModel(request) ? request : { llm: {} }, { duringRun: true });
      this.#run.store.setWaves({ ...state, judging: { wave, k: this.#run.run().judging!.k } });
    } catch (err) {
      // Not judged (judging k 0 is none): the search goes on as if no fork reached the score.
      log("warn", "run.wave_not_judged", { runId: this.#run.run().id, wave, ...errorFields(err) });
      this.#run.store.setWaves({ ...state, judging: { wave, k: 0 } });
      await this.decide();
    }
  }

  /** The forks of the launched waves, those that passed first in the order they ended. */
  #waveForks(upTo: number, max: number): WaveFork[] {
    const forks: (WaveFork & { at: string })[] = [];
    for (let n = 1; n <= Math.min(upTo, max); n++) {
      const row = this.#run.store.fork(n);
      if (!row) continue;
      const outcome = row.outcome ? (JSON.parse(row.outcome) as ForkOutcome) : null;
      const succeeded = row.status === "succeeded";
      const ended = TERMINAL_FORK_STATUSES.includes(row.status as ForkStatus);
      forks.push({ n, ended, succeeded, passed: succeeded && outcome?.check?.passed === true, at: row.finished_at ?? "" });
    }
    return forks.sort((a, b) => Number(b.passed) - Number(a.passed) || a.at.localeCompare(b.at) || a.n - b.n);
  }

  #latestJudging(): WaveJudging | undefined {
    const judging = this.#run.run().judging;
    if (!judging) return undefined;
    const scores = new Map(this.#run.store.scores(judging.k).flatMap((s) => (s.score === null ? [] : [[s.n, s.score] as const])));
    return { k: judging.k, status: judging.status, scores };
  }
}
