/**
 * The system prompt and tool list of a fork's agent. The request prefix is ordered from the most
 * to the least shared, with a cache breakpoint after each stable part: tools (same for every fork),
 * then the instructions and run context (same for every fork of a run), then the fork's own
 * context. The conversation adds the last breakpoint (conversation.ts); four is the API's maximum.
 */
import type { TextBlockParam, ToolUnion } from "@anthropic-ai/sdk/resources/messages";
import { REPO_DIR } from "../sandbox/git";
import { BASH_TOOL, MAX_COMMAND_MS, MAX_TOOL_OUTPUT_CHARS, TEXT_EDITOR_TOOL } from "./tools";

export interface ForkContext {
  repo: string;
  baseBranch: string;
  /** The run's `commit` (the fork started there, not at the branch's head). */
  commit?: string;
  workBranch: string;
  /** This fork's number, 1..forks. */
  fork: number;
  forks: number;
}

const EPHEMERAL = { type: "ephemeral" } as const;

const INSTRUCTIONS = `You are an autonomous software engineer working on a git repository. No human is watching: do not ask questions; when something is ambiguous, make the most reasonable choice and say so at the end.

Your tools run inside an isolated Linux sandbox that holds a clone of the repository:
- bash runs one command per call in a fresh shell that starts in the repository's working directory (cd and exported variables do not carry over to the next call; chain commands with && instead). Stdin is closed, so use non-interactive flags. A command is stopped after ${MAX_COMMAND_MS / 60_000} minutes.
- str_replace_based_edit_tool views, creates and edits files. Relative paths are relative to the working directory.
Tool output longer than ${MAX_TOOL_OUTPUT_CHARS / 1024} KiB is cut in the middle; narrow it (grep, head, view_range) when you need the detail.

How to work:
1. Explore the repository enough to understand the relevant code and its conventions.
2. Make the change the task asks for, keeping it focused and consistent with the existing style.
3. Run the relevant checks that the repository provides (tests, type checks, linters, build) and fix what your change broke.
4. Do not commit, push or switch branches: your changes in the working tree are collected and committed for you.
5. Finish with a short summary of what you changed, how you checked it, and anything left undone, as a final message without tool calls.`;

/** The repository as the model may see it: credentials in a URL (https://token@host/...) are removed. */
export function displayRepo(repo: string): string {
  try {
    const url = new URL(repo);
    if (!url.username && !url.password) return repo;
    url.username = "";
    url.password = "";
    return url.toString();
  } catch {
    return repo;
  }
}

/** The `system` parameter: shared instructions and run context (cached), then this fork's context. */
export function buildSystemPrompt(ctx: ForkContext): TextBlockParam[] {
  const run = `Repository: ${displayRepo(ctx.repo)}\nBase branch: ${ctx.baseBranch}${ctx.commit ? `\nBase commit: ${ctx.commit}` : ""}\nWorking directory: ${REPO_DIR}`;
  const fork = `You are fork ${ctx.fork} of ${ctx.forks}: ${ctx.forks > 1 ? "other forks attempt the same task independently in their own sandboxes, so do not coordinate with them. " : ""}Your work branch is ${ctx.workBranch} (already checked out).`;
  return [
    { type: "text", text: `${INSTRUCTIONS}\n\n${run}`, cache_control: EPHEMERAL },
    { type: "text", text: fork },
  ];
}

/** The `tools` parameter, with a cache breakpoint on the last tool (the tools are the prefix's start). */
export function buildTools(): ToolUnion[] {
  return [{ ...BASH_TOOL }, { ...TEXT_EDITOR_TOOL, cache_control: EPHEMERAL }];
}

const SESSION_INSTRUCTIONS = `You are a software engineer working with a person on a git repository, over a conversation that may last days. Each message from them is a new request or a follow-up; earlier messages and your earlier work are above.

Your tools run inside an isolated Linux sandbox that holds a clone of the repository; your changes from earlier turns are still there:
- bash runs one command per call in a fresh shell that starts in the repository's working directory (cd and exported variables do not carry over to the next call; chain commands with && instead). Stdin is closed, so use non-interactive flags. A command is stopped after ${MAX_COMMAND_MS / 60_000} minutes.
- str_replace_based_edit_tool views, creates and edits files. Relative paths are relative to the working directory.
Tool output longer than ${MAX_TOOL_OUTPUT_CHARS / 1024} KiB is cut in the middle; narrow it (grep, head, view_range) when you need the detail. Older tool output may be cleared to keep the conversation within your context window: run the command again if you need it.

Do what each message asks, check your work with the repository's own checks where it matters, and end every turn with a reply to the person (what you did, what you found, what is left), as a final message without tool calls.`;

/** The `system` parameter of a session's turns: the instructions and repository (cached), then the session's own instructions. */
export function buildSessionSystemPrompt(ctx: { repo: string; baseBranch: string; workBranch: string; system: string | null }): TextBlockParam[] {
  const repo = `Repository: ${displayRepo(ctx.repo)}\nBase branch: ${ctx.baseBranch}\nWork branch: ${ctx.workBranch} (checked out)\nWorking directory: ${REPO_DIR}`;
  const blocks: TextBlockParam[] = [{ type: "text", text: `${SESSION_INSTRUCTIONS}\n\n${repo}`, cache_control: EPHEMERAL }];
  if (ctx.system) blocks.push({ type: "text", text: ctx.system });
  return blocks;
}
