/**
 * The one error hierarchy of Forkyard. Every error carries a stable `code`, the HTTP status it maps
 * to, and whether retrying the same operation can succeed. The API maps these to
 * `{ error: { code, message, details } }` in one place (app.ts); Workflow steps turn non-retryable
 * ones into `NonRetryableError` (workflows/step-runner.ts).
 */
import { withoutNonRetryablePrefix } from "../protocol/engine-errors.ts";

export type ErrorDetailValue = string | number | boolean | null | string[] | { field: string; message: string }[];
export type ErrorDetails = { [key: string]: ErrorDetailValue };

export class ForkyardError extends Error {
  readonly code: string;
  readonly status: number;
  readonly retryable: boolean;
  readonly details: ErrorDetails | undefined;

  constructor(code: string, message: string, opts: { status: number; retryable?: boolean; details?: ErrorDetails; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = opts.status;
    this.retryable = opts.retryable ?? false;
    this.details = opts.details;
  }

  toJSON(): { code: string; message: string; details?: ErrorDetails } {
    return this.details === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, details: this.details };
  }
}

/** 400: a request field is invalid. `details.field` names the field at fault. */
export class InvalidInputError extends ForkyardError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("invalid_input", message, { status: 400, details });
  }
}

export class UnauthorizedError extends ForkyardError {
  constructor(message = "A valid bearer token is required (Authorization: Bearer <token>).") {
    super("unauthorized", message, { status: 401 });
  }
}

export class NotFoundError extends ForkyardError {
  constructor(what: string, id: string, extra: ErrorDetails = {}) {
    super("not_found", `${what} "${id}" does not exist.`, { status: 404, details: { [what]: id, ...extra } });
  }
}

/** Throws NotFoundError: for `?? notFound(…)` where a lookup came back empty. */
export function notFound(what: string, id: string): never {
  throw new NotFoundError(what, id);
}

export class ConflictError extends ForkyardError {
  constructor(code: string, message: string, details?: ErrorDetails) {
    super(code, message, { status: 409, details });
  }
}

/**
 * A run that was deleted (DELETE /v1/runs/:id, or retention): 404 when it is read, 410 when a
 * replayed request (the same Idempotency-Key, a redelivered webhook) would create it again, 409
 * when it was asked to go on (a budget raise).
 */
export class RunDeletedError extends ForkyardError {
  constructor(id: string, status: 404 | 409 | 410 = 404) {
    const message =
      status === 410 ? `Run "${id}" was deleted: the request that created it cannot create it again.` : status === 409 ? `Run "${id}" was deleted: it cannot go on.` : `Run "${id}" was deleted.`;
    super("run_deleted", message, { status, details: { run: id } });
  }
}

/** A session that was deleted (DELETE /v1/sessions/:id?purge=true, or retention): 404 when it is read. */
export class SessionDeletedError extends ForkyardError {
  constructor(id: string) {
    super("session_deleted", `Session "${id}" was deleted.`, { status: 404, details: { session: id } });
  }
}

/**
 * A Workflow step returned more than Cloudflare keeps per step result (1 MiB): the step fails
 * (locally too, where the engine would not refuse it). Large data belongs in R2, by reference.
 */
export class StepResultTooLargeError extends ForkyardError {
  constructor(step: string, bytes: number, limitBytes: number) {
    super("step_result_too_large", `Step "${step}" returned ${bytes} bytes; a Workflow step result may be at most ${limitBytes} bytes (store large data in R2 and return a reference).`, {
      status: 500,
      details: { step, bytes, limitBytes },
    });
  }
}

/** An instance past its Workflow's `limits.steps`: Cloudflare ends it there (enforced locally too, step-limits.ts). */
export class StepLimitExceededError extends ForkyardError {
  constructor(step: string, limit: number) {
    super("step_limit_exceeded", `Step "${step}" would be step ${limit + 1} of this Workflow instance; an instance may make at most ${limit} (wrangler.toml limits.steps).`, {
      status: 500,
      details: { step, limit },
    });
  }
}

export class PayloadTooLargeError extends ForkyardError {
  constructor(limitBytes: number) {
    super("payload_too_large", `Request body exceeds ${limitBytes} bytes.`, { status: 413, details: { limitBytes } });
  }
}

export class RateLimitedError extends ForkyardError {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super("rate_limited", message, { status: 429, retryable: true, details: { retryAfterSeconds } });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** 429: a session's queue of messages is full (SESSION_QUEUE_LIMIT); retried once a queued turn has started. */
export class QueueFullError extends ForkyardError {
  constructor(limit: number, retryAfterSeconds: number) {
    super("queue_full", `The session already has ${limit} messages queued (SESSION_QUEUE_LIMIT); send this one when one of them has started, or remove one (DELETE …/messages/:n).`, {
      status: 429,
      retryable: true,
      details: { limit, retryAfterSeconds },
    });
  }
}

/** The sandbox provider rejected our credentials: never retried. */
export class SandboxAuthError extends ForkyardError {
  constructor(message: string) {
    super("sandbox_auth_failed", message, { status: 502 });
  }
}

/** A transient sandbox-provider failure (5xx, 429, dropped connection): retried. */
export class SandboxUnavailableError extends ForkyardError {
  constructor(message: string, cause?: unknown) {
    super("sandbox_unavailable", message, { status: 503, retryable: true, cause });
  }
}

/** The sandbox backend cannot fork this sandbox (no fork endpoint, or the sandbox is unknown to it). */
export class ForkUnsupportedError extends ForkyardError {
  constructor(sandboxId: string, status: number) {
    super("fork_unsupported", `The sandbox backend cannot fork sandbox ${sandboxId} (HTTP ${status}).`, { status: 501, details: { sandboxId, status } });
  }
}

/** The fork's sandbox no longer exists (killed, expired, reaped). */
export class SandboxGoneError extends ForkyardError {
  constructor(sandboxId: string) {
    super("sandbox_gone", `Sandbox ${sandboxId} no longer exists.`, { status: 410, details: { sandboxId } });
  }
}

/** A sandbox operation failed for a reason retrying will not fix. */
export class SandboxOperationError extends ForkyardError {
  constructor(message: string, details?: ErrorDetails) {
    super("sandbox_error", message, { status: 502, details });
  }
}

/**
 * A command (or an agent's bash call) printed nothing and did not exit for the run's stallSeconds:
 * it was killed. Its step is retried once (`retryable` on the first attempt only), then the fork fails.
 */
export class StalledError extends ForkyardError {
  constructor(stallSeconds: number, retryable = true) {
    super("stalled", `No output and no exit for ${stallSeconds} s: the command was killed.`, { status: 422, retryable, details: { stallSeconds } });
  }

  /** This error as its step's attempt `attempt` should raise it: retried once, then final. */
  forAttempt(attempt: number): StalledError {
    return new StalledError(this.details!.stallSeconds as number, attempt < 2);
  }
}

export class CommandFailedError extends ForkyardError {
  constructor(command: string, exitCode: number) {
    super("command_failed", `Command exited with code ${exitCode}: ${command}`, { status: 422, details: { exitCode } });
  }
}

export class CloneFailedError extends ForkyardError {
  constructor(message: string) {
    super("clone_failed", message, { status: 422 });
  }
}

/** The base commit (a run's `commit`) is missing from the repository or not reachable from the branch. */
export class CommitNotFoundError extends ForkyardError {
  constructor(commit: string, branch: string) {
    super("commit_not_found", `Commit ${commit} is not on branch ${branch} (missing from the repository, or not reachable from the branch).`, { status: 422, details: { commit, branch } });
  }
}

export class ForkTimeoutError extends ForkyardError {
  constructor(timeoutSeconds: number) {
    super("fork_timeout", `The fork exceeded its timeout of ${timeoutSeconds} s.`, { status: 408, details: { timeoutSeconds } });
  }
}

export class ForkCancelledError extends ForkyardError {
  constructor(message = "The fork was cancelled.") {
    super("cancelled", message, { status: 409 });
  }
}

export class BudgetExceededError extends ForkyardError {
  constructor(message: string, details?: ErrorDetails) {
    super("budget_exceeded", message, { status: 402, details });
  }
}

/** Agent tasks need a model API key the deployment does not have. */
export class AgentUnavailableError extends ForkyardError {
  constructor() {
    super("agent_unavailable", "Agent tasks are not available: this deployment has no ANTHROPIC_API_KEY. Set it (deployed: `wrangler secret put ANTHROPIC_API_KEY`; `npm start`: in its environment), or try `FORKYARD_DEMO_MODEL=1 npm start` (a scripted demo model, no key).", { status: 503 });
  }
}

/** 503: an agent runtime inside a sandbox reaches the model only through the Worker's model proxy, which needs PUBLIC_URL. */
export class ModelProxyUnavailableError extends ForkyardError {
  constructor() {
    super(
      "model_proxy_unavailable",
      "The claude-code runtime needs PUBLIC_URL (the Worker's address as sandboxes reach it): it reaches the model only through the Worker's model proxy, never with a key of its own.",
      { status: 503 },
    );
  }
}

export class ConfigError extends ForkyardError {
  constructor(message: string, details?: ErrorDetails) {
    super("config_invalid", message, { status: 500, details });
  }
}

/** Errors that cross a Workflow step boundary travel as messages: "<code>: <message>". */
export function encodeStepError(err: ForkyardError): string {
  return `${err.code}: ${err.message}`;
}

const STEP_ERROR_PATTERN = /^([a-z_]+): ([\s\S]*)$/;

/** Recovers `{ code, message }` from an error thrown out of a Workflow step. */
export function decodeStepError(err: unknown): { code: string; message: string } {
  if (err instanceof ForkyardError) return { code: err.code, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  const match = STEP_ERROR_PATTERN.exec(withoutNonRetryablePrefix(message));
  if (match?.[1] && match[2] !== undefined) return { code: match[1], message: match[2] };
  return { code: "internal_error", message };
}

/** A ForkyardError as plain data, for crossing RPC boundaries (Durable Objects, Workflow steps). */
export interface WireError {
  code: string;
  message: string;
  status: number;
  retryable: boolean;
  details?: ErrorDetails;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: WireError };

export function toWireError(err: unknown): WireError {
  const e = err instanceof ForkyardError ? err : new ForkyardError("internal_error", err instanceof Error ? err.message : String(err), { status: 500 });
  return { code: e.code, message: e.message, status: e.status, retryable: e.retryable, ...(e.details ? { details: e.details } : {}) };
}

export function fromWireError(wire: WireError): ForkyardError {
  return new ForkyardError(wire.code, wire.message, { status: wire.status, retryable: wire.retryable, details: wire.details });
}

/** Runs `fn`, returning its value or its error as data (DO RPC methods return these). */
export async function asResult<T>(fn: () => Promise<T>): Promise<Result<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    return { ok: false, error: toWireError(err) };
  }
}

/** asResult for synchronous work. */
export function resultOf<T>(fn: () => T): Result<T> {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    return { ok: false, error: toWireError(err) };
  }
}

export function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  throw fromWireError(result.error);
}
