/** The local stack's vars: its sandbox server has no creation rate, so wrangler.toml's (E2B Hobby's 1 a second) does not hold it back. */
import { describe, expect, it } from "vitest";
import { workerVars } from "../../scripts/local-stack.ts";

describe("the local stack's vars", () => {
  it("creates as fast as the local sandbox server allows unless told otherwise; against E2B the deployment's rate stands", () => {
    expect(workerVars({ backend: "local", sandboxUrl: "http://127.0.0.1:1", env: {} }).SANDBOX_CREATE_RATE_PER_SECOND).toBe("50");
    expect(workerVars({ backend: "local", sandboxUrl: "http://127.0.0.1:1", env: { SANDBOX_CREATE_RATE_PER_SECOND: "2" } }).SANDBOX_CREATE_RATE_PER_SECOND).toBe("2");
    expect(workerVars({ backend: "e2b", env: { E2B_API_KEY: "e2b_x" } }).SANDBOX_CREATE_RATE_PER_SECOND).toBeUndefined();
  });
});
