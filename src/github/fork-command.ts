/**
 * The `/fork` comment command:
 *
 *   /fork [N] [--flag value ...] <prompt ...>
 *
 * - It must start a line (up to 3 spaces of indentation, like a Markdown paragraph); lines inside
 *   fenced code blocks and quoted lines (`> /fork ...`) never count (command-line.ts).
 * - N (1-100) is optional and defaults to 1. Anything number-like outside 1-100 is refused, never
 *   silently clamped.
 * - Flags may appear anywhere on the command line; `--` ends them (`/fork 2 -- fix --verbose`).
 *   Values may be quoted with "double", 'single', “smart” or `backtick` quotes; double quotes
 *   take backslash escapes. Quotes inside prompt words are kept literally (so "don't" is fine).
 * - Unknown flags are ignored (and reported with a reason); a bad value of a known flag refuses
 *   the whole command: running with a budget other than the one asked for would be worse.
 * - The prompt is the rest of the command line, then any lines after it. An empty prompt means
 *   "the issue itself" (the caller uses the issue's title and body).
 */

import { findCommandLine } from "./command-line";

export type PullRequestPolicy = "none" | "each" | "best";

export interface ForkCommand {
  forks: number;
  prompt: string;
  model?: string;
  budgetUsd?: number;
  maxConcurrent?: number;
  maxTurns?: number;
  timeoutSeconds?: number;
  check?: string;
  pullRequests?: PullRequestPolicy;
  /** Flags that were not applied, each with why. */
  ignored: { flag: string; reason: string }[];
}

export type ForkCommandParse = { kind: "none" } | { kind: "error"; reason: string } | { kind: "command"; command: ForkCommand };

export const MIN_FORKS = 1;
export const MAX_FORKS = 100;

const NUMBER_LIKE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;
const QUOTES: Record<string, string[]> = { '"': ['"'], "'": ["'"], "\u201c": ["\u201d", "\u201c", '"'], "\u2018": ["\u2019", "\u2018", "'"], "`": ["`"] };

class CommandError extends Error {}

type Apply = (command: ForkCommand, value: string) => void;

function intIn(name: string, min: number, max: number, raw: string): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new CommandError(`--${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
  }
  return value;
}

function duration(raw: string): number {
  const match = /^(\d+)(s|m|h)?$/i.exec(raw);
  if (!match) throw new CommandError(`--timeout must be seconds, or a number with s, m or h (got "${raw}")`);
  const seconds = Number(match[1]) * ({ s: 1, m: 60, h: 3600 } as Record<string, number>)[(match[2] ?? "s").toLowerCase()]!;
  if (seconds < 10 || seconds > 86_400) throw new CommandError(`--timeout must be between 10 s and 24 h (got "${raw}")`);
  return seconds;
}

const FLAGS: Record<string, Apply> = {
  model: (c, v) => {
    if (!/^[A-Za-z0-9._-]{1,100}$/.test(v)) throw new CommandError(`--model must be a model name like opus, sonnet or a claude-... id (got "${v}")`);
    c.model = v;
  },
  budget: (c, v) => {
    const text = v.replace(/^\$/, "").replace(/\s*usd$/i, "");
    const usd = Number(text);
    if (text === "" || !Number.isFinite(usd) || usd <= 0 || usd > 100_000) throw new CommandError(`--budget must be a number of dollars above 0 (got "${v}")`);
    c.budgetUsd = usd;
  },
  "max-concurrent": (c, v) => {
    c.maxConcurrent = intIn("max-concurrent", 1, 50, v);
  },
  "max-turns": (c, v) => {
    c.maxTurns = intIn("max-turns", 1, 500, v);
  },
  timeout: (c, v) => {
    c.timeoutSeconds = duration(v);
  },
  check: (c, v) => {
    if (v.trim() === "" || v.length > 20_000) throw new CommandError("--check must be a non-empty command");
    c.check = v;
  },
  prs: (c, v) => {
    const policy = v.toLowerCase();
    if (policy !== "none" && policy !== "each" && policy !== "best") throw new CommandError(`--prs must be none, each or best (got "${v}")`);
    c.pullRequests = policy;
  },
  forks: (c, v) => {
    c.forks = forksValue(v);
  },
};
const ALIASES: Record<string, string> = {
  concurrency: "max-concurrent",
  maxconcurrent: "max-concurrent",
  parallel: "max-concurrent",
  turns: "max-turns",
  maxturns: "max-turns",
  "pull-requests": "prs",
  pr: "prs",
  n: "forks",
  "budget-usd": "budget",
};

function forksValue(raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < MIN_FORKS || value > MAX_FORKS) {
    throw new CommandError(`N (the number of forks) must be a whole number from ${MIN_FORKS} to ${MAX_FORKS} (got "${raw}")`);
  }
  return value;
}

/** Reads one shell-like word at `start` (quoted segments concatenate); returns the value and the end. */
function readValue(s: string, start: number, flag: string): { value: string; end: number } {
  let i = start;
  let value = "";
  while (i < s.length && !/\s/.test(s[i]!)) {
    const ch = s[i]!;
    const closers = QUOTES[ch];
    if (!closers) {
      value += ch;
      i++;
      continue;
    }
    i++;
    let closed = false;
    while (i < s.length) {
      const c = s[i]!;
      if (ch === '"' || ch === "\u201c") {
        if (c === "\\" && i + 1 < s.length) {
          value += s[i + 1];
          i += 2;
          continue;
        }
      }
      if (closers.includes(c)) {
        closed = true;
        i++;
        break;
      }
      value += c;
      i++;
    }
    if (!closed) throw new CommandError(`unterminated quote in the value of ${flag}`);
  }
  return { value, end: i };
}

function stripEnclosingQuotes(prompt: string): string {
  for (const [open, closers] of Object.entries(QUOTES)) {
    if (prompt.length >= 2 && prompt.startsWith(open)) {
      const close = prompt[prompt.length - 1]!;
      const inner = prompt.slice(1, -1);
      if (closers.includes(close) && !inner.includes(open) && !closers.some((c) => inner.includes(c))) return inner;
    }
  }
  return prompt;
}

function parseCommandLine(rest: string, following: string): ForkCommand {
  const command: ForkCommand = { forks: 1, prompt: "", ignored: [] };
  const words: string[] = [];
  let optionsEnded = false;
  let i = 0;
  const s = rest;
  while (i < s.length) {
    if (/\s/.test(s[i]!)) {
      i++;
      continue;
    }
    if (!optionsEnded && s.startsWith("--", i)) {
      if (i + 2 === s.length || /\s/.test(s[i + 2]!)) {
        optionsEnded = true;
        i += 2;
        continue;
      }
      const match = /^--([A-Za-z][A-Za-z0-9_-]*)(=?)/.exec(s.slice(i));
      if (match) {
        const written = `--${match[1]!}`;
        const normalised = match[1]!.toLowerCase().replace(/_/g, "-");
        const name = ALIASES[normalised] ?? normalised;
        const apply = FLAGS[name];
        i += match[0].length;
        let value: string | undefined;
        if (match[2] === "=") {
          ({ value, end: i } = readValue(s, i, written));
        } else if (apply) {
          while (i < s.length && /\s/.test(s[i]!)) i++;
          if (i >= s.length || (s.startsWith("--", i) && /^--[A-Za-z]/.test(s.slice(i)))) throw new CommandError(`${written} needs a value`);
          ({ value, end: i } = readValue(s, i, written));
        }
        if (!apply) {
          command.ignored.push({ flag: written, reason: `unknown flag (known: ${Object.keys(FLAGS).map((f) => `--${f}`).join(", ")})` });
          continue;
        }
        apply(command, value ?? "");
        continue;
      }
    }
    const start = i;
    while (i < s.length && !/\s/.test(s[i]!)) i++;
    const word = s.slice(start, i);
    if (words.length === 0 && !optionsEnded && NUMBER_LIKE.test(word)) {
      command.forks = forksValue(word);
      continue;
    }
    words.push(word);
  }
  const inline = stripEnclosingQuotes(words.join(" ").trim());
  command.prompt = [inline, following.trim()].filter((part) => part !== "").join("\n\n");
  return command;
}

/** Finds and parses the `/fork` command of a comment body (its line: command-line.ts). */
export function parseForkCommand(body: string): ForkCommandParse {
  const line = findCommandLine(body, ["fork"]);
  if (!line) return { kind: "none" };
  try {
    return { kind: "command", command: parseCommandLine(line.rest, line.following) };
  } catch (err) {
    if (err instanceof CommandError) return { kind: "error", reason: err.message };
    throw err;
  }
}
