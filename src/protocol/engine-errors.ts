/**
 * Every match on the text of an error Cloudflare's Workflows engine raises, in one place (the
 * engine's errors carry no code of their own: `WorkflowError` with "(instance.already_exists) …",
 * a plain Error "instance.not_found", "Aborting engine: …"). Objects and workflows both use these;
 * test/node/engine-errors.test.ts holds the engine's real messages (miniflare's workflows-shared).
 */

/**
 * The engine stopping an instance itself (pause, restart, terminate, delete, a grace period ending,
 * eviction): raised into run() by steps in flight. No outcome of the job, which replays later from
 * its checkpoints.
 */
const ENGINE_INTERRUPTION = /Aborting engine|engine (?:was )?(?:shut ?down|died)|instance (?:was )?(?:paused|terminated)/i;

/** `create()` of an id that exists ("(instance.already_exists) …"), or a createBatch error for it. */
const INSTANCE_ALREADY_EXISTS = /already.?exists|duplicate/i;

/** `get()` (or a call on an instance) of an id the engine does not know. */
const INSTANCE_NOT_FOUND = /not_found/i;

/** An RPC to an object (or entrypoint) whose deployed version has no such method (yet): a gradual rollout's older side. */
const MISSING_RPC_METHOD = /does not implement the method/i;

/** What a NonRetryableError's message carries in front when it comes out of a step (its name). */
const NON_RETRYABLE_PREFIX = /^NonRetryableError: /;

function messageOf(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

export function isEngineInterruption(err: unknown): boolean {
  return ENGINE_INTERRUPTION.test(err instanceof Error ? err.message : String(err));
}

/** An error (or a createBatch error's message) saying that the instance exists already. */
export function isInstanceAlreadyExists(err: unknown): boolean {
  return INSTANCE_ALREADY_EXISTS.test(messageOf(err));
}

/** A call a newer Workflow made to an object still on an older version, which lacks the method. */
export function isMissingRpcMethod(err: unknown): boolean {
  return MISSING_RPC_METHOD.test(messageOf(err));
}

export function isInstanceNotFound(err: unknown): boolean {
  return INSTANCE_NOT_FOUND.test(messageOf(err));
}

/** A step error's message without the engine's NonRetryableError prefix (core/errors.ts decodes the rest). */
export function withoutNonRetryablePrefix(message: string): string {
  return message.replace(NON_RETRYABLE_PREFIX, "");
}
