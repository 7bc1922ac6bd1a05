/**
 * Model-provider errors, in Forkyard's one hierarchy (src/core/errors.ts). The fork Workflow retries
 * only what can succeed on a retry: overload, rate limits, 5xx and dropped connections. A rejected
 * key or a malformed request fails the step at once. Messages never carry the API key.
 */
import { ForkyardError, type ErrorDetails } from "../core/errors";

/** The model provider rejected our credentials (401/403): never retried. */
export class ModelAuthError extends ForkyardError {
  constructor(message: string, details?: ErrorDetails) {
    super("model_auth_failed", message, { status: 502, details });
  }
}

/** The model provider refused the request itself (400, 404, 413, ...): retrying the same request cannot help. */
export class ModelRequestError extends ForkyardError {
  constructor(message: string, details?: ErrorDetails) {
    super("model_request_failed", message, { status: 502, details });
  }
}

/** A transient model-provider failure (429, 5xx, 529 overloaded, timeout, connection): retried. */
export class ModelUnavailableError extends ForkyardError {
  /** What the provider asked us to wait (Retry-After), when it said. */
  readonly retryAfterSeconds: number | undefined;

  constructor(message: string, opts: { details?: ErrorDetails; retryAfterSeconds?: number; cause?: unknown } = {}) {
    super("model_unavailable", message, { status: 503, retryable: true, details: opts.details, cause: opts.cause });
    this.retryAfterSeconds = opts.retryAfterSeconds;
  }
}
