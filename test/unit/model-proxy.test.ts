import { describe, expect, it } from "vitest";
import { StreamUsageMeter, usageOfBody } from "../../src/model-proxy/meter";
import { modelProxyUrl } from "../../src/model-proxy/address";
import { mintProxyToken, verifyProxyToken } from "../../src/model-proxy/token";

const secrets = { ANTHROPIC_API_KEY: "sk-ant-test-key-0123456789" };
const grant = { run: "r1", fork: 2, lease: "r1-2", exp: 2_000_000_000 };
const NOW = 1_900_000_000_000;

describe("model proxy tokens", () => {
  it("carry their grant back when unaltered and unexpired, and never contain the key they are derived from", async () => {
    const token = await mintProxyToken(secrets, grant);
    expect(token).toMatch(/^fyp1\.[\w-]+\.[\w-]+$/);
    expect(token).not.toContain(secrets.ANTHROPIC_API_KEY);
    expect(await verifyProxyToken(secrets, token, NOW)).toEqual(grant);
  });

  it("are refused when expired, when any byte of payload or MAC changes, or under another secret", async () => {
    const token = await mintProxyToken(secrets, grant);
    await expect(verifyProxyToken(secrets, token, grant.exp * 1000)).rejects.toThrow("expired");
    const [prefix, payload, mac] = token.split(".") as [string, string, string];
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
    for (const bad of [`${prefix}.${flip(payload, 3)}.${mac}`, `${prefix}.${payload}.${flip(mac, 5)}`, `fyp2.${payload}.${mac}`, `${token}.x`, "", "fyp1..", "sk-ant-xyz"]) {
      await expect(verifyProxyToken(secrets, bad, NOW)).rejects.toMatchObject({ code: "unauthorized", status: 401 });
    }
    // MODEL_PROXY_SECRET, when set, is the key: a token derived from the model key no longer verifies.
    await expect(verifyProxyToken({ ...secrets, MODEL_PROXY_SECRET: "a-separate-proxy-secret" }, token, NOW)).rejects.toThrow("invalid");
    await expect(verifyProxyToken({}, token, NOW)).rejects.toThrow("invalid");
  });
});

describe("model proxy metering", () => {
  const sse = (events: object[]) => events.map((e) => `event: ${(e as { type: string }).type}\ndata: ${JSON.stringify(e)}\n\n`).join("");

  it("reads a stream's usage from message_start and the last message_delta, across split chunks", () => {
    const text = sse([
      { type: "message_start", message: { model: "claude-haiku-5-5", usage: { input_tokens: 120, output_tokens: 1, cache_read_input_tokens: 40, cache_creation_input_tokens: 7 } } },
      { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "hi" } },
      { type: "message_delta", usage: { output_tokens: 30 } },
      { type: "message_delta", usage: { output_tokens: 55 } },
      { type: "message_stop" },
    ]);
    const meter = new StreamUsageMeter();
    const bytes = new TextEncoder().encode(text);
    for (let i = 0; i < bytes.length; i += 7) meter.push(bytes.slice(i, i + 7));
    expect(meter).toMatchObject({ started: true, complete: true, model: "claude-haiku-5-5", usage: { input: 120, output: 55, cacheRead: 40, cacheWrite: 7 } });
  });

  it("counts nothing for a stream that never started, and reads a JSON answer's usage", () => {
    const meter = new StreamUsageMeter();
    meter.push(new TextEncoder().encode('data: {"type":"ping"}\n\ndata: not json\n'));
    expect(meter.started).toBe(false);
    expect(usageOfBody('{"model":"m","usage":{"input_tokens":3,"output_tokens":4}}')).toEqual({ model: "m", usage: { input: 3, output: 4, cacheRead: 0, cacheWrite: 0 } });
    expect(usageOfBody("{}")).toBeNull();
  });

  it("is addressed under PUBLIC_URL per run, and unavailable without it", () => {
    expect(modelProxyUrl({ PUBLIC_URL: "https://forkyard.example.com/" }, "r1")).toBe("https://forkyard.example.com/v1/model-proxy/r1");
    expect(() => modelProxyUrl({}, "r1")).toThrow(/PUBLIC_URL/);
  });
});
