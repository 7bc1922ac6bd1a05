import type { Task } from "./runs.ts";

/** The longest title a run gets from its task (a given title is validated to TITLE_MAX_CHARS). */
export const TITLE_MAX_CHARS = 120;
/** The task as the runs list shows it: its text on one line, at most this long. */
export const TASK_SUMMARY_MAX_CHARS = 300;

/** Cuts text to `max` characters, an ellipsis marking the cut. */
function bound(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join("").trimEnd()}…`;
}

/** Control characters (a terminal escape in a prompt) become spaces; runs of spaces one. */
function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, " ").replace(/\s+/g, " ").trim();
}

/** The task's text: an agent's prompt, else the commands one after the other. */
function taskText(task: Task): string {
  return "prompt" in task ? task.prompt : task.commands.join("\n");
}

/** A run's title: the one given, else the task's first non-blank line, bounded. */
export function runTitle(task: Task, given?: string): string {
  if (given !== undefined && oneLine(given) !== "") return bound(oneLine(given), TITLE_MAX_CHARS);
  const first = taskText(task).split(/\r?\n/).map(oneLine).find((line) => line !== "") ?? "";
  return bound(first, TITLE_MAX_CHARS);
}

/** The task on one line, bounded: agent prompts as written, commands joined with `; `. */
export function taskSummary(task: Task): string {
  const text = "prompt" in task ? oneLine(task.prompt) : task.commands.map(oneLine).join("; ");
  return bound(text, TASK_SUMMARY_MAX_CHARS);
}
