import { estimateInputTokens } from "../agent/loop";
import { expectedCallCostUsd, parseModelPrices, usageCostUsd } from "../agent/pricing";
import { ArtifactStore, patchKey } from "../artifacts/store";
import { unwrap } from "../core/errors";
import type { Orchestrator } from "../objects/orchestrator/orchestrator";
import { log } from "../observability/log";
import { JUDGE_PATCH_BYTES, judgeBoundary, judgePatch, judgeRequest, readJudgement, type JudgeInput, type Judgement } from "../runs/judging";
import { runTournament } from "./judge-tournament";
import { DurableJob, type JobContext, type JobTracking } from "./durable-job";
import type { JobPlan } from "./job-plan";
import { stepConfig } from "./step-policies";
import type { StepTracker } from "./step-runner";

export interface JudgeParams {
  runId: string;
  /** Which judging of the run (1, 2, … per POST …/judge). */
  k: number;
}

export const JUDGE_STEP = {
  input: "judge-input",
  fork: (n: number) => `judge-${n}`,
  report: "judge-report",
  failed: "judge-failed",
} as const;

type JudgeOutcome = { judgements: Judgement[] } | { error: { code: string; message: string } };

/**
 * Judging k's steps, reported to the run's Orchestrator with heartbeats. Not gated: a judging runs
 * on an ended run, whatever its status, and its model calls are held to the budget by their reservations.
 */
function judgeTracker(orchestrator: DurableObjectStub<Orchestrator>, k: number): StepTracker {
  return {
    stepStarted: async () => ({ proceed: true, budgetSpent: false }),
    stepFinished: async (name, report) => orchestrator.judgeStepFinished(k, name, report),
    heartbeat: async () => {
      await orchestrator.judgeAlive(k);
    },
  };
}

/**
 * Judges the forks of an ended run that succeeded: one checkpointed step per fork, each a model
 * call within the run's budget (reserved first, then booked in the ledger at fork 0, the run's
 * own costs), then the scores go to the Orchestrator, which ranks with them.
 */
export class JudgeWorkflow extends DurableJob<JudgeParams, JudgeOutcome, Judgement[]> {
  protected tracking({ runId, k }: JudgeParams): JobTracking {
    return { runId, n: 0, tracker: judgeTracker(this.env.ORCHESTRATOR.getByName(runId), k) };
  }

  protected plan(job: JobContext<JudgeParams>): JobPlan<JudgeOutcome, Judgement[]> {
    const { runId, k } = job.params;
    const { steps, config } = job;
    const orchestrator = job.env.ORCHESTRATOR.getByName(runId);
    const control = stepConfig("control", config.RETRY_POLICIES);
    return {
      work: async () => {
        const input = await steps.run(JUDGE_STEP.input, control, async () => unwrap(await orchestrator.judgeInput(k)), { gated: false });
        const judgements: Judgement[] = [];
        for (const fork of input.forks) judgements.push(await judgeFork(job, orchestrator, input, fork));
        // judge.mode "tournament": pairwise matches after the scores (judge-tournament.ts; steps appended after judge-<n>).
        const tournament = input.tournament && input.forks.length > 1 ? await runTournament(job, orchestrator, input, judgements) : undefined;
        await steps.run(JUDGE_STEP.report, control, async () => unwrap(await orchestrator.judged(k, judgements, tournament)), { gated: false });
        return { judgements };
      },
      failed: (error) => {
        log("warn", "judge.failed", { runId, judging: k, errorCode: error.code, errorMessage: error.message });
        return { error };
      },
      finish: async (outcome) => {
        if ("judgements" in outcome) return outcome.judgements;
        const { error } = outcome;
        await steps.run(JUDGE_STEP.failed, control, async () => {
          await orchestrator.judgeFailed(k, error);
          return { failed: true };
        }, { gated: false });
        return [];
      },
    };
  }
}

/**
 * One fork's judgement: a model call reserved in the run's budget first, its cost booked at fork 0.
 * The fork's text reaches the model fenced by a boundary drawn at random for this request (src/runs/judging.ts).
 */
function judgeFork(job: JobContext<JudgeParams>, orchestrator: DurableObjectStub<Orchestrator>, input: JudgeInput, fork: JudgeInput["forks"][number]): Promise<Judgement> {
  const { runId, k } = job.params;
  const prices = parseModelPrices(job.config.MODEL_PRICES);
  const store = new ArtifactStore(job.env.ARTIFACTS);
  return job.steps.run(JUDGE_STEP.fork(fork.n), stepConfig("judge", job.config.RETRY_POLICIES), async ({ attempt }) => {
    const head = fork.diff && fork.diff.files > 0 ? await store.head(patchKey(runId, fork.n), JUDGE_PATCH_BYTES + 1) : null;
    // Drawn inside the step: a replay reuses the step's judgement, never a second boundary.
    const request = judgeRequest(input, fork, head === null ? null : judgePatch(head), judgeBoundary());
    const key = `judge:${k}:${fork.n}:${attempt}`;
    const expected = expectedCallCostUsd(input.model, { inputTokensEstimate: estimateInputTokens(request), maxTokens: request.maxTokens }, prices);
    unwrap(await orchestrator.reserveModelCall(0, key, expected));
    try {
      const turn = await job.callModel(request);
      await orchestrator.recordModelCost(0, key, usageCostUsd(turn.model || input.model, turn.usage, prices));
      return readJudgement(fork.n, turn);
    } catch (err) {
      await orchestrator.releaseReservation(key);
      throw err;
    }
  }, { gated: false });
}
