/**
 * The models users can name. Short names map to the newest model of each family (ids checked
 * against the `Model` union of @anthropic-ai/sdk 1.12); any full Claude id is passed through, so
 * a model released after this table still works (and is priced conservatively, see pricing.ts).
 */
import { InvalidInputError } from "../core/errors";

export const MODEL_ALIASES = {
  sonnet: "claude-sonnet-5-5",
  opus: "claude-opus-5-5",
  haiku: "claude-haiku-5-5",
} as const satisfies Record<string, string>;

export type ModelAlias = keyof typeof MODEL_ALIASES;

export const DEFAULT_MODEL_ALIAS: ModelAlias = "sonnet";

/** A full Claude model id: `claude-` then lowercase letters, digits, dots and dashes (e.g. a dated id). */
const FULL_MODEL_ID = /^claude-[a-z0-9][a-z0-9.-]{1,98}$/;

function isAlias(name: string): name is ModelAlias {
  return Object.hasOwn(MODEL_ALIASES, name);
}

/** The full model id for what a user typed (`task.model`); the default is `sonnet`. */
export function resolveModel(name?: string, field = "task.model"): string {
  const value = (name ?? DEFAULT_MODEL_ALIAS).trim().toLowerCase();
  if (isAlias(value)) return MODEL_ALIASES[value];
  if (FULL_MODEL_ID.test(value)) return value;
  throw new InvalidInputError(`Unknown model "${name}": use one of ${Object.keys(MODEL_ALIASES).join(", ")} or a full Claude model id (claude-...).`, { field });
}
