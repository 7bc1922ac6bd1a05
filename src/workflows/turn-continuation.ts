import type { AgentTurn } from "../agent/conversation";
import type { AgentResult } from "../agent/loop";
import { addUsage } from "../agent/pricing";
import { ownTurnsSoFar } from "./agent-task";
import { turnContinuationKey, type ArtifactStore } from "../artifacts/store";
import { unwrap } from "../core/errors";
import type { Session } from "../objects/session/session";
import type { SessionJob, TurnContinuedOutcome, TurnOutcome } from "../protocol/session-job";
import type { JobContext } from "./durable-job";
import { stepConfig } from "./step-policies";
import { SESSION_STEP } from "./steps";

/** The code version that brought turn continuations (src/protocol/code-version.ts): older turns' instances never continue. */
export const TURN_CONTINUATION_VERSION = 5;

/** Where a turn stood when it went on in a new instance: its own model and tool calls so far. */
export interface TurnContinuationState {
  turns: AgentTurn[];
}

/** Thrown before a model call where the turn went on in `instanceId`: this instance ends there and reports nothing. */
export class TurnContinued extends Error {
  constructor(readonly instanceId: string) {
    super(`The turn goes on in instance ${instanceId}.`);
    this.name = "TurnContinued";
  }
}

/**
 * A session's turn is one Workflow instance, which Cloudflare ends at its `limits.steps`; a turn of
 * up to AGENT_MAX_TURNS model calls, each with its tool calls, can need more. As a fork does
 * (fork-continuation.ts), before each model call an instance that has made
 * SESSION_TURN_CONTINUE_AFTER_STEPS steps stores the turn's calls so far in R2 and, in one step
 * (`continue`), has its Session point the turn at instance `<turn instance>-c<k>` and create it. That
 * instance resumes the agent loop from those calls, in the same sandbox, with the same ledger keys
 * (`turn:<n>:<k>`): no model call is made twice, and the turn's totals count every instance's calls.
 */
export class TurnContinuation {
  readonly #job: JobContext<Extract<SessionJob, { kind: "turn" }>>;
  readonly #session: DurableObjectStub<Session>;
  readonly #store: ArtifactStore;

  constructor(job: JobContext<Extract<SessionJob, { kind: "turn" }>>, session: DurableObjectStub<Session>, store: ArtifactStore) {
    this.#job = job;
    this.#session = session;
    this.#store = store;
  }

  /** The calls an earlier instance of this turn made (none for the turn's first instance). */
  async resumed(): Promise<AgentTurn[]> {
    const ref = this.#job.params.continuation;
    if (!ref) return [];
    const state = await this.#store.getJson<TurnContinuationState>(ref.stateKey);
    if (!state) throw new Error(`Turn ${this.#job.params.n}: the state of continuation ${ref.k} (${ref.stateKey}) is missing.`);
    return state.turns;
  }

  /**
   * The turn's outcome from its agent loop (started from `resume`, the earlier instances' calls):
   * its totals count those calls too; a turn gone on in a new instance ends here, reporting nothing.
   */
  async outcome(resume: AgentTurn[], agent: Promise<AgentResult>): Promise<TurnOutcome | TurnContinuedOutcome> {
    const n = this.#job.params.n;
    try {
      const result = await agent;
      const earlier = ownTurnsSoFar(resume);
      return { kind: "turn", n, status: "succeeded", stopReason: result.stopReason, summary: result.summary, toolCalls: result.toolCalls + earlier.toolCalls, tokens: addUsage(result.tokens, earlier.tokens) };
    } catch (err) {
      if (err instanceof TurnContinued) return { kind: "continued", n, instanceId: err.instanceId };
      throw err;
    }
  }

  /** Before a model call: goes on in a new instance (throwing TurnContinued) when this one nears its step limit. */
  async at(turns: AgentTurn[]): Promise<void> {
    const { params: p, config, steps, instanceId } = this.#job;
    if (!this.#job.since(TURN_CONTINUATION_VERSION) || this.#job.stepsMade() < config.SESSION_TURN_CONTINUE_AFTER_STEPS) return;
    const k = (p.continuation?.k ?? 0) + 1;
    const base = p.continuation?.base ?? instanceId;
    const next = await steps.run(SESSION_STEP.continue, stepConfig("control", config.RETRY_POLICIES), async () => {
      const stateKey = turnContinuationKey(p.sessionId, p.n, k);
      await this.#store.putJson(stateKey, { turns } satisfies TurnContinuationState);
      return unwrap(await this.#session.continueTurn(p.n, instanceId, { k, stateKey, base }));
    }, { gated: false });
    throw new TurnContinued(next.instanceId);
  }
}
