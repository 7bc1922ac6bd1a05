// The stall watchdog: a command (or an agent's bash call) with no output and no exit for
// stallSeconds is killed; its step fails with `stalled`, is retried once, then fails the fork.
import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { api, createRun, sandboxAdmin, waitFor, waitForRunStatus } from "./helpers";

const anthropicUrl = (env as unknown as { ANTHROPIC_BASE_URL: string }).ANTHROPIC_BASE_URL;
const scripted = (path: string, body?: unknown) => fetch(`${anthropicUrl}${path}`, { method: path === "/__calls" ? "GET" : "POST", body: body === undefined ? undefined : JSON.stringify(body) }).then((r) => r.json());

describe("the stall watchdog", () => {
  it("kills a silent command after stallSeconds, retries its step once, then fails the fork with stalled", async () => {
    await sandboxAdmin.reset();
    const run = await createRun({ stallSeconds: 1, task: { commands: ["sleep 30"] } });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    const fork = view.forks[0]!;
    expect(fork.status).toBe("failed");
    expect(fork.error?.code).toBe("stalled");
    // Killed twice (two 1-second stalls), not left to sleep its 30 s and succeed.
    expect(fork.steps.find((s) => s.name === "command-1")?.attempts).toBe(2);
    expect(fork.commands[0]?.exitCode).not.toBe(0);
    await waitFor("the sandbox to be released", async () => (await sandboxAdmin.stats()).live === 0);
  });

  it("leaves a command that keeps printing alone, however long it runs", async () => {
    const run = await createRun({ stallSeconds: 1, task: { commands: ["for i in 1 2 3 4 5; do echo tick $i; sleep 0.5; done"] } });
    const view = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(view.forks[0]!.status).toBe("succeeded");
    expect(view.forks[0]!.commands[0]!.stdoutTail).toContain("tick 5");
  });

  it("kills an agent's silent bash call the same way, with no further model call", async () => {
    await scripted("/__reset");
    await scripted("/__script", {
      turns: [{ content: [{ type: "tool_use", name: "bash", input: { command: "sleep 30" } }], usage: { input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } }],
    });
    const run = await createRun({ stallSeconds: 1, task: { prompt: "wait", model: "sonnet" } });
    const fork = (await waitForRunStatus(run.id, ["completed", "failed"])).forks[0]!;
    expect(fork.error?.code).toBe("stalled");
    expect(fork.steps.find((s) => s.name === "tool-1-1")?.attempts).toBe(2);
    const calls = (await scripted("/__calls")) as { path: string }[];
    expect(calls.filter((c) => c.path === "/v1/messages")).toHaveLength(1);
  });

  it("validates stallSeconds", async () => {
    const res = await api("/v1/runs", { method: "POST", json: { repo: "/x", stallSeconds: 0, task: { commands: ["true"] } } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { details: { field: string } } }).error.details.field).toBe("stallSeconds");
  });
});
