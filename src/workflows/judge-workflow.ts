import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "cloudflare:workers";
import { estimateInputTokens } from "../agent/loop";
import { callModel } from "../agent/model-client";
import { expectedCallCostUsd, parseModelPrices, usageCostUsd } from "../agent/pricing";
import { ArtifactStore, patchKey } from "../artifacts/store";
import type { Env } from "../core/env";
import { loadConfig } from "../core/env";
import { decodeStepError, unwrap } from "../core/errors";
import { log } from "../observability/log";
import { JUDGE_PATCH_BYTES, judgeRequest, readJudgement, type Judgement } from "../runs/judging";
import { stepConfig } from "./retry-policies";
import { isEngineInterruption, toStepError } from "./step-runner";

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

const CONTROL_STEP_TIMEOUT_MS = 2 * 60_000;
const MODEL_STEP_TIMEOUT_MS = 5 * 60_000;

/**
 * Judges the forks of an ended run that succeeded: one checkpointed step per fork, each a model
 * call within the run's budget (reserved first, then booked in the ledger at fork 0, the run's
 * own costs), then the scores go to the Orchestrator, which ranks with them.
 */
export class JudgeWorkflow extends WorkflowEntrypoint<Env, JudgeParams> {
  override async run(event: Readonly<WorkflowEvent<JudgeParams>>, step: WorkflowStep): Promise<Judgement[]> {
    const { runId, k } = event.payload;
    const config = loadConfig(this.env);
    const orchestrator = this.env.ORCHESTRATOR.getByName(runId);
    const control = stepConfig("report", config.RETRY_POLICIES, CONTROL_STEP_TIMEOUT_MS);
    const prices = parseModelPrices(config.MODEL_PRICES);
    const store = new ArtifactStore(this.env.ARTIFACTS);
    try {
      const input = await step.do(JUDGE_STEP.input, control, async () => unwrap(await orchestrator.judgeInput(k)));
      const judgements: Judgement[] = [];
      for (const fork of input.forks) {
        judgements.push(
          await step.do(JUDGE_STEP.fork(fork.n), stepConfig("model", config.RETRY_POLICIES, MODEL_STEP_TIMEOUT_MS), async (ctx) =>
            asStep(async () => {
              const meta = fork.diff && fork.diff.files > 0 ? await store.head(patchKey(runId, fork.n), JUDGE_PATCH_BYTES) : null;
              const request = judgeRequest(input, fork, meta, meta === null ? 0 : meta.length);
              const key = `judge:${k}:${fork.n}:${ctx.attempt}`;
              const expected = expectedCallCostUsd(input.model, { inputTokensEstimate: estimateInputTokens(request), maxTokens: request.maxTokens }, prices);
              unwrap(await orchestrator.reserveModelCall(0, key, expected));
              try {
                const turn = await callModel({ apiKey: config.ANTHROPIC_API_KEY ?? "", baseURL: config.ANTHROPIC_BASE_URL }, request);
                await orchestrator.recordModelCost(0, key, usageCostUsd(turn.model || input.model, turn.usage, prices));
                return readJudgement(fork.n, turn);
              } catch (err) {
                await orchestrator.releaseReservation(key);
                throw err;
              }
            }),
          ),
        );
      }
      await step.do(JUDGE_STEP.report, control, async () => unwrap(await orchestrator.judged(k, judgements)));
      return judgements;
    } catch (err) {
      if (isEngineInterruption(err)) throw err;
      const error = decodeStepError(err);
      log("warn", "judge.failed", { runId, judging: k, errorCode: error.code, errorMessage: error.message });
      await step.do(JUDGE_STEP.failed, control, async () => {
        await orchestrator.judgeFailed(k, error);
        return { failed: true };
      });
      return [];
    }
  }
}

/** Runs a step body, its error leaving as a step error (not retried when retrying cannot help). */
async function asStep<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    throw toStepError(err);
  }
}
