/**
 * One Messages API call, as one model step of the agent: @anthropic-ai/sdk with its own retries
 * off (the Workflow step retries, with its policy and its checkpoint), the response reduced to a
 * small plain-JSON ModelTurn, and every failure mapped into Forkyard's error hierarchy. The API key
 * is only ever a header: it is scrubbed from any message that could reach a log or a result.
 */
import Anthropic from "@anthropic-ai/sdk";
import type { ContentBlock, Message } from "@anthropic-ai/sdk/resources/messages";
import { ForkyardError, type ErrorDetails } from "../core/errors";
import type { AssistantBlock, JsonObject, JsonValue, ModelTurn } from "./conversation";
import { ModelAuthError, ModelRequestError, ModelUnavailableError } from "./errors";
import type { ModelRequest } from "./loop";

export interface ModelClientConfig {
  apiKey: string;
  /** The Messages API origin (tests point it at a scripted server); default https://api.anthropic.com. */
  baseURL?: string;
  /** Per-request timeout; default: the SDK's, derived from maxTokens. */
  timeoutMs?: number;
}

export async function callModel(config: ModelClientConfig, request: ModelRequest): Promise<ModelTurn> {
  if (!config.apiKey) throw new ModelAuthError("ANTHROPIC_API_KEY is not configured.");
  const client = new Anthropic({
    apiKey: config.apiKey,
    baseURL: config.baseURL ?? null,
    maxRetries: 0,
    logLevel: "warn",
    // workerd's fetch must be called unbound from the SDK's wrapper.
    fetch: (input, init) => fetch(input, init),
  });
  let message: Message;
  try {
    message = await client.messages.create(
      { model: request.model, max_tokens: request.maxTokens, system: request.system, tools: request.tools, messages: request.messages },
      config.timeoutMs === undefined ? undefined : { timeout: config.timeoutMs },
    );
  } catch (err) {
    throw classifyModelError(err, config.apiKey);
  }
  return toModelTurn(message);
}

/** The response as a step result: text, tool calls and thinking blocks; usage in Forkyard's terms. */
export function toModelTurn(message: Message): ModelTurn {
  return {
    stopReason: message.stop_reason ?? "end_turn",
    content: message.content.flatMap(toAssistantBlock),
    usage: {
      input: message.usage.input_tokens,
      output: message.usage.output_tokens,
      cacheRead: message.usage.cache_read_input_tokens ?? 0,
      cacheWrite: message.usage.cache_creation_input_tokens ?? 0,
    },
    model: message.model,
  };
}

function toAssistantBlock(block: ContentBlock): AssistantBlock[] {
  switch (block.type) {
    case "text":
      return [{ type: "text", text: block.text }];
    case "tool_use":
      return [{ type: "tool_use", id: block.id, name: block.name, inputJson: JSON.stringify(toJsonObject(block.input)) }];
    case "thinking":
      return [{ type: "thinking", thinking: block.thinking, signature: block.signature }];
    case "redacted_thinking":
      return [{ type: "redacted_thinking", data: block.data }];
    default:
      // Server-tool blocks: Forkyard offers no server tools, so none are expected.
      return [];
  }
}

function toJson(value: unknown): JsonValue {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]));
  return null;
}

function toJsonObject(value: unknown): JsonObject {
  const json = toJson(value);
  return typeof json === "object" && json !== null && !Array.isArray(json) ? json : {};
}

const KEY_PATTERN = /sk-ant-[A-Za-z0-9_-]+/g;

function scrub(text: string, apiKey: string): string {
  return (apiKey ? text.split(apiKey).join("[redacted]") : text).replace(KEY_PATTERN, "[redacted]");
}

function retryAfterSeconds(headers: Headers | undefined): number | undefined {
  const value = headers?.get("retry-after");
  if (!value) return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}

/**
 * Maps what the SDK throws: 401/403 -> ModelAuthError; 408, 409, 429, 5xx, 529 and connection
 * failures -> ModelUnavailableError (retryable); any other API refusal -> ModelRequestError.
 */
export function classifyModelError(err: unknown, apiKey: string): ForkyardError {
  if (err instanceof ForkyardError) return err;
  if (err instanceof Anthropic.APIError) {
    const status: number | undefined = err.status;
    const type = err.type ?? "error";
    const detail = scrub(err.apiMessage ?? err.message, apiKey);
    if (status === undefined) return new ModelUnavailableError(`The model API could not be reached: ${detail}`, { details: { type } });
    if (status === 401 || status === 403) return new ModelAuthError(`The model API rejected the API key (${status} ${type}).`, { status, type });
    if (status === 408 || status === 409 || status === 429 || status >= 500) {
      const wait = retryAfterSeconds(err.headers);
      const details: ErrorDetails = { status, type };
      if (wait !== undefined) details.retryAfterSeconds = wait;
      return new ModelUnavailableError(`The model API is unavailable (${status} ${type}): ${detail}`, { details, retryAfterSeconds: wait });
    }
    return new ModelRequestError(`The model API refused the request (${status} ${type}): ${detail}`, { status, type });
  }
  const message = scrub(err instanceof Error ? err.message : String(err), apiKey);
  return new ModelRequestError(`The model call failed: ${message}`);
}
