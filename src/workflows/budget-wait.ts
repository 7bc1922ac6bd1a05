import type { WorkflowStep } from "cloudflare:workers";
import type { Config } from "../core/env";
import { BudgetExceededError } from "../core/errors";
import { BUDGET_RAISED_EVENT } from "../protocol/events";
import { isEngineInterruption } from "../protocol/engine-errors";
import { stepConfig } from "./step-policies";
import type { StepRunner } from "./step-runner";
import { budgetResumeStep, budgetWaitStep } from "./steps";

/** Who holds the budget a job waits for, and what it pauses meanwhile. */
export interface BudgetOwner<Paused, Resumed> {
  /** Named in the error when the budget is not raised in time. */
  name: "run" | "session";
  /** The step kind of the pause and the resume: the Pool's suspend and resume (a fork's), or calls to the Session. */
  kind: "cleanup" | "control";
  /** The budget-wait step's body: pause the sandbox, tell the owner. */
  pause(): Promise<Paused>;
  /** The budget-resume step's body, once the budget was raised. */
  resume(): Promise<Resumed>;
  /** Told when the budget was not raised in time, before the error is thrown (e.g. the wait does not count against a fork's time). */
  notRaised?(paused: Paused): void;
}

/**
 * A model call refused for budget: pauses (a step), waits durably for the owner's budget-raised
 * event (BUDGET_WAIT_SECONDS at most, then BudgetExceededError), resumes (a step). `turn` and
 * `wait` name the steps: `budget-wait-<turn>-<wait>`, `budget-resume-<turn>-<wait>`. `reason`
 * (why the call was refused: what it would reserve) opens the error's message.
 */
export async function waitForBudget<Paused extends Rpc.Serializable<Paused>, Resumed extends Rpc.Serializable<Resumed>>(
  job: { step: WorkflowStep; steps: StepRunner; config: Config },
  owner: BudgetOwner<Paused, Resumed>,
  turn: number,
  wait: number,
  reason?: string,
): Promise<{ paused: Paused; resumed: Resumed }> {
  const { step, steps, config } = job;
  const control = stepConfig(owner.kind, config.RETRY_POLICIES);
  const paused = await steps.run(budgetWaitStep(turn, wait), control, () => owner.pause(), { gated: true, budget: false });
  try {
    await step.waitForEvent(`${BUDGET_RAISED_EVENT}-${turn}-${wait}`, { type: BUDGET_RAISED_EVENT, timeout: config.BUDGET_WAIT_SECONDS * 1000 });
  } catch (err) {
    if (isEngineInterruption(err)) throw err;
    owner.notRaised?.(paused);
    const notRaised = `The ${owner.name}'s budget was not raised within ${config.BUDGET_WAIT_SECONDS} s.`;
    throw new BudgetExceededError(reason ? `${reason} ${notRaised}` : `The ${owner.name}'s budget was spent and not raised within ${config.BUDGET_WAIT_SECONDS} s.`);
  }
  const resumed = await steps.run(budgetResumeStep(turn, wait), control, () => owner.resume(), { gated: true, budget: false });
  return { paused, resumed };
}
