import { describe, expect, it } from "vitest";
import type { ModelTurn } from "../../src/agent/conversation";
import { migrate } from "../../src/objects/shared/migrations";
import { RUN_MIGRATIONS } from "../../src/objects/orchestrator/schema";
import { ForkTranscriptStore } from "../../src/objects/orchestrator/fork-transcript-store";
import { MAX_TRANSCRIPT_TEXT_CHARS, modelRecord, promptRecord, toolRecord } from "../../src/runs/fork-transcript";
import { sqliteStorage } from "./support/sqlite-storage";

const USAGE = { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 };
const call = (id: string, input: object, text = ""): ModelTurn => ({
  stopReason: "tool_use",
  content: [...(text ? [{ type: "text" as const, text }] : []), { type: "tool_use", id, name: "bash", inputJson: JSON.stringify(input) }],
  usage: USAGE,
  model: "m",
});

function store(): ForkTranscriptStore {
  const storage = sqliteStorage();
  migrate(storage, RUN_MIGRATIONS);
  return new ForkTranscriptStore(storage.sql);
}

describe("fork transcripts", () => {
  it("number each fork's entries from 1 in the order their steps ended; a re-run step replaces its entry in place", () => {
    const s = store();
    s.record(1, [promptRecord(1, "task"), modelRecord(1, call("a", { command: "ls" }, "first try"))], "t1");
    s.record(2, [promptRecord(1, "task")], "t1");
    s.record(1, [toolRecord(1, 0, { name: "bash", input: { command: "ls" } }, { toolUseId: "a", content: "x", isError: false })], "t2");
    // The model step's body ran again (a retried attempt) and recorded its new answer.
    s.record(1, [promptRecord(1, "task"), modelRecord(1, call("a", { command: "ls" }, "second try"))], "t3");
    const page = s.page(1, 0, 10);
    expect(page.next).toBeNull();
    expect(page.entries.map((e) => [e.seq, e.step, e.role, e.at])).toEqual([
      [1, null, "user", "t1"],
      [2, "model-1", "assistant", "t1"],
      [3, "tool-1-1", "tool", "t2"],
    ]);
    expect(page.entries[1]).toMatchObject({ text: "second try" });
    expect(s.page(2, 0, 10).entries.map((e) => e.seq)).toEqual([1]);
    expect(s.page(1, 1, 1)).toMatchObject({ entries: [{ seq: 2 }], next: 2 });
  });

  it("bound what the fork wrote: long texts, tool inputs and outputs keep their head and tail", () => {
    const long = "a".repeat(MAX_TRANSCRIPT_TEXT_CHARS) + "END";
    const model = JSON.parse(modelRecord(2, call("b", { command: long }, long)).data) as { text: string; toolCalls: { input: { command: string } }[] };
    expect(model.text.length).toBeLessThanOrEqual(MAX_TRANSCRIPT_TEXT_CHARS);
    expect(model.text).toMatch(/truncated[\s\S]*END$/);
    expect(model.toolCalls[0]!.input.command.length).toBeLessThanOrEqual(MAX_TRANSCRIPT_TEXT_CHARS);
    const tool = JSON.parse(toolRecord(2, 0, { name: "bash", input: { command: long } }, { toolUseId: "b", content: long, isError: true }).data) as { content: string };
    expect(tool.content.length).toBeLessThanOrEqual(16 * 1024);
  });
});
