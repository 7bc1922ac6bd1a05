import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDemoModel } from "../../scripts/demo-model.ts";

let model: Awaited<ReturnType<typeof startDemoModel>>;
let client: Anthropic;
beforeAll(async () => {
  model = await startDemoModel();
  client = new Anthropic({ apiKey: "demo-model", baseURL: model.url, maxRetries: 0 });
});
afterAll(() => model.close());

const tools = [
  { type: "bash_20250124", name: "bash" },
  { type: "text_editor_20250728", name: "str_replace_based_edit_tool" },
] as Anthropic.ToolUnion[];

describe("the demo model (FORKYARD_DEMO_MODEL=1 npm start)", () => {
  it("speaks the Messages API as the agent loop uses it: looks around, writes a file naming the task, summarises", async () => {
    const messages: Anthropic.MessageParam[] = [{ role: "user", content: "Fix the typo in README\nmore details" }];
    const first = await client.messages.create({ model: "claude-sonnet-4-5", max_tokens: 1000, tools, messages });
    expect(first.stop_reason).toBe("tool_use");
    const bash = first.content.find((b) => b.type === "tool_use")!;
    expect(bash).toMatchObject({ name: "bash", input: { command: expect.stringContaining("ls") } });
    expect(first.usage.input_tokens).toBeGreaterThan(0);

    messages.push({ role: "assistant", content: first.content }, { role: "user", content: [{ type: "tool_result", tool_use_id: bash.type === "tool_use" ? bash.id : "", content: "README.md" }] });
    const second = await client.messages.create({ model: "claude-sonnet-4-5", max_tokens: 1000, tools, messages });
    const edit = second.content.find((b) => b.type === "tool_use");
    expect(edit).toMatchObject({ name: "str_replace_based_edit_tool", input: { command: "create", path: "/home/user/repo/FORKYARD_DEMO.md", file_text: expect.stringContaining("The task was: Fix the typo in README") } });

    messages.push({ role: "assistant", content: second.content }, { role: "user", content: [{ type: "tool_result", tool_use_id: edit?.type === "tool_use" ? edit.id : "", content: "created" }] });
    const third = await client.messages.create({ model: "claude-sonnet-4-5", max_tokens: 1000, tools, messages });
    expect(third.stop_reason).toBe("end_turn");
    expect(third.content[0]).toMatchObject({ type: "text", text: expect.stringContaining("demo model") });

    // A session's next prompt starts the same three moves again.
    messages.push({ role: "assistant", content: third.content }, { role: "user", content: "now something else" });
    const next = await client.messages.create({ model: "claude-sonnet-4-5", max_tokens: 1000, tools, messages });
    expect(next.content.find((b) => b.type === "tool_use")).toMatchObject({ name: "bash" });
  });

  it("answers a judging request (no tools) with a verdict in the judge's strict format, labelled as fixed", async () => {
    const judge = (text: string) => client.messages.create({ model: "claude-sonnet-4-5", max_tokens: 300, messages: [{ role: "user", content: text }] });
    const withPatch = await judge("b1 BEGIN patch\n+x\nb1 END patch");
    const verdict = JSON.parse(withPatch.content[0]!.type === "text" ? withPatch.content[0]!.text : "");
    expect(verdict).toEqual({ score: 6, reason: expect.stringContaining("not a judgement") });
    const none = await judge("no patch here");
    expect(JSON.parse(none.content[0]!.type === "text" ? none.content[0]!.text : "").score).toBe(3);
  });
});
