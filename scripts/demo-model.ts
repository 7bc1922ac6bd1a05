/**
 * The demo model (`FORKYARD_DEMO_MODEL=1 npm start`): a stand-in for Anthropic's Messages API so
 * a new user without a key sees an agent fork, a session and a judging end to end. It is not a
 * model: it answers every task the same way — look around the repository (bash), write
 * FORKYARD_DEMO.md naming the task (the text editor), then summarise — and judges every fork with
 * a fixed rule (a patch scores 6, none 3). It lives in scripts/, which is never deployed: the
 * Worker only sees an ANTHROPIC_BASE_URL, as with any Messages server.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

/** The agent tools' names (src/agent/tools.ts): the demo calls them as a model would. */
const BASH = "bash";
const EDITOR = "str_replace_based_edit_tool";
export const DEMO_MODEL_LABEL = "Forkyard demo model (scripted, not a real model)";

interface ContentBlock {
  type: string;
  text?: string;
}
interface Message {
  role: "user" | "assistant";
  content: string | ContentBlock[];
}
interface MessagesRequest {
  model?: string;
  system?: string | ContentBlock[];
  tools?: { name: string }[];
  messages?: Message[];
}

const textOf = (content: string | ContentBlock[] | undefined): string =>
  typeof content === "string" ? content : (content ?? []).map((b) => b.text ?? "").join("\n");

/** The reply's content blocks for one request: the next move of the scripted agent, or a verdict. */
export function demoReply(body: MessagesRequest): ContentBlock[] | Record<string, unknown>[] {
  const messages = body.messages ?? [];
  if (!body.tools?.length) {
    // A judging request (no tools): a fixed rule, said to be one.
    const hasPatch = messages.some((m) => / BEGIN patch\n/.test(textOf(m.content)));
    const verdict = hasPatch ? { score: 6, reason: "Demo model: the fork made a change (a fixed score, not a judgement)." } : { score: 3, reason: "Demo model: the fork made no change (a fixed score, not a judgement)." };
    return [{ type: "text", text: JSON.stringify(verdict) }];
  }
  const task = textOf(messages[0]?.content).split("\n").find((l) => l.trim()) ?? "the task";
  // Moves made so far in this turn: the assistant messages since the last plain user prompt.
  const lastPrompt = messages.findLastIndex((m) => m.role === "user" && !(Array.isArray(m.content) && m.content.some((b) => b.type === "tool_result")));
  const moves = messages.slice(lastPrompt + 1).filter((m) => m.role === "assistant").length;
  const id = `toolu_demo_${messages.length}`;
  if (moves === 0) return [{ type: "text", text: "Demo model: looking around the repository." }, { type: "tool_use", id, name: BASH, input: { command: "ls -la && git log --oneline -3 | cat" } }];
  if (moves === 1) {
    const note = `# Written by Forkyard's demo model\n\nThe task was: ${task.slice(0, 500)}\n\nA real model would have worked on it; this file shows an edit travelling through a fork.\n`;
    return [{ type: "tool_use", id, name: EDITOR, input: { command: "create", path: "/home/user/repo/FORKYARD_DEMO.md", file_text: note } }];
  }
  return [{ type: "text", text: `Demo model: I looked around the repository and wrote FORKYARD_DEMO.md naming the task. (${DEMO_MODEL_LABEL}: set ANTHROPIC_API_KEY for real work.)` }];
}

function answer(req: IncomingMessage, res: ServerResponse, raw: string): void {
  if (req.method !== "POST" || !req.url?.startsWith("/v1/messages")) {
    res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ type: "error", error: { type: "not_found_error", message: "only POST /v1/messages" } }));
    return;
  }
  let body: MessagesRequest;
  try {
    body = JSON.parse(raw) as MessagesRequest;
  } catch {
    res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ type: "error", error: { type: "invalid_request_error", message: "body is not JSON" } }));
    return;
  }
  const content = demoReply(body);
  const stop = content.some((b) => b.type === "tool_use") ? "tool_use" : "end_turn";
  const inputTokens = Math.ceil((raw.length || 1) / 4);
  const message = { id: `msg_demo_${Date.now().toString(36)}`, type: "message", role: "assistant", model: body.model ?? "demo", content, stop_reason: stop, stop_sequence: null, usage: { input_tokens: inputTokens, output_tokens: Math.ceil(JSON.stringify(content).length / 4) } };
  res.writeHead(200, { "content-type": "application/json", "request-id": message.id }).end(JSON.stringify(message));
}

/** Starts the demo model on 127.0.0.1 (`port` 0: a free one). */
export async function startDemoModel(port = 0): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (raw += chunk));
    req.on("end", () => answer(req, res, raw));
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : port}`;
  return { url, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
