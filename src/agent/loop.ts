/**
 * The durable agent loop. It runs where its host runs — in the fork Workflow, where every model
 * call and every tool call is a checkpointed step, or in memory — and is deterministic given the
 * step results: the conversation is rebuilt from them (conversation.ts) and nothing outside a step
 * reads the clock or randomness. A replay after a crash therefore returns the cached model turns
 * and tool results and resumes at the first step that never finished: no model call is paid twice.
 */
import type { MessageParam, StopReason, TextBlockParam, ToolUnion } from "@anthropic-ai/sdk/resources/messages";
import { ForkyardError } from "../core/errors";
import { roundUsd } from "../core/costs";
import { boundOutput } from "./bound";
import { buildMessages, finalSummary, toolInput, toolUses, type AgentTurn, type Exchange, type JsonValue, type ModelTurn, type ToolTurn } from "./conversation";
import { CHARS_PER_TOKEN, fitToContext } from "./context-window";
import type { ToolCall } from "./tools";
import { addUsage, DEFAULT_MODEL_PRICES, expectedCallCostUsd, usageCostUsd, ZERO_USAGE, type PriceTable, type TokenUsage } from "./pricing";

export const DEFAULT_MAX_TURNS = 40;
/** Output tokens per model call (thinking included); below the SDK's non-streaming ceiling. */
export const DEFAULT_MAX_TOKENS = 16_000;
/** The longest agent summary kept in a fork's result. */
export const MAX_SUMMARY_CHARS = 8 * 1024;
/** Input tokens the API adds for the bash and text-editor tools' own definitions (an overestimate). */
const TOOL_DEFINITION_TOKENS = 1_500;

export interface ModelRequest {
  model: string;
  system: TextBlockParam[];
  tools: ToolUnion[];
  messages: MessageParam[];
  maxTokens: number;
}

/** Where the loop's steps run. Each method returns the step's cached result on replay. */
export interface AgentHost {
  /** Runs one model call as a checkpointed step named `modelStepName(turn)`. */
  modelStep(turn: number, call: () => Promise<ModelTurn>): Promise<ModelTurn>;
  /** Runs one tool call (`use`: what it executes) as a checkpointed step named `toolStepName(turn, index)`. */
  toolStep(turn: number, index: number, use: ToolCall, call: () => Promise<ToolTurn>): Promise<ToolTurn>;
  /** Before each model call: the conversation so far (the fork may be branched there). */
  beforeTurn?(turn: number, conversation: AgentTurn[]): Promise<void>;
}

export interface AgentDeps {
  callModel(request: ModelRequest): Promise<ModelTurn>;
  executeTool(call: ToolCall): Promise<{ content: string; isError: boolean }>;
  /**
   * Runs inside the model step, before the call: may throw (BudgetExceededError, cancellation,
   * timeout) to stop the agent. `expectedUsd` is an upper-ish estimate of the call's cost: the
   * estimated input and the full `maxTokens` of output at list price (`call` says which).
   */
  beforeModelCall?(turn: number, expectedUsd: number, call: ModelCallEstimate): Promise<void>;
}

/** What a model call's reservation rests on (said in a budget stop). */
export interface ModelCallEstimate {
  maxTokens: number;
  inputTokensEstimate: number;
}

export interface AgentInput {
  /** The user's task. */
  prompt: string;
  /** A full model id (models.ts resolves short names). */
  model: string;
  system: TextBlockParam[];
  tools: ToolUnion[];
  maxTurns?: number;
  maxTokens?: number;
  prices?: PriceTable;
  /** The conversation before this prompt (a session's earlier turns). */
  history?: Exchange[];
  /** Turns of this prompt made already (by the fork this one branched from): the loop continues after them. */
  resume?: AgentTurn[];
  /** The model's context window: the conversation is trimmed to fit it (context-window.ts). */
  contextTokens?: number;
}

export type AgentStopReason = "max_turns" | Exclude<StopReason, "tool_use">;

export interface AgentResult {
  stopReason: AgentStopReason;
  /** Model calls made (or replayed). */
  turns: number;
  toolCalls: number;
  tokens: TokenUsage;
  /** The agent's closing words (bounded). */
  summary: string;
  llmCostUsd: number;
  /** The conversation's turns (what a session continuing this agent starts from). */
  conversation: AgentTurn[];
}

/** A replayed step result that does not belong to this conversation (the code changed under a running instance). */
export class AgentReplayError extends ForkyardError {
  constructor(message: string) {
    super("agent_replay_mismatch", message, { status: 500 });
  }
}

/** Told to the model for a tool call cut off by max_tokens: its input is incomplete, so it is not run. */
export const TRUNCATED_TOOL_CALL =
  "This tool call was not run: your response reached the output token limit while writing it, so its input is incomplete. Retry it with a smaller input (for example, edit a large file in several steps).";

export async function runAgent(host: AgentHost, deps: AgentDeps, input: AgentInput): Promise<AgentResult> {
  const maxTurns = input.maxTurns ?? DEFAULT_MAX_TURNS;
  const maxTokens = input.maxTokens ?? DEFAULT_MAX_TOKENS;
  const prices = input.prices ?? DEFAULT_MODEL_PRICES;
  const resumed = input.resume?.length ?? 0;
  const turns: AgentTurn[] = [...(input.resume ?? [])];
  let tokens = ZERO_USAGE;
  let costUsd = 0;
  let toolCalls = 0;

  const finish = (stopReason: AgentStopReason): AgentResult => ({
    stopReason,
    turns: turns.length - resumed,
    toolCalls,
    tokens,
    summary: boundOutput(finalSummary(turns), MAX_SUMMARY_CHARS),
    llmCostUsd: roundUsd(costUsd),
    conversation: turns,
  });

  for (let turn = resumed + 1; turn <= resumed + maxTurns; turn++) {
    await host.beforeTurn?.(turn, turns);
    const request: ModelRequest = { model: input.model, system: input.system, tools: input.tools, messages: fitMessages(input, turns, maxTokens), maxTokens };
    const estimate: ModelCallEstimate = { inputTokensEstimate: estimateInputTokens(request), maxTokens };
    const expectedUsd = expectedCallCostUsd(input.model, estimate, prices);
    const modelTurn = await host.modelStep(turn, async () => {
      await deps.beforeModelCall?.(turn, expectedUsd, estimate);
      return deps.callModel(request);
    });
    tokens = addUsage(tokens, modelTurn.usage);
    costUsd += usageCostUsd(modelTurn.model || input.model, modelTurn.usage, prices);

    const uses = toolUses(modelTurn);
    const results: ToolTurn[] = [];
    for (const [index, use] of uses.entries()) {
      const truncated = modelTurn.stopReason === "max_tokens" && index === uses.length - 1;
      const result = truncated
        ? { toolUseId: use.id, content: TRUNCATED_TOOL_CALL, isError: true }
        : await host.toolStep(turn, index, { name: use.name, input: toolInput(use) }, async () => {
            const output = await deps.executeTool({ name: use.name, input: toolInput(use) });
            return { toolUseId: use.id, content: output.content, isError: output.isError };
          });
      if (result.toolUseId !== use.id) throw new AgentReplayError(`Step result for tool call ${turn}.${index + 1} answers ${result.toolUseId}, not ${use.id}.`);
      if (!truncated) toolCalls++;
      results.push(result);
    }
    turns.push({ model: modelTurn, tools: results });
    if (uses.length === 0) return finish(modelTurn.stopReason === "tool_use" ? "end_turn" : modelTurn.stopReason);
  }
  return finish("max_turns");
}

export const DEFAULT_CONTEXT_TOKENS = 200_000;

/** The request's messages, the conversation trimmed to leave room for the system prompt, tools and output. */
function fitMessages(input: AgentInput, turns: AgentTurn[], maxTokens: number): ReturnType<typeof buildMessages> {
  const fixedChars = JSON.stringify(input.system).length + JSON.stringify(input.tools).length;
  const maxChars = ((input.contextTokens ?? DEFAULT_CONTEXT_TOKENS) - maxTokens - TOOL_DEFINITION_TOKENS) * CHARS_PER_TOKEN - fixedChars;
  const fitted = fitToContext([...(input.history ?? []), { prompt: input.prompt, turns }], maxChars);
  const current = fitted.pop()!;
  return buildMessages(current.prompt, current.turns, fitted);
}

/** A deterministic overestimate of a request's input tokens (about 3 characters per token). */
export function estimateInputTokens(request: ModelRequest): number {
  const chars = JSON.stringify(request.system).length + JSON.stringify(request.tools).length + JSON.stringify(request.messages).length;
  return Math.ceil(chars / CHARS_PER_TOKEN) + TOOL_DEFINITION_TOKENS;
}
