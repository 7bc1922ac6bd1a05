import type { AgentTask, AgentView } from "../api/runs";
import { addUsage, parseModelPrices, type TokenUsage } from "../agent/pricing";
import { buildSystemPrompt, buildTools } from "../agent/prompt";
import { runAgent, type AgentHost, type AgentResult } from "../agent/loop";
import { executeTool } from "../agent/tools";
import { unwrap } from "../core/errors";
import type { ForkContext } from "./fork-context";
import { stallMs } from "../protocol/fork-params";
import { stepConfig } from "./step-policies";
import { forkLiveOutput, type LiveOutputSender } from "./live-output";
import { waitForBudget } from "./budget-wait";
import { ModelSteps } from "./model-step";
import { modelStepName, STEP, toolStepName } from "./steps";
import type { BranchState } from "./fork-branching";
import { transcriptKey } from "../artifacts/store";
import type { AgentTurn, Exchange, ForkTranscript } from "../agent/conversation";
import { modelRecord, promptRecord, toolRecord } from "../runs/fork-transcript";

/**
 * An agent task: the model/tool loop runs here, in the Workflow, each model call and each tool
 * call its own checkpointed step; the model key never enters the sandbox. Before every model call
 * the Orchestrator is asked whether its expected cost fits the budget; when it does not, the fork
 * pauses its sandbox and waits for the budget to be raised, then continues from that very call.
 */
export async function runAgentTask(ctx: ForkContext, task: AgentTask & { model: string }): Promise<AgentView> {
  const { params: p, config, steps, orchestrator } = ctx;
  const retries = config.RETRY_POLICIES;
  const prices = parseModelPrices(config.MODEL_PRICES);
  // A continuation goes on with the fork's own exchange (no branch prompt: that began it already).
  const start = agentStart(task.prompt, ctx.branchState, ctx.continued ? undefined : p.branch?.prompt);
  const own = ctx.continued ? ownTurnsSoFar(start.resume) : undefined;
  const firstTurn = start.resume.length + 1;
  const models = new ModelSteps({
    steps,
    retries,
    keyPrefix: `fork:${p.n}`,
    model: task.model,
    prices,
    // The step's answer enters the fork's transcript as the step ends (the task's prompt with the first call).
    async record(k, key, result, usd) {
      await orchestrator.recordModelCost(p.n, key, usd);
      await orchestrator.recordTranscript(p.n, [...(k === firstTurn ? [promptRecord(k, start.prompt)] : []), modelRecord(k, result)]);
    },
    release: (key) => orchestrator.releaseReservation(key),
    waitForBudget: (k, wait, reason) => waitForRunBudget(ctx, k, wait, reason),
  });

  /** The running tool step's live output and stop signal (a step at a time). */
  let live: LiveOutputSender | undefined;
  let stop: AbortSignal | undefined;
  const position = (turns: AgentTurn[]) => ({ turn: turns.length, history: start.history, exchange: { prompt: start.prompt, turns } });
  const host: AgentHost = {
    modelStep: (k, call) => models.run(k, call),
    async beforeTurn(turn, conversation) {
      ctx.branching.position = position(conversation);
      await ctx.branching.at(modelStepName(turn));
      // Near the instance's step limit the fork goes on in a new instance, from this model call.
      await ctx.continuation.at(position(conversation));
    },
    // The agent's budget is enforced (and waited out) at its model steps; a tool call in between runs,
    // unless a heartbeat finds the budget spent while it runs: its command is then stopped, and the
    // tool result says so (the next model step waits for a raise).
    // Each tool call is journaled: a replacement for a lost sandbox gets it re-executed, no model call.
    async toolStep(turn, index, use, call) {
      const result = await ctx.sandbox.step(toolStepName(turn, index), stepConfig("tool", retries), async ({ signal }) => {
        live = forkLiveOutput(ctx, toolStepName(turn, index));
        stop = signal;
        const output = await call().finally(() => live?.close());
        await orchestrator.recordTranscript(p.n, [toolRecord(turn, index, use, output)]);
        return output;
      }, { gated: true, budget: false });
      ctx.sandbox.record({ kind: "tool", call: use });
      return result;
    },
  };

  const result = await runAgent(
    host,
    {
      callModel: ctx.callModel,
      executeTool: async (call) => {
        const session = await ctx.envd();
        return executeTool(session, call, { remainingMs: steps.remainingMs(), envs: ctx.taskEnv, stallMs: stallMs(p), signal: stop, ...(live ? { onOutput: live.push } : {}) });
      },
      beforeModelCall: async (_turn, expectedUsd, call) => unwrap(await orchestrator.reserveModelCall(p.n, models.ledgerKey, expectedUsd, call)),
    },
    {
      prompt: start.prompt,
      history: start.history,
      resume: start.resume,
      model: task.model,
      system: buildSystemPrompt({ repo: p.repo, baseBranch: p.baseBranch, ...(p.commit ? { commit: p.commit } : {}), workBranch: p.workBranch, fork: p.n, forks: p.forks }),
      tools: buildTools(),
      maxTurns: Math.max(1, (task.maxTurns ?? config.AGENT_MAX_TURNS) - (own?.turns ?? 0)),
      maxTokens: task.maxTokens,
      prices,
      contextTokens: config.AGENT_CONTEXT_TOKENS,
    },
  );
  ctx.branching.position = position(result.conversation);
  if (p.keepSandbox) await storeKeptTranscript(ctx, { prompt: start.prompt, turns: result.conversation, history: start.history });
  return agentView(task.model, result, own);
}

/** A kept fork's conversation: a session continuing it (POST …/forks/:n/session) starts from there. */
async function storeKeptTranscript(ctx: ForkContext, transcript: ForkTranscript): Promise<void> {
  const { params: p, config, steps } = ctx;
  await steps.run(STEP.transcript, stepConfig("collect", config.RETRY_POLICIES), async () => {
    await ctx.store.putJson(transcriptKey(p.runId, p.n), transcript);
    return { stored: true };
  }, { gated: false });
}

/** The fork's agent view; a continuation's totals include the turns its earlier instances made. */
function agentView(model: string, result: AgentResult, own: ReturnType<typeof ownTurnsSoFar> | undefined): AgentView {
  const view = { model, stopReason: result.stopReason, turns: result.turns, toolCalls: result.toolCalls, tokens: result.tokens, summary: result.summary };
  return own ? { ...view, turns: view.turns + own.turns, toolCalls: view.toolCalls + own.toolCalls, tokens: addUsage(view.tokens, own.tokens) } : view;
}

/** What the turns a continuation resumes add up to: the fork's own turns before this instance. */
export function ownTurnsSoFar(turns: AgentTurn[]): { turns: number; toolCalls: number; tokens: TokenUsage } {
  const tokens = turns.reduce((sum, t) => addUsage(sum, t.model.usage), { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 });
  return { turns: turns.length, toolCalls: turns.reduce((sum, t) => sum + t.tools.length, 0), tokens };
}

/**
 * Where an agent starts: a branched fork continues its parent's exchange, or — given a prompt, or
 * when the parent's agent had finished — starts a new one after it; any other fork, the task.
 */
export function agentStart(taskPrompt: string, state: BranchState | undefined, branchPrompt: string | undefined): { prompt: string; history: Exchange[]; resume: AgentTurn[] } {
  if (!state?.exchange) return { prompt: branchPrompt ?? taskPrompt, history: state?.history ?? [], resume: [] };
  const { exchange, history = [] } = state;
  const last = exchange.turns[exchange.turns.length - 1];
  const finished = last !== undefined && last.tools.length === 0;
  if (branchPrompt !== undefined || finished) return { prompt: branchPrompt ?? taskPrompt, history: [...history, exchange], resume: [] };
  return { prompt: exchange.prompt, history, resume: exchange.turns };
}

/** Pauses the sandbox, waits (durably) for a raised budget, resumes the sandbox; the wait does not count against the fork's time. */
async function waitForRunBudget(ctx: ForkContext, turn: number, wait: number, reason: string): Promise<void> {
  const { params: p, orchestrator, pool, sandbox } = ctx;
  const { paused, resumed } = await waitForBudget(ctx, {
    name: "run",
    kind: "cleanup",
    // The sandbox's lease as it is now: after a lost sandbox was replaced, the replacement's (`<lease>~k`).
    async pause() {
      unwrap(await pool.suspend(sandbox.leaseKey));
      await orchestrator.forkAwaitingBudget(p.n);
      return { at: Date.now() };
    },
    async resume() {
      unwrap(await pool.resume(sandbox.leaseKey));
      orchestrator.forkContinues(p.n);
      return { at: Date.now() };
    },
    // A fork continued after this stop (a later raise) gets the time it had left when it paused.
    notRaised: (paused) => ctx.steps.extendDeadline(Date.now() - paused.at),
  }, turn, wait, reason);
  ctx.steps.extendDeadline(resumed.at - paused.at);
}
