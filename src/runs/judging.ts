/**
 * The LLM judge: what it is shown of each fork and how its answer is read. A model reads the task,
 * the fork's check result, diff stats, its agent's summary and its patch (bounded), and answers
 * with a score 0-10 and a short reason. Pure functions: the judge Workflow's steps call them.
 */
import type { TextBlockParam } from "@anthropic-ai/sdk/resources/messages";
import type { ModelTurn } from "../agent/conversation";
import type { ModelRequest } from "../agent/loop";
import type { CheckResult, DiffStats, Task } from "../api/runs";

/** How much of each fork's patch the judge reads. */
export const JUDGE_PATCH_BYTES = 24 * 1024;
const JUDGE_MAX_TOKENS = 1024;
const MAX_REASON_CHARS = 600;

/** What the judge Workflow gets from the Orchestrator (its `judge-input` step). */
export interface JudgeInput {
  k: number;
  model: string;
  rubric?: string;
  task: Task;
  checkCommand: string | null;
  forks: { n: number; check?: CheckResult; diff?: DiffStats; summary?: string }[];
}

export interface Judgement {
  n: number;
  /** 0-10; null when the answer could not be read. */
  score: number | null;
  reason: string;
}

const INSTRUCTIONS = `You judge independent attempts ("forks") at one coding task on a git repository. For the attempt shown, score from 0 to 10 how well its change accomplishes the task: correct and complete first, then focused, clean and consistent with the code around it. A failed check weighs heavily against it. Judge only what is shown.

Answer with JSON only, no other text: {"score": <integer 0-10>, "reason": "<one or two sentences>"}`;

function describeTask(task: Task): string {
  return "prompt" in task ? task.prompt : `Run these commands:\n${task.commands.join("\n")}`;
}

/** The Messages API request that judges one fork. */
export function judgeRequest(input: JudgeInput, fork: JudgeInput["forks"][number], patch: string | null, patchBytes: number): ModelRequest {
  const system: TextBlockParam[] = [{ type: "text", text: input.rubric ? `${INSTRUCTIONS}\n\nWhat matters here:\n${input.rubric}` : INSTRUCTIONS, cache_control: { type: "ephemeral" } }];
  const check = fork.check ? `${fork.check.passed ? "passed" : "failed"} (\`${fork.check.command}\`, exit ${fork.check.exitCode})` : input.checkCommand ? "not run" : "none configured";
  const diff = fork.diff ? `${fork.diff.files} files, +${fork.diff.insertions} −${fork.diff.deletions}` : "unknown";
  const shown = patch === null ? "(no changes)" : patch + (patchBytes > JUDGE_PATCH_BYTES ? `\n[… patch cut at ${JUDGE_PATCH_BYTES} of ${patchBytes} bytes]` : "");
  const text = [
    `Task:\n${describeTask(input.task)}`,
    `Attempt: fork ${fork.n}`,
    `Check: ${check}`,
    `Diff: ${diff}`,
    ...(fork.summary ? [`The agent's own summary:\n${fork.summary}`] : []),
    `Patch:\n${shown}`,
  ].join("\n\n");
  return { model: input.model, system, tools: [], messages: [{ role: "user", content: [{ type: "text", text }] }], maxTokens: JUDGE_MAX_TOKENS };
}

/** The judge's answer: the first JSON object in its text, its score clamped to 0-10. */
export function readJudgement(n: number, turn: ModelTurn): Judgement {
  const text = turn.content.flatMap((b) => (b.type === "text" ? [b.text] : [])).join("\n");
  const match = /\{[\s\S]*\}/.exec(text);
  try {
    const value = JSON.parse(match?.[0] ?? "") as { score?: unknown; reason?: unknown };
    const score = typeof value.score === "number" && Number.isFinite(value.score) ? Math.min(10, Math.max(0, Math.round(value.score * 10) / 10)) : null;
    const reason = typeof value.reason === "string" ? value.reason.slice(0, MAX_REASON_CHARS) : "";
    return score === null ? { n, score: null, reason: "The judge's answer had no score." } : { n, score, reason };
  } catch {
    return { n, score: null, reason: `The judge's answer could not be read: ${text.slice(0, 200)}` };
  }
}
