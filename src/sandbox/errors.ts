import { AuthenticationError, NotFoundError as E2BNotFoundError, RateLimitError, SandboxError, SandboxNotFoundError, ServiceBusyError, TimeoutError } from "e2b";
import { ForkyardError, RateLimitedError, SandboxAuthError, SandboxOperationError, SandboxUnavailableError } from "../core/errors";
import type { ExecResult } from "./envd-client";

/**
 * Maps anything the e2b SDK (or fetch underneath it) throws to Forkyard's hierarchy, deciding
 * what is worth retrying: 401 never; 429, 5xx, timeouts and dropped connections always.
 */
export function classifySandboxError(err: unknown, operation: string): ForkyardError {
  if (err instanceof ForkyardError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const what = `${operation}: ${message}`;
  if (err instanceof AuthenticationError) return new SandboxAuthError(`The sandbox provider rejected the API key (${operation}).`);
  if (err instanceof RateLimitError) return new RateLimitedError(`Sandbox provider rate limit (${operation}).`, 1);
  if (err instanceof ServiceBusyError || err instanceof TimeoutError) return new SandboxUnavailableError(what, err);
  if (err instanceof E2BNotFoundError) return new SandboxOperationError(what, { operation, notFound: true });
  if (err instanceof SandboxError) {
    const status = err.statusCode ?? 0;
    if (status === 0 || status >= 500 || status === 408 || status === 409) return new SandboxUnavailableError(what, err);
    return new SandboxOperationError(what, { operation, status });
  }
  // fetch failures: connection refused/reset/lost, aborted requests.
  return new SandboxUnavailableError(what, err);
}

export function isNotFound(err: unknown): boolean {
  return err instanceof E2BNotFoundError || err instanceof SandboxNotFoundError || (err instanceof SandboxOperationError && err.details?.notFound === true);
}

/**
 * The error for one of Forkyard's own commands in a sandbox (the health check, collecting or
 * building the fork's commit, listing artifacts) that did not succeed. Killed at its deadline, the
 * sandbox was slow, not broken (a loaded host, a namespace still starting): retried. Any other
 * failure is what `failed` says.
 */
export function ownCommandError(exec: ExecResult, operation: string, failed: () => ForkyardError): ForkyardError {
  if (exec.deadlineExceeded) return new SandboxUnavailableError(`${operation}: not finished after ${Math.round(exec.durationMs / 1000)} s (killed at its deadline)`);
  return failed();
}
