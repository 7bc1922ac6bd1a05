/**
 * An agent fork's transcript on the run page (GET …/forks/:n/transcript), read when opened and
 * then only what is new each time the fork changes: the prompt, the model's messages, and each tool
 * call folded to one line — `$ command` or `✎ create path` — that opens on its output, an edit
 * also as a diff. Everything in it was written by the fork: it is put in the page as text only.
 */
import type { ForkTranscriptEntry, ForkTranscriptPage, ForkView, RunView } from "../../lib/api-types.ts";
import { api, errorMessage, runPath } from "../../lib/api.ts";
import { h, type Child } from "../../lib/dom.ts";
import { plural } from "../../lib/format.ts";
import { patchLine } from "../../lib/patch.ts";
import type { KeepOpen } from "./fork-card.ts";

/** What the page has read of each fork's transcript (kept across re-renders of its card). */
export type TranscriptCache = Map<number, { entries: ForkTranscriptEntry[]; reading: Promise<void> }>;

type ToolEntry = Extract<ForkTranscriptEntry, { role: "tool" }>;
type Input = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

export function transcriptBlock(run: RunView, f: ForkView, keepOpen: KeepOpen, cache: TranscriptCache): HTMLElement | null {
  if (!("prompt" in run.request.task) || f.status === "queued") return null;
  const state = cache.get(f.n) ?? { entries: [], reading: Promise.resolve() };
  cache.set(f.n, state);
  const list = h("div", { class: "transcript", "aria-label": "Transcript of fork " + f.n });
  const note = h("p", { class: "muted t-note" });
  const counts = f.agent ? plural(f.agent.turns, "model call") + " · " + plural(f.agent.toolCalls, "tool call") : plural(f.steps.filter((s) => /^tool-\d+-\d+$/.test(s.name)).length, "tool call") + " so far";
  const box = keepOpen(h("details", { class: "cmd transcript-box" }, h("summary", null, h("strong", null, "Transcript"), h("span", { class: "muted" }, " · " + counts)), list, note), "transcript-" + f.n, false);
  let shown = 0;
  const show = () => {
    for (const entry of state.entries.slice(shown)) list.append(entryEl(entry, f.n, keepOpen));
    shown = state.entries.length;
    note.textContent = shown === 0 ? "Nothing recorded yet." : "";
  };
  const load = async () => {
    if (!box.open) return;
    show();
    // Reads follow one another: each starts after the last entry the one before it read.
    state.reading = state.reading.then(() => readNew(runPath(run.id) + "/forks/" + f.n + "/transcript", state.entries));
    try {
      await state.reading;
      show();
    } catch (err) {
      state.reading = Promise.resolve();
      note.textContent = errorMessage(err);
    }
  };
  box.addEventListener("toggle", () => void load());
  queueMicrotask(() => void load());
  return h("div", { class: "output" }, box);
}

async function readNew(path: string, entries: ForkTranscriptEntry[]): Promise<void> {
  for (;;) {
    const page = await api<ForkTranscriptPage>(path + "?after=" + (entries.at(-1)?.seq ?? 0) + "&limit=200");
    entries.push(...page.entries);
    if (page.next === null) return;
  }
}

function entryEl(e: ForkTranscriptEntry, n: number, keepOpen: KeepOpen): HTMLElement {
  if (e.role === "user") return h("div", { class: "t-entry t-user" }, h("div", { class: "t-role" }, "Prompt"), h("div", { class: "t-text" }, e.text));
  if (e.role === "assistant") {
    const calls = e.toolCalls.length ? " → " + plural(e.toolCalls.length, "tool call") : "";
    return h("div", { class: "t-entry t-assistant", dataset: { step: e.step ?? "" } }, h("div", { class: "t-role" }, "Model · " + (e.step ?? "") + calls), e.text.trim() ? h("div", { class: "t-text" }, e.text) : null);
  }
  return toolEl(e, n, keepOpen);
}

function toolEl(e: ToolEntry, n: number, keepOpen: KeepOpen): HTMLElement {
  const input = (e.input ?? {}) as Input;
  const bash = /^bash$/i.test(e.name);
  const label = bash ? "$ " + (str(input.command) ?? (input.restart === true ? "(restart)" : "")) : "✎ " + [str(input.command) ?? e.name, str(input.path) ?? str(input.file_path) ?? ""].join(" ").trim();
  const exit = bash ? /\[exit code: (\d+)\]\s*$/.exec(e.content) : null;
  const outcome = e.isError ? h("span", { class: "bad-text" }, "error") : exit ? h("span", { class: exit[1] === "0" ? "ok-text" : "bad-text" }, "exit " + exit[1]) : null;
  const diff = bash ? [] : editLines(input);
  const body: Child[] = [diff.length ? h("pre", { class: "diff t-diff", "aria-label": "Edit" }, diff) : null, h("pre", { class: "tail" + (e.isError ? " stderr" : "") }, e.content || "(no output)")];
  const details = h("details", { class: "cmd t-tool", dataset: { step: e.step ?? "", tool: bash ? "bash" : "edit" } }, h("summary", null, h("code", { title: label }, label), h("span", { class: "exit" }, outcome, " " + (e.step ?? ""))), body);
  return keepOpen(details, "t-" + n + "-" + (e.step ?? e.seq), false);
}

/**
 * An edit as diff lines: what it removed, then what it added — the text editor's `create`,
 * `str_replace`, `insert`, and Claude Code's `Write` (content) and `Edit` (old_string, new_string).
 */
function editLines(input: Input): HTMLElement[] {
  const lines = (text: string | undefined, sign: "+" | "-") => (text === undefined ? [] : text.replace(/\n$/, "").split("\n").map((l) => patchLine(sign + l, sign === "+" ? "add" : "del")));
  if (input.command === "view") return [];
  if (input.command === "insert") return [patchLine("@@ after line " + String(input.insert_line ?? "?") + " @@", "hunk"), ...lines(str(input.new_str) ?? str(input.insert_text), "+")];
  if (input.command === "create" || input.content !== undefined) return lines(str(input.file_text) ?? str(input.content), "+");
  return [...lines(str(input.old_str) ?? str(input.old_string), "-"), ...lines(str(input.new_str) ?? str(input.new_string), "+")];
}
