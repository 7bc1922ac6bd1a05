/**
 * SWE-bench-style JSONL to eval tasks (docs/evals.md), shared by the CLI (`forkyard eval
 * tasks.jsonl --swe-bench-template t.json`) and anything else that imports a suite. A line is an
 * instance (`instance_id, repo, base_commit, problem_statement, test_patch, FAIL_TO_PASS,
 * PASS_TO_PASS`; other fields, the gold `patch` among them, are ignored); the JSONL carries neither
 * how to set a repository up nor how to run its tests, so a template per repository does. The task:
 * the problem statement as the prompt, the base commit as the run's `commit`, the test patch as the
 * hidden patch, the template's test command on the listed tests as the hidden check.
 */
import { z } from "zod";
import type { EvalTask } from "../api/evals.ts";
import { gitCommit, gitRefName } from "../api/runs.ts";
import { InvalidInputError } from "../core/errors.ts";
import { shellWord } from "../runs/fetch-command.ts";

/** Where the template's test command takes the test names (each shell-quoted, space-separated). */
export const TESTS_PLACEHOLDER = "{tests}";

const commands = z.array(z.string().min(1).max(20_000)).min(1).max(50);

/** How to set up one repository and run its tests. */
export const sweBenchTemplate = z.strictObject({
  /** Where sandboxes clone it from. Default: `https://github.com/<repo>.git`. */
  url: z.string().min(1).max(2048).optional(),
  /** The branch its base commits are on. Default: the repository's default branch. */
  ref: gitRefName.optional(),
  /** Run before the agent and again before the hidden check (install, build). */
  prepare: commands.optional(),
  /** A visible check (the run's `check`, what ranks the forks). */
  check: z.string().min(1).max(20_000).optional(),
  /** Runs the listed tests; exit 0 when every one passed. */
  test: z.string().min(1).max(20_000).refine((t) => t.includes(TESTS_PLACEHOLDER), `must contain the ${TESTS_PLACEHOLDER} placeholder`),
});

/** The template file: repository (as the JSONL's `repo`, e.g. `astropy/astropy`) → template. */
export const sweBenchTemplates = z.record(z.string().min(1).max(200), sweBenchTemplate);

export type SweBenchTemplate = z.output<typeof sweBenchTemplate>;
export type SweBenchTemplates = z.output<typeof sweBenchTemplates>;

/** A list of test names: an array, or (as in the published dataset) a string holding a JSON array. */
function testNames(min: number) {
  const list = z.array(z.string().min(1).max(2_000), { error: "must be a list of test names (a JSON array of strings, or a string holding one)" }).min(min).max(10_000);
  return z.preprocess((value) => {
    if (typeof value !== "string") return value;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  }, list);
}

/** One JSONL line (unknown fields ignored: the dataset has more, the gold patch among them). */
export const sweBenchInstance = z.object({
  instance_id: z.string().min(1).max(100).regex(/^[A-Za-z0-9._-]+$/, "may contain only letters, digits and . _ -"),
  repo: z.string().min(1).max(200),
  base_commit: gitCommit,
  problem_statement: z.string().min(1).max(100_000),
  test_patch: z.string().min(1).max(500_000),
  FAIL_TO_PASS: testNames(1),
  PASS_TO_PASS: testNames(0),
});

export type SweBenchInstance = z.output<typeof sweBenchInstance>;

/** The first issue of a failed parse as `field: message` and the field's path. */
function firstIssue(error: z.ZodError): { field: string; message: string } {
  const issue = error.issues[0]!;
  const field = issue.path.map(String).join(".");
  return { field, message: field ? `${field}: ${issue.message}` : issue.message };
}

/** Parses the JSONL (blank lines skipped). A bad line is a 400-style error naming its number and field. */
export function parseSweBenchJsonl(text: string, file = "JSONL"): { line: number; instance: SweBenchInstance }[] {
  const out: { line: number; instance: SweBenchInstance }[] = [];
  const seen = new Map<string, number>();
  for (const [i, raw] of text.split("\n").entries()) {
    const line = i + 1;
    if (!raw.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      throw new InvalidInputError(`${file} line ${line}: not a JSON object (${(err as Error).message}).`, { line, field: "" });
    }
    const parsed = sweBenchInstance.safeParse(value);
    if (!parsed.success) {
      const { field, message } = firstIssue(parsed.error);
      throw new InvalidInputError(`${file} line ${line}: ${message}`, { line, field });
    }
    const first = seen.get(parsed.data.instance_id);
    if (first !== undefined) throw new InvalidInputError(`${file} line ${line}: instance_id: ${parsed.data.instance_id} is on line ${first} too.`, { line, field: "instance_id" });
    seen.set(parsed.data.instance_id, line);
    out.push({ line, instance: parsed.data });
  }
  if (out.length === 0) throw new InvalidInputError(`${file}: no instances.`, { field: "" });
  return out;
}

/** Parses the template file's JSON; an error names the repository and field (`astropy/astropy.test`). */
export function parseSweBenchTemplates(value: unknown, file = "template"): SweBenchTemplates {
  const parsed = sweBenchTemplates.safeParse(value);
  if (parsed.success) return parsed.data;
  const { field, message } = firstIssue(parsed.error);
  throw new InvalidInputError(`${file}: ${message}`, { field });
}

/** The template's test command on the names (FAIL_TO_PASS then PASS_TO_PASS, each once), each one shell word. */
export function testCommand(template: SweBenchTemplate, names: readonly string[]): string {
  const words = [...new Set(names)].map(shellWord).join(" ");
  return template.test.replaceAll(TESTS_PLACEHOLDER, words);
}

/** One instance as an eval task (the shape of POST /v1/evals's `tasks[]`). */
export function sweBenchTask(instance: SweBenchInstance, template: SweBenchTemplate): EvalTask {
  return {
    id: instance.instance_id,
    repo: template.url ?? `https://github.com/${instance.repo}.git`,
    ...(template.ref ? { ref: template.ref } : {}),
    commit: instance.base_commit,
    prompt: instance.problem_statement,
    ...(template.prepare ? { prepare: template.prepare } : {}),
    ...(template.check ? { check: template.check } : {}),
    hiddenCheck: testCommand(template, [...instance.FAIL_TO_PASS, ...instance.PASS_TO_PASS]),
    hiddenPatch: instance.test_patch,
  };
}

/** JSONL text and the templates' JSON → eval tasks. A repository without a template is an error naming its line. */
export function sweBenchSuite(jsonl: string, templatesJson: unknown, files: { jsonl?: string; templates?: string } = {}): EvalTask[] {
  const templates = parseSweBenchTemplates(templatesJson, files.templates);
  return parseSweBenchJsonl(jsonl, files.jsonl).map(({ line, instance }) => {
    const template = templates[instance.repo];
    if (!template) throw new InvalidInputError(`${files.jsonl ?? "JSONL"} line ${line}: repo: no template for ${instance.repo} in ${files.templates ?? "the templates"}.`, { line, field: "repo" });
    return sweBenchTask(instance, template);
  });
}
