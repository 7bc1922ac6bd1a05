import { beforeEach, describe, expect, it } from "vitest";
import { forkTranscriptPage } from "../../src/api/fork-transcript";
import type { ScriptedReply } from "../support/anthropic-server";
import { api, createRun, gateCommand, getRun, newGate, sandboxAdmin, scriptedModel, waitFor, waitForRunStatus } from "./helpers";

const USAGE = { input_tokens: 100, output_tokens: 20, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
/** Fork-written text that must reach clients as text. */
const HOSTILE = "<img src=x onerror=alert(1)>";

interface Page {
  entries: Record<string, unknown>[];
  next: number | null;
}

async function transcript(runId: string, query = ""): Promise<Page> {
  const res = await api(`/v1/runs/${runId}/forks/1/transcript${query}`);
  expect(res.status).toBe(200);
  const body = (await res.json()) as Page;
  // What the API answers is what its OpenAPI schema documents.
  expect(forkTranscriptPage.safeParse(body).error?.issues ?? []).toEqual([]);
  return body;
}

beforeEach(async () => {
  await scriptedModel.request("/__reset");
  await sandboxAdmin.reset();
});

describe("an agent fork's transcript", () => {
  it("is recorded as each step ends: readable while a tool call runs, then whole, in pages", async () => {
    const gate = newGate();
    const command = `${gateCommand(gate)}; echo '${HOSTILE}'`;
    const script: ScriptedReply[] = [
      { content: [{ type: "text", text: `Looking first. ${HOSTILE}` }, { type: "tool_use", id: "toolu_bash", name: "bash", input: { command } }], usage: USAGE },
      { content: [{ type: "tool_use", id: "toolu_edit", name: "str_replace_based_edit_tool", input: { command: "create", path: "hello.txt", file_text: "hello\n" } }], usage: USAGE },
      { content: [{ type: "text", text: "Added hello.txt." }], usage: USAGE },
    ];
    await scriptedModel.script(script);
    const run = await createRun({ task: { prompt: "Add hello.txt" } });

    await waitFor("the fork to be inside its first tool call", async () => (await getRun(run.id)).forks[0]?.steps.some((s) => s.name === "tool-1-1" && s.status === "running"));
    const held = await transcript(run.id);
    const prompt = { seq: 1, turn: 1, step: null, at: expect.any(String), role: "user", text: "Add hello.txt" };
    const model1 = {
      seq: 2,
      turn: 1,
      step: "model-1",
      at: expect.any(String),
      role: "assistant",
      text: `Looking first. ${HOSTILE}`,
      stopReason: "tool_use",
      toolCalls: [{ id: "toolu_bash", name: "bash", input: { command } }],
    };
    expect(held).toEqual({ entries: [prompt, model1], next: null });

    await sandboxAdmin.openGate(gate);
    const done = await waitForRunStatus(run.id, ["completed", "failed"]);
    expect(done.forks[0]?.status).toBe("succeeded");

    const first = await transcript(run.id, "?limit=3");
    expect(first.next).toBe(3);
    expect(first.entries).toEqual([
      prompt,
      model1,
      { seq: 3, turn: 1, step: "tool-1-1", at: expect.any(String), role: "tool", toolUseId: "toolu_bash", name: "bash", input: { command }, content: `${HOSTILE}\n[exit code: 0]`, isError: false },
    ]);
    const rest = await transcript(run.id, "?after=3&limit=3");
    expect(rest).toEqual({
      entries: [
        {
          seq: 4,
          turn: 2,
          step: "model-2",
          at: expect.any(String),
          role: "assistant",
          text: "",
          stopReason: "tool_use",
          toolCalls: [{ id: "toolu_edit", name: "str_replace_based_edit_tool", input: { command: "create", path: "hello.txt", file_text: "hello\n" } }],
        },
        {
          seq: 5,
          turn: 2,
          step: "tool-2-1",
          at: expect.any(String),
          role: "tool",
          toolUseId: "toolu_edit",
          name: "str_replace_based_edit_tool",
          input: { command: "create", path: "hello.txt", file_text: "hello\n" },
          content: expect.stringContaining("hello.txt"),
          isError: false,
        },
        { seq: 6, turn: 3, step: "model-3", at: expect.any(String), role: "assistant", text: "Added hello.txt.", stopReason: "end_turn", toolCalls: [] },
      ],
      next: null,
    });
    expect(await transcript(run.id, "?after=6")).toEqual({ entries: [], next: null });

    // A fork the run does not have, a run that does not exist: 404; a bad page: 400.
    expect((await api(`/v1/runs/${run.id}/forks/9/transcript`)).status).toBe(404);
    expect((await api(`/v1/runs/run_doesnotexist00/forks/1/transcript`)).status).toBe(404);
    expect((await api(`/v1/runs/${run.id}/forks/1/transcript?limit=0`)).status).toBe(400);
  });
});
