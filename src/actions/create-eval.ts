import { createEvalBody, createEvalRequest, type CreateEvalRequest, type EvalView } from "../api/evals";
import { parseInput } from "../api/validation";
import type { Env } from "../core/env";
import { InvalidInputError, unwrap } from "../core/errors";
import { evalRunBody } from "../evals/plan";
import { sweBenchRequestTasks } from "../evals/swe-bench";
import { randomBase32 } from "../protocol/run-ids";
import { prepareRun } from "./create-run";

/** Eval ids: `e` + 20 base32 characters (src/protocol/eval-check.ts EVAL_ID_PATTERN). */
export function newEvalId(): string {
  return `e${randomBase32(20)}`;
}

/**
 * Validates an eval request (a `sweBench` body converted to tasks first), then every task × config as the run it will be (POST /v1/runs's own
 * validation: repository, branch, model, prepare, judge), so a bad task is a 400 now, naming it,
 * rather than a failed run later. Then the eval's object is created and starts launching.
 */
export async function createEval(env: Env, body: unknown): Promise<EvalView> {
  const { sweBench, ...rest } = parseInput(createEvalBody, body);
  const request = parseInput(createEvalRequest, sweBench ? { ...rest, tasks: sweBenchRequestTasks(sweBench) } : rest);
  await checkRuns(env, request);
  const id = newEvalId();
  return unwrap(await env.EVAL.getByName(id).create({ id, request }));
}

async function checkRuns(env: Env, request: CreateEvalRequest): Promise<void> {
  for (const [c, config] of request.configs.entries()) {
    for (const [t, task] of request.tasks.entries()) {
      try {
        await prepareRun(env, evalRunBody("e", task, config, request.budgetUsd ?? null), { idempotencyKey: null });
      } catch (err) {
        if (!(err instanceof InvalidInputError)) throw err;
        const field = String(err.details?.field ?? "");
        const where = field === "task.model" || field.startsWith("judge") || field.startsWith("strategy") || field === "forks" ? `configs.${c}` : `tasks.${t}`;
        throw new InvalidInputError(`${where} (task ${task.id}, config ${config.name}): ${err.message}`, { field: field ? `${where}.${fieldName(field)}` : where });
      }
    }
  }
}

/** A run field's name as the eval request calls it. */
function fieldName(runField: string): string {
  const names: Record<string, string> = { "task.model": "model", "task.prompt": "prompt", branch: "ref", "prepare.commands": "prepare" };
  return names[runField] ?? runField;
}
