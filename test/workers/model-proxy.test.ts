import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MODEL_ALIASES } from "../../src/agent/models";
import { DEFAULT_MODEL_PRICES, usageCostUsd } from "../../src/agent/pricing";
import { mintProxyToken } from "../../src/model-proxy/token";
import { forkLeaseKey } from "../../src/protocol/run-ids";
import { api, createRun, sandboxAdmin, scriptedModel, waitForRunStatus } from "./helpers";
import { bridgeToWorker } from "./worker-bridge";

const bindings = env as unknown as { ANTHROPIC_API_KEY: string; PUBLIC_URL: string };
const SONNET = MODEL_ALIASES.sonnet;
/** What each scripted model call used (the fake CLI reports none of it, and a cost of 0). */
const CALL_USAGE = { input_tokens: 1000, output_tokens: 200, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
const callUsd = usageCostUsd(SONNET, { input: 1000, output: 200, cacheRead: 0, cacheWrite: 0 }, DEFAULT_MODEL_PRICES);

function proxyCall(runId: string, token: string | null, body: unknown = { model: SONNET, max_tokens: 100, messages: [{ role: "user", content: "hi" }] }): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json", "anthropic-version": "2023-06-01" };
  if (token !== null) headers["x-api-key"] = token;
  return api(`/v1/model-proxy/${runId}/v1/messages`, { method: "POST", token: null, headers, body: JSON.stringify(body) });
}

describe("the model proxy: no model key in any sandbox", () => {
  let bridge: ReturnType<typeof bridgeToWorker>;
  beforeEach(async () => {
    await sandboxAdmin.reset();
    await scriptedModel.reset();
    bridge = bridgeToWorker();
  });
  afterEach(async () => {
    await bridge.stop();
  });

  it("a claude-code stand-in reads its environment and /proc: no model key, only the proxy and a token; it reports $0 and is billed what the proxy metered", async () => {
    await scriptedModel.script([
      { content: [{ type: "text", text: "one" }], usage: CALL_USAGE },
      { content: [{ type: "text", text: "two" }], usage: CALL_USAGE },
    ]);
    const run = await createRun({ task: { prompt: "dump-env proxy-calls=2", runtime: "claude-code" } });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    const fork = view.forks[0]!;
    expect(fork.status).toBe("succeeded");
    expect(fork.agent?.summary).toBe("Made 2 calls.");

    const patch = await (await api(`/v1/runs/${run.id}/forks/1/patch`)).text();
    const dump = atob(/^\+([A-Za-z0-9+/=]+)$/m.exec(patch.slice(patch.indexOf("env-dump.b64")))?.[1] ?? "");
    expect(dump).toContain(`ANTHROPIC_BASE_URL=${bindings.PUBLIC_URL}/v1/model-proxy/${run.id}\n`);
    const token = /^ANTHROPIC_API_KEY=(fyp1\.[\w-]+\.[\w-]+)$/m.exec(dump)?.[1];
    expect(token).toBeDefined();
    expect(dump).not.toContain(bindings.ANTHROPIC_API_KEY);
    expect(dump).not.toContain(bindings.ANTHROPIC_API_KEY.slice(0, 12));
    expect(dump).not.toContain("[REDACTED]");

    // Billed: the two calls' usage as the model API answered it (streamed, then not), not the $0 the CLI reported.
    expect(fork.costUsd.llm).toBeCloseTo(2 * callUsd, 8);
    // The model API saw the Worker's key.
    const calls = await scriptedModel.calls();
    expect(calls.map((c) => [c.status, c.apiKeyMatched, (c.body as { stream?: boolean }).stream])).toEqual([
      [200, true, true],
      [200, true, false],
    ]);

    // The fork ended, its lease was released: its token is revoked.
    const res = await proxyCall(run.id, token!);
    expect([res.status, ((await res.json()) as { error: { message: string } }).error.message]).toEqual([401, "The model proxy token was revoked: its sandbox lease has been released."]);
    expect((await scriptedModel.calls()).length).toBe(2);
  });

  it("refuses a call the run's budget cannot cover (402 budget_exceeded) before it reaches the model", async () => {
    await scriptedModel.script([{ content: [{ type: "text", text: "one" }], usage: CALL_USAGE }]);
    // The first call reserves about $0.0101 (1,000 output tokens at $10/M and the prompt) and books
    // $0.004; the second would need $0.004 + $0.0101 > $0.012.
    const run = await createRun({ task: { prompt: "proxy-calls=3", runtime: "claude-code" }, budgetUsd: 0.012 });
    const view = await waitForRunStatus(run.id, ["completed", "failed", "budget_exceeded"]);
    const fork = view.forks[0]!;
    expect(fork.status).toBe("budget_exceeded");
    expect(fork.error?.code).toBe("budget_exceeded");
    expect(fork.costUsd.llm).toBeCloseTo(callUsd, 8);
    expect((await scriptedModel.calls()).length).toBe(1);
  });

  it("answers 401 to a missing, garbage, forged, tampered, expired or other run's token, and forwards nothing", async () => {
    const runId = `r${"b".repeat(20)}`;
    const exp = Math.floor(Date.now() / 1000) + 600;
    const lease = forkLeaseKey(runId, 1);
    const valid = await mintProxyToken(bindings, { run: runId, fork: 1, lease, exp });
    const [prefix, , mac] = valid.split(".");
    const forged = await mintProxyToken({ MODEL_PROXY_SECRET: "not-the-workers-secret-at-all" }, { run: runId, fork: 1, lease, exp });
    const tampered = `${prefix}.${btoa(JSON.stringify({ r: runId, f: 2, l: lease, e: exp })).replace(/=+$/, "")}.${mac}`;
    const expired = await mintProxyToken(bindings, { run: runId, fork: 1, lease, exp: Math.floor(Date.now() / 1000) - 1 });
    const cases: [string, Response][] = [
      ["none", await proxyCall(runId, null)],
      ["garbage", await proxyCall(runId, "sk-ant-not-a-token")],
      ["forged", await proxyCall(runId, forged)],
      ["tampered", await proxyCall(runId, tampered)],
      ["expired", await proxyCall(runId, expired)],
      ["other run", await proxyCall(`r${"c".repeat(20)}`, valid)],
      // Right MAC, unexpired, right run, but no sandbox is held under its lease.
      ["no lease", await proxyCall(runId, valid)],
    ];
    const answers = await Promise.all(cases.map(async ([what, res]) => [what, res.status, ((await res.json()) as { error: { message: string } }).error.message]));
    expect(answers).toEqual([
      ["none", 401, "The model proxy needs its token (x-api-key)."],
      ["garbage", 401, "The model proxy token is invalid."],
      ["forged", 401, "The model proxy token is invalid."],
      ["tampered", 401, "The model proxy token is invalid."],
      ["expired", 401, "The model proxy token has expired."],
      ["other run", 401, "The model proxy token is not for this run."],
      ["no lease", 401, "The model proxy token was revoked: its sandbox lease has been released."],
    ]);
    expect(await scriptedModel.calls()).toEqual([]);
  });
});
