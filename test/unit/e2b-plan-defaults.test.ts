/**
 * The Pool's limits out of the box are safe on E2B's Hobby plan (20 sandboxes at once, 1 created a
 * second; Pro allows 100 and 5): a deployment with no `[vars]` of its own, or wrangler.toml's, never
 * asks E2B for more than Hobby gives (the local stack's own rate: test/node/local-stack-vars.test.ts).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig, type Env } from "../../src/core/env";

const HOBBY = { liveSandboxes: 20, createsPerSecond: 1 };

/** wrangler.toml's `[vars]` value of `name`. */
function wranglerVar(name: string): string | undefined {
  const toml = readFileSync(join(import.meta.dirname, "../../wrangler.toml"), "utf8");
  const vars = toml.slice(toml.indexOf("[vars]"), toml.indexOf("\n[", toml.indexOf("[vars]") + 1));
  return new RegExp(`^${name}\\s*=\\s*"([^"]*)"`, "m").exec(vars)?.[1];
}

describe("E2B plan limits out of the box", () => {
  it("the defaults and wrangler.toml's vars stay within Hobby's concurrency and creation rate", () => {
    const defaults = loadConfig({} as Env);
    expect(defaults.MAX_LIVE_SANDBOXES).toBeLessThanOrEqual(HOBBY.liveSandboxes);
    expect(defaults.SANDBOX_CREATE_RATE_PER_SECOND).toBeLessThanOrEqual(HOBBY.createsPerSecond);
    const deployed = loadConfig({ MAX_LIVE_SANDBOXES: wranglerVar("MAX_LIVE_SANDBOXES"), SANDBOX_CREATE_RATE_PER_SECOND: wranglerVar("SANDBOX_CREATE_RATE_PER_SECOND") } as unknown as Env);
    expect(deployed.MAX_LIVE_SANDBOXES).toBeLessThanOrEqual(HOBBY.liveSandboxes);
    expect(deployed.SANDBOX_CREATE_RATE_PER_SECOND).toBeLessThanOrEqual(HOBBY.createsPerSecond);
  });

  it("Pro's limits are a configuration away", () => {
    const pro = loadConfig({ MAX_LIVE_SANDBOXES: "100", SANDBOX_CREATE_RATE_PER_SECOND: "5" } as unknown as Env);
    expect([pro.MAX_LIVE_SANDBOXES, pro.SANDBOX_CREATE_RATE_PER_SECOND]).toEqual([100, 5]);
  });
});
