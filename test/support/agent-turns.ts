import type { ScriptedReply, ScriptedUsage } from "./anthropic-server.ts";

/** A scripted model turn that creates hello.txt through the text-editor tool. */
export function editTurn(usage: ScriptedUsage): ScriptedReply {
  return {
    content: [
      { type: "text", text: "I'll add the file." },
      { type: "tool_use", name: "str_replace_based_edit_tool", input: { command: "create", path: "hello.txt", file_text: "hello from the agent\n" } },
    ],
    usage,
  };
}
