/** Values shared by the test setup and the tests. */
export const TEST_API_TOKEN = "test-token";
export const TEST_E2B_API_KEY = "e2b_0123456789abcdef0123456789abcdef";
/** The local sandbox server's admin key (its /admin API refuses the E2B key). */
export const TEST_SANDBOX_ADMIN_KEY = "test-sandbox-admin-key";
/** The key the scripted Anthropic server expects (test/support/anthropic-server.ts). */
export const TEST_ANTHROPIC_API_KEY = "sk-ant-test-0000";
/** GITHUB_TOKEN and GITHUB_WEBHOOK_SECRET of the tests (test/support/github-server.ts expects the token). */
export const TEST_GITHUB_TOKEN = "ghp_forkyardTest0123456789abcdefABCDEF0123";
export const TEST_GITHUB_WEBHOOK_SECRET = "forkyard-test-webhook-secret";

/** Fast retries so fault-injection tests take seconds, not minutes (production uses SPEC defaults). */
export const TEST_RETRY_POLICIES = {
  acquire: { delayMs: 200 },
  clone: { delayMs: 200 },
  command: { delayMs: 200 },
  check: { delayMs: 200 },
  collect: { delayMs: 200 },
  cleanup: { delayMs: 200 },
  report: { delayMs: 200 },
  budget: { delayMs: 200 },
  model: { delayMs: 200 },
  tool: { delayMs: 200 },
};
