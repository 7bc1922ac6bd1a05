import { describe, expect, it } from "vitest";
import { api, createRun, gateCommand, getRun, newGate, sandboxAdmin, scriptedModel, waitForRunStatus } from "./helpers";

interface SseEvent {
  id: string | undefined;
  type: string;
  data: { fork: number | null; step?: string; stream?: string; offset?: number; data?: string; seq?: number; status?: string };
}

/** Reads an SSE stream event by event. */
function sseReader(res: Response) {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const seen: SseEvent[] = [];
  return {
    seen,
    /** Reads until `match` has arrived (or the stream ends): the matching event. */
    async until(match: (e: SseEvent) => boolean): Promise<SseEvent | undefined> {
      for (;;) {
        const found = seen.find(match);
        if (found) return found;
        const { value, done } = await reader.read();
        if (done) return undefined;
        buffer += value;
        let at: number;
        while ((at = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          const field = (name: string) => block.split("\n").find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2);
          const data = field("data");
          if (data !== undefined) seen.push({ id: field("id"), type: field("event") ?? "message", data: JSON.parse(data) as SseEvent["data"] });
        }
      }
    },
    cancel: () => reader.cancel().catch(() => undefined),
  };
}

const output = (text: string) => (e: SseEvent) => e.type === "command.output" && (e.data.data ?? "").includes(text);

describe("live output of running commands (command.output)", () => {
  it("streams a command's lines while it runs, gives a late watcher the tail, and keeps none of it in the log", async () => {
    const gate = newGate();
    const run = await createRun({ task: { commands: [`echo first-line; echo oops >&2; ${gateCommand(gate)}; echo last-line`] } });
    const watcher = sseReader(await api(`/v1/runs/${run.id}/events`));
    const first = await watcher.until(output("first-line"));
    // It arrived while the command is still held by the gate.
    expect(first).toMatchObject({ id: undefined, data: { fork: 1, step: "command-1", stream: "stdout", offset: 0 } });
    const step = (await getRun(run.id)).forks[0]!.steps.find((s) => s.name === "command-1");
    expect(step?.status).toBe("running");
    expect(await watcher.until((e) => e.type === "command.output" && e.data.stream === "stderr")).toMatchObject({ data: { data: "oops\n", offset: 0 } });

    // A watcher that joins now gets the running step's tail after the log.
    const late = sseReader(await api(`/v1/runs/${run.id}/events`));
    const tail = await late.until(output("first-line"));
    expect(tail).toMatchObject({ id: undefined, data: { fork: 1, step: "command-1", stream: "stdout", offset: 0 } });
    await late.cancel();

    await sandboxAdmin.openGate(gate);
    const last = await watcher.until(output("last-line"));
    expect(last?.data.offset).toBe("first-line\n".length);
    await watcher.until((e) => e.type === "run.finished");
    await watcher.cancel();
    await waitForRunStatus(run.id, ["completed"]);
    // The durable record is the tail stored with the command; the log replays no live output.
    const replay = await (await api(`/v1/runs/${run.id}/events`)).text();
    expect(replay).toContain("command.finished");
    expect(replay).not.toContain("command.output");
    expect((await getRun(run.id)).forks[0]!.commands[0]!.stdoutTail).toBe("first-line\nlast-line\n");
  });
});

describe("live output of an agent's bash tool call", () => {
  it("streams the tool call's output under its step while it runs", async () => {
    const gate = newGate();
    const usage = { input_tokens: 100, output_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
    await scriptedModel.reset();
    await scriptedModel.script([
      { content: [{ type: "tool_use", name: "bash", input: { command: `echo agent-live; ${gateCommand(gate)}; echo agent-done` } }], usage },
      { content: [{ type: "text", text: "Done." }], usage },
    ]);
    const run = await createRun({ task: { prompt: "Print something", model: "sonnet" } });
    const watcher = sseReader(await api(`/v1/runs/${run.id}/events`));
    const live = await watcher.until(output("agent-live"));
    expect(live).toMatchObject({ id: undefined, data: { fork: 1, step: "tool-1-1", stream: "stdout", offset: 0 } });
    await sandboxAdmin.openGate(gate);
    expect(await watcher.until(output("agent-done"))).toMatchObject({ data: { step: "tool-1-1" } });
    expect(await watcher.until((e) => e.type === "run.finished")).toMatchObject({ data: { status: "completed" } });
    await scriptedModel.reset();
  });
});
