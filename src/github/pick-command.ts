/**
 * The `/pick` comment command:
 *
 *   /pick <k> [anything]
 *
 * "Take fork k": opens the pull request for fork k of the thread's latest run (src/github/pick-reply.ts).
 * It must start a line like every comment command (command-line.ts). k is a whole number from 1
 * to 100 (`#2` is read as 2); words after it are a note for the humans and are not read.
 */
import { findCommandLine } from "./command-line";
import { MAX_FORKS, MIN_FORKS } from "./fork-command";

export type PickCommandParse = { kind: "none" } | { kind: "error"; reason: string } | { kind: "command"; fork: number };

/** Finds and parses the `/pick` command of a comment body. */
export function parsePickCommand(body: string): PickCommandParse {
  const line = findCommandLine(body, ["pick"]);
  if (!line) return { kind: "none" };
  const word = line.rest.trim().split(/\s+/)[0] ?? "";
  if (word === "") return { kind: "error", reason: "/pick needs the number of the fork to take, e.g. /pick 2" };
  const fork = Number(word.replace(/^#/, ""));
  if (!/^#?\d+$/.test(word) || !Number.isSafeInteger(fork) || fork < MIN_FORKS || fork > MAX_FORKS) {
    return { kind: "error", reason: `the fork to pick must be a whole number from ${MIN_FORKS} to ${MAX_FORKS} (got "${word}")` };
  }
  return { kind: "command", fork };
}
