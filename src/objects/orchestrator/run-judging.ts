import type { JudgeRequest } from "../../api/runs";
import { DEFAULT_MAX_COMPARISONS, TERMINAL_RUN_STATUSES } from "../../api/runs";
import type { TournamentResult } from "../../runs/tournament";
import { resolveModel } from "../../agent/models";
import { ConflictError } from "../../core/errors";
import type { JudgeInput, Judgement } from "../../runs/judging";
import type { RunContext } from "./run-context";
import type { StepReport } from "../../protocol/step-reports";
import { judgeInstanceId } from "../../protocol/instance-ids";
import { createInstanceOnce } from "../../protocol/create-instance";

/**
 * LLM judgings of a run's forks (POST …/judge, or judge.llm when the run ends; the Workflow is
 * src/workflows/judge-workflow.ts): numbered 1, 2, … per run; the latest one's scores, once done,
 * rank the forks. A run on GitHub reports when its judging has ended.
 */
export class RunJudging {
  readonly #run: RunContext;
  /** When the current judging's instance was last heard from (a step report or a heartbeat), for the run's instance watch. */
  heardAt: number | undefined;

  constructor(run: RunContext) {
    this.#run = run;
  }

  /**
   * Starts a judging of the forks that succeeded; one already running is made sure of (its instance
   * launched), not doubled. `duringRun`: an adaptive run's ended wave (waves.ts), while the run goes on.
   */
  async start(request: JudgeRequest, { duringRun = false } = {}): Promise<void> {
    const run = this.#run.run();
    if (!duringRun && !TERMINAL_RUN_STATUSES.includes(run.status)) throw new ConflictError("run_not_finished", "Forks are judged once the run has ended.");
    if (this.#run.store.countForks("succeeded") === 0) throw new ConflictError("nothing_to_judge", "No fork succeeded: there is nothing to judge.");
    let judging = run.judging;
    if (judging?.status !== "running") {
      const agentModel = "prompt" in run.request.task ? run.request.task.model : undefined;
      const tournament = request.mode === "tournament" ? { mode: "tournament" as const, maxComparisons: request.maxComparisons ?? DEFAULT_MAX_COMPARISONS } : {};
      judging = { k: (judging?.k ?? 0) + 1, status: "running", model: resolveModel(request.llm?.model ?? agentModel), ...(request.llm?.rubric ? { rubric: request.llm.rubric } : {}), ...tournament };
      this.#run.store.setJudging(judging);
      this.#run.event("run.judging", null, { judging: judging.k, model: judging.model });
    }
    await createInstanceOnce(this.#run.env.JUDGE_WORKFLOW, judgeInstanceId(run.id, judging.k), { runId: run.id, k: judging.k });
    // The run's alarm watches the judging's instance (an ended run's alarm may have stopped).
    await this.#run.armAlarm();
  }

  /** A step of judging k ended: shown in the run's events as the prepare's are (fork 0). */
  stepFinished(k: number, name: string, report: StepReport): void {
    if (!this.alive(k)) return;
    const { attempt, ok, durationMs, error } = report;
    this.#run.event("step.finished", 0, { step: name, attempt, ok, durationMs, ...(error ? { error } : {}) });
  }

  /** Judging k's instance is alive (a heartbeat); false when k is not the run's current judging. */
  alive(k: number): boolean {
    if (this.#run.store.run()?.judging?.k !== k) return false;
    this.heardAt = Date.now();
    return true;
  }

  /** What judging k reads: the task and, per fork that succeeded, its check, diff and summary. */
  input(k: number): JudgeInput {
    const run = this.#run.run();
    const judging = run.judging;
    if (!judging || judging.k !== k) throw new ConflictError("judging_superseded", `Judging ${k} is not this run's current one.`);
    const forks = this.#run.store
      .view()!
      .forks.filter((f) => f.status === "succeeded")
      .map((f) => ({ n: f.n, ...(f.check ? { check: f.check } : {}), ...(f.diff ? { diff: f.diff } : {}), ...(f.agent?.summary ? { summary: f.agent.summary } : {}) }));
    const budget = run.request.budgetUsd;
    const budgetLeftUsd = budget === undefined ? null : Math.max(0, budget - this.#run.store.ledger.spentUsd() - this.#run.store.ledger.reservedUsd(Date.now()));
    const tournament = judging.mode === "tournament" ? { tournament: { maxComparisons: judging.maxComparisons ?? DEFAULT_MAX_COMPARISONS, budgetLeftUsd } } : {};
    return { k, model: judging.model, ...(judging.rubric ? { rubric: judging.rubric } : {}), task: run.request.task, checkCommand: run.request.check ?? null, forks, ...tournament };
  }

  /** Judging k's scores (and tournament): the ranking uses them from now on. */
  async judged(k: number, scores: Judgement[], tournament?: TournamentResult): Promise<void> {
    const judging = this.#run.run().judging;
    if (!judging || judging.k !== k || judging.status !== "running") return;
    this.#run.store.saveScores(k, scores);
    this.#run.store.setJudging({ ...judging, status: "done", ...(tournament ? { tournament } : {}) });
    const bracket = tournament ? { tournament: { format: tournament.format, order: tournament.order } } : {};
    this.#run.event("run.judged", null, { judging: k, scores: scores.map((s) => ({ n: s.n, score: s.score })), ...bracket });
    await this.#run.index.now();
    await this.#afterJudging();
  }

  /** An adaptive run judged after a wave (waves.ts) decides its next move now, or, ended, records why its search stopped; an ended run reports. */
  async #afterJudging(): Promise<void> {
    const ended = TERMINAL_RUN_STATUSES.includes(this.#run.run().status);
    if (this.#run.run().request.strategy) await this.#run.afterForkChange();
    if (ended) await this.#run.reportToGitHub();
  }

  async failed(k: number, error: { code: string; message: string }): Promise<void> {
    const judging = this.#run.run().judging;
    if (!judging || judging.k !== k || judging.status !== "running") return;
    this.#run.store.setJudging({ ...judging, status: "failed", error });
    this.#run.event("run.judged", null, { judging: k, error });
    await this.#afterJudging();
  }
}
