import type { ModelTurn } from "../agent/conversation";
import { usageCostUsd, type PriceTable } from "../agent/pricing";
import type { RetryOverrides } from "../core/env";
import { decodeStepError } from "../core/errors";
import { stepConfig } from "./step-policies";
import type { StepRunner } from "./step-runner";
import { modelStepName } from "./steps";

export interface ModelStepDeps {
  steps: StepRunner;
  retries: RetryOverrides;
  /** Ledger keys are `<prefix>:<step>:<attempt>` (e.g. `fork:3`, `turn:2`). */
  keyPrefix: string;
  model: string;
  prices: PriceTable;
  /** Books a call's answer and cost, once per ledger key. */
  record(k: number, key: string, result: ModelTurn, usd: number): Promise<void>;
  /** Drops the reservation of an attempt that failed (the next attempt reserves anew). */
  release(key: string): Promise<void>;
  /** Waits, durably, for the budget to be raised; throws BudgetExceededError (saying `reason`) when it is not. */
  waitForBudget(k: number, wait: number, reason: string): Promise<void>;
}

/**
 * The agent's model calls as checkpointed steps, within a budget: each attempt reserves its
 * expected cost first (the host's beforeModelCall, under `ledgerKey`) and books what it cost;
 * a call refused for budget waits for a raise, then is made from that very call.
 */
export class ModelSteps {
  readonly #d: ModelStepDeps;
  /** The running attempt's ledger key (what beforeModelCall reserves under). */
  ledgerKey = "";

  constructor(deps: ModelStepDeps) {
    this.#d = deps;
  }

  async run(k: number, call: () => Promise<ModelTurn>): Promise<ModelTurn> {
    const { steps, retries, keyPrefix, model, prices } = this.#d;
    for (let wait = 1; ; wait++) {
      try {
        return await steps.run(modelStepName(k), stepConfig("model", retries), async ({ attempt }) => {
          // One ledger entry per attempt: a re-run step really calls (and pays for) the model again.
          this.ledgerKey = `${keyPrefix}:${modelStepName(k)}:${attempt}`;
          let result: ModelTurn;
          try {
            result = await call();
          } catch (err) {
            await this.#d.release(this.ledgerKey);
            throw err;
          }
          await this.#d.record(k, this.ledgerKey, result, usageCostUsd(result.model || model, result.usage, prices));
          return result;
        });
      } catch (err) {
        const refused = decodeStepError(err);
        if (refused.code !== "budget_exceeded") throw err;
        // What the call would have reserved stays in the stop's message if the budget is never raised.
        await this.#d.waitForBudget(k, wait, refused.message);
      }
    }
  }
}
