/**
 * Model prices: one table, USD per million tokens as Anthropic lists them, with an optional dearer
 * tier for long prompts (Haiku 5.5 bills every token of a request whose prompt exceeds 100k
 * tokens at 5x). Operators override or extend it with the MODEL_PRICES variable (JSON, merged per
 * model). A model missing from the table is priced at the dearest entry of its family (or of the
 * whole table), so an unknown model can overstate a budget but never understate it.
 */
import { z } from "zod";
import { ConfigError } from "../core/errors";
import { roundUsd } from "../core/costs";

/** Tokens of one model call, or of many summed. */
export interface TokenUsage {
  input: number;
  output: number;
  cacheRead: number;
  /** Tokens written to the prompt cache (Forkyard only uses the default 5-minute cache). */
  cacheWrite: number;
}

/** USD per million tokens, one field per kind of token in TokenUsage. */
export interface TokenRates {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

export interface ModelPrice extends TokenRates {
  /** Rates for a request whose prompt (input + cache read + cache write) exceeds `thresholdTokens`. */
  longPrompt?: TokenRates & { thresholdTokens: number };
}

export type PriceTable = Readonly<Record<string, ModelPrice>>;

export const ZERO_USAGE: TokenUsage = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 };

const rates = (input: number, output: number, cacheWrite: number, cacheRead: number): TokenRates => ({ input, output, cacheRead, cacheWrite });

/**
 * Anthropic list prices (platform.claude.com/docs/en/about-claude/pricing and the model overview
 * pages, as of 2026-10): base input, output, 5-minute cache write, cache read.
 */
export const DEFAULT_MODEL_PRICES: PriceTable = {
  "claude-opus-5-5": rates(4, 20, 5, 0.2),
  "claude-sonnet-5-5": rates(2, 10, 2.5, 0.1),
  "claude-haiku-5-5": { ...rates(0.1, 0.5, 0.125, 0.01), longPrompt: { ...rates(0.5, 2.5, 0.625, 0.05), thresholdTokens: 100_000 } },
  "claude-fable-5-1": rates(10, 50, 12.5, 0.25),
  "claude-mythos-5-1": rates(10, 50, 12.5, 0.25),
  "claude-fable-5": rates(10, 50, 12.5, 1),
  "claude-mythos-5": rates(10, 50, 12.5, 1),
  "claude-opus-5": rates(5, 25, 6.25, 0.5),
  "claude-sonnet-5": rates(2, 10, 2.5, 0.2),
  "claude-opus-4-8": rates(5, 25, 6.25, 0.5),
  "claude-opus-4-7": rates(5, 25, 6.25, 0.5),
  "claude-opus-4-6": rates(5, 25, 6.25, 0.5),
  "claude-opus-4-5": rates(5, 25, 6.25, 0.5),
  "claude-sonnet-4-6": rates(3, 15, 3.75, 0.3),
  "claude-sonnet-4-5": { ...rates(3, 15, 3.75, 0.3), longPrompt: { ...rates(6, 22.5, 7.5, 0.6), thresholdTokens: 200_000 } },
  "claude-haiku-4-5": rates(1, 5, 1.25, 0.1),
};

const DATED_SUFFIX = /-\d{8}$/;

/** The family of a Claude id: `claude-sonnet-5-5` -> `sonnet`. */
function family(model: string): string | undefined {
  return /^claude-([a-z]+)-/.exec(model)?.[1];
}

function dearest(prices: ModelPrice[]): ModelPrice | undefined {
  return prices.reduce<ModelPrice | undefined>((best, p) => (best === undefined || p.output > best.output || (p.output === best.output && p.cacheRead > best.cacheRead) ? p : best), undefined);
}

/** The price of a model: exact id, then without a date suffix, then the dearest of its family, then the dearest overall. */
export function priceFor(model: string, table: PriceTable = DEFAULT_MODEL_PRICES): ModelPrice {
  const exact = table[model] ?? table[model.replace(DATED_SUFFIX, "")];
  if (exact) return exact;
  const fam = family(model);
  const entries = Object.entries(table);
  const sameFamily = entries.filter(([id]) => fam !== undefined && family(id) === fam).map(([, p]) => p);
  const fallback = dearest(sameFamily) ?? dearest(entries.map(([, p]) => p));
  if (!fallback) throw new ConfigError("The model price table is empty.", { field: "MODEL_PRICES" });
  return fallback;
}

function ratesFor(price: ModelPrice, promptTokens: number): TokenRates {
  return price.longPrompt && promptTokens > price.longPrompt.thresholdTokens ? price.longPrompt : price;
}

/** What one model call's usage costs, in USD (rounded to 1e-8). */
export function usageCostUsd(model: string, usage: TokenUsage, table: PriceTable = DEFAULT_MODEL_PRICES): number {
  const r = ratesFor(priceFor(model, table), usage.input + usage.cacheRead + usage.cacheWrite);
  const perMillion = usage.input * r.input + usage.output * r.output + usage.cacheRead * r.cacheRead + usage.cacheWrite * r.cacheWrite;
  return roundUsd(perMillion / 1_000_000);
}

/**
 * An upper-ish bound of what a model call can cost, asked of the budget before the call: every
 * prompt token at the dearer of the input and cache-write rates, and the full `maxTokens` of output.
 */
export function expectedCallCostUsd(model: string, call: { inputTokensEstimate: number; maxTokens: number }, table: PriceTable = DEFAULT_MODEL_PRICES): number {
  const r = ratesFor(priceFor(model, table), call.inputTokensEstimate);
  return roundUsd((call.inputTokensEstimate * Math.max(r.input, r.cacheWrite) + call.maxTokens * r.output) / 1_000_000);
}

export function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  return { input: a.input + b.input, output: a.output + b.output, cacheRead: a.cacheRead + b.cacheRead, cacheWrite: a.cacheWrite + b.cacheWrite };
}

const rate = z.number().nonnegative().max(10_000);
const ratesSchema = z.strictObject({ input: rate, output: rate, cacheRead: rate, cacheWrite: rate });
const overrideSchema = z.record(
  z.string().regex(/^claude-[a-z0-9][a-z0-9.-]*$/, "must be a Claude model id"),
  ratesSchema
    .partial()
    .extend({ longPrompt: ratesSchema.extend({ thresholdTokens: z.number().int().positive() }).nullable().optional() })
    .strict(),
);

/**
 * The price table with the MODEL_PRICES override applied, e.g.
 * `{"claude-sonnet-5-5":{"cacheRead":0.2},"claude-opus-6":{"input":4,"output":20,"cacheRead":0.2,"cacheWrite":5}}`.
 * A known model takes partial rates; a new one needs all four; `"longPrompt": null` removes a tier.
 */
export function parseModelPrices(raw: string | undefined, base: PriceTable = DEFAULT_MODEL_PRICES): PriceTable {
  if (raw === undefined || raw.trim() === "") return base;
  const fail = (why: string): never => {
    throw new ConfigError(`Configuration value MODEL_PRICES is invalid: ${why}`, { field: "MODEL_PRICES" });
  };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return fail("must be JSON");
  }
  const parsed = overrideSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return fail(`${issue?.path.join(".") || "value"} ${issue?.message ?? "is invalid"}`);
  }
  const table: Record<string, ModelPrice> = { ...base };
  for (const [model, override] of Object.entries(parsed.data)) {
    const { longPrompt, ...partial } = override;
    const current = base[model];
    const merged = { ...current, ...partial };
    const complete = ratesSchema.safeParse({ input: merged.input, output: merged.output, cacheRead: merged.cacheRead, cacheWrite: merged.cacheWrite });
    if (!complete.success) return fail(`${model} is not in the built-in table, so it needs input, output, cacheRead and cacheWrite`);
    const tier = longPrompt === undefined ? current?.longPrompt : (longPrompt ?? undefined);
    table[model] = tier ? { ...complete.data, longPrompt: tier } : complete.data;
  }
  return table;
}
