import type { JudgeRequest } from "../../api/runs";
import { TERMINAL_RUN_STATUSES } from "../../api/runs";
import { resolveModel } from "../../agent/models";
import { ConflictError } from "../../core/errors";
import type { JudgeInput, Judgement } from "../../runs/judging";
import type { RunContext } from "./run-context";
import { judgeInstanceId } from "../../protocol/instance-ids";

/**
 * LLM judgings of a run's forks (POST …/judge, or judge.llm when the run ends; the Workflow is
 * src/workflows/judge-workflow.ts): numbered 1, 2, … per run; the latest one's scores, once done,
 * rank the forks. A run on GitHub reports when its judging has ended.
 */
export class RunJudging {
  readonly #run: RunContext;

  constructor(run: RunContext) {
    this.#run = run;
  }

  /** Starts a judging of the forks that succeeded; one already running is made sure of (its instance launched), not doubled. */
  async start(request: JudgeRequest): Promise<void> {
    const run = this.#run.run();
    if (!TERMINAL_RUN_STATUSES.includes(run.status)) throw new ConflictError("run_not_finished", "Forks are judged once the run has ended.");
    if (this.#run.store.countForks("succeeded") === 0) throw new ConflictError("nothing_to_judge", "No fork succeeded: there is nothing to judge.");
    let judging = run.judging;
    if (judging?.status !== "running") {
      const agentModel = "prompt" in run.request.task ? run.request.task.model : undefined;
      judging = { k: (judging?.k ?? 0) + 1, status: "running", model: resolveModel(request.llm?.model ?? agentModel), ...(request.llm?.rubric ? { rubric: request.llm.rubric } : {}) };
      this.#run.store.setJudging(judging);
      this.#run.event("run.judging", null, { judging: judging.k, model: judging.model });
    }
    try {
      await this.#run.env.JUDGE_WORKFLOW.create({ id: judgeInstanceId(run.id, judging.k), params: { runId: run.id, k: judging.k } });
    } catch (err) {
      if (!/already.?exists/i.test(String(err))) throw err;
    }
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
    return { k, model: judging.model, ...(judging.rubric ? { rubric: judging.rubric } : {}), task: run.request.task, checkCommand: run.request.check ?? null, forks };
  }

  /** Judging k's scores: the ranking uses them from now on. */
  async judged(k: number, scores: Judgement[]): Promise<void> {
    const judging = this.#run.run().judging;
    if (!judging || judging.k !== k || judging.status !== "running") return;
    this.#run.store.saveScores(k, scores);
    this.#run.store.setJudging({ ...judging, status: "done" });
    this.#run.event("run.judged", null, { judging: k, scores: scores.map((s) => ({ n: s.n, score: s.score })) });
    await this.#run.index.now();
    await this.#run.reportToGitHub();
  }

  async failed(k: number, error: { code: string; message: string }): Promise<void> {
    const judging = this.#run.run().judging;
    if (!judging || judging.k !== k || judging.status !== "running") return;
    this.#run.store.setJudging({ ...judging, status: "failed", error });
    this.#run.event("run.judged", null, { judging: k, error });
    await this.#run.reportToGitHub();
  }
}
