/**
 * The comment commands about fork k of the thread's latest run:
 *
 *   /pick <k> [anything]        take fork k: opens its pull request (src/webhooks/pick-reply.ts);
 *                               words after k are a note for the humans and are not read
 *   /refork <k> [prompt ...]    branch fork k: one new fork from its workspace and conversation
 *                               (src/webhooks/refork-reply.ts), continuing with the prompt (the rest
 *                               of the line and the lines after it) or, without one, its task
 *
 * Each must start a line like every comment command (command-line.ts). k is a whole number from 1
 * to 100 (`#2` is read as 2).
 */
import { findCommandLine } from "./command-line";
import { MAX_FORKS, MIN_FORKS } from "./fork-command";

export type PickCommandParse = { kind: "none" } | { kind: "error"; reason: string } | { kind: "command"; fork: number };
export type ReforkCommandParse = { kind: "none" } | { kind: "error"; reason: string } | { kind: "command"; fork: number; prompt?: string };

/** Finds and parses the `/pick` command of a comment body. */
export function parsePickCommand(body: string): PickCommandParse {
  const line = findCommandLine(body, ["pick"]);
  if (!line) return { kind: "none" };
  return forkNumber(line.rest.trim().split(/\s+/)[0] ?? "", "pick", "take");
}

/** Finds and parses the `/refork` command of a comment body. */
export function parseReforkCommand(body: string): ReforkCommandParse {
  const line = findCommandLine(body, ["refork"]);
  if (!line) return { kind: "none" };
  const [, word = "", inline = ""] = /^\s*(\S*)\s*(.*)$/.exec(line.rest) ?? [];
  const parsed = forkNumber(word, "refork", "branch");
  if (parsed.kind !== "command") return parsed;
  const prompt = [inline.trim(), line.following.trim()].filter((part) => part !== "").join("\n\n");
  return prompt ? { ...parsed, prompt } : parsed;
}

function forkNumber(word: string, command: string, verb: string): { kind: "error"; reason: string } | { kind: "command"; fork: number } {
  if (word === "") return { kind: "error", reason: `/${command} needs the number of the fork to ${verb}, e.g. /${command} 2` };
  const fork = Number(word.replace(/^#/, ""));
  if (!/^#?\d+$/.test(word) || !Number.isSafeInteger(fork) || fork < MIN_FORKS || fork > MAX_FORKS) {
    return { kind: "error", reason: `the fork to ${verb} must be a whole number from ${MIN_FORKS} to ${MAX_FORKS} (got "${word}")` };
  }
  return { kind: "command", fork };
}
