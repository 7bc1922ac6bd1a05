/**
 * Forkyard's own commands in a sandbox (health check, collect, verified build, artifacts list):
 * killed at their deadline, the sandbox was slow (a loaded host, a namespace still starting), so
 * the step is retried; any other failure stays final. A loaded CI machine failed forks of
 * pick.test with a final `sandbox_error` when a health check ran past its deadline.
 */
import { describe, expect, it } from "vitest";
import { SandboxOperationError } from "../../src/core/errors";
import { DEADLINE_EXIT_CODE, type ExecResult } from "../../src/sandbox/envd-client";
import { ownCommandError } from "../../src/sandbox/errors";

const failed = () => new SandboxOperationError("Health check failed: boom");

describe("ownCommandError", () => {
  it("a command killed at its deadline is retried (sandbox_unavailable), saying how long it ran", () => {
    const exec: ExecResult = { exitCode: DEADLINE_EXIT_CODE, stdoutTail: "", stderrTail: "[killed: deadline of 30000 ms exceeded]", durationMs: 30_012, deadlineExceeded: true };
    const err = ownCommandError(exec, "health check", failed);
    expect(err.code).toBe("sandbox_unavailable");
    expect(err.retryable).toBe(true);
    expect(err.message).toBe("health check: not finished after 30 s (killed at its deadline)");
  });

  it("any other failure is the caller's error, final; a command that itself exits 124 is no deadline", () => {
    for (const exec of [
      { exitCode: 1, stdoutTail: "", stderrTail: "fatal: bad object", durationMs: 40 },
      { exitCode: DEADLINE_EXIT_CODE, stdoutTail: "", stderrTail: "", durationMs: 40 },
    ]) {
      const err = ownCommandError(exec, "health check", failed);
      expect(err.code).toBe("sandbox_error");
      expect(err.retryable).toBe(false);
    }
  });
});
