/**
 * SWE-bench-style instances to eval tasks (docs/evals.md), shared by POST /v1/evals (`sweBench`)
 * and the CLI (`forkyard eval tasks.jsonl --swe-bench-template t.json`). The task: the problem
 * statement as the prompt, the base commit as the runs' `commit`, the test patch as the hidden
 * patch, the template's test command on FAIL_TO_PASS and PASS_TO_PASS as the hidden check. Fields
 * the shapes (src/api/swe-bench.ts) do not name, the gold `patch` among them, are dropped.
 */
import type { EvalTask } from "../api/evals.ts";
import { sweBenchInstance, sweBenchTemplates, TESTS_PLACEHOLDER, type SweBenchImport, type SweBenchInstance, type SweBenchTemplate, type SweBenchTemplates } from "../api/swe-bench.ts";
import { InvalidInputError } from "../core/errors.ts";
import { shellWord } from "../runs/fetch-command.ts";

const MAX_TESTS = 10_000;
const MAX_TEST_NAME = 2_000;

/** Where an instance came from, for its errors: a JSONL line, or `sweBench.tasks.<i>` of a request. */
export interface Origin {
  /** The error's message for a field of the instance ("" for the instance as a whole). */
  message(field: string, problem: string): string;
  /** The error's `details`. */
  details(field: string): { field: string; line?: number };
}

function invalid(origin: Origin, field: string, problem: string): InvalidInputError {
  return new InvalidInputError(origin.message(field, problem), origin.details(field));
}

/** A JSONL line's origin: `tasks.jsonl line 7: FAIL_TO_PASS: …`, details `{ line, field }`. */
export function lineOrigin(file: string, line: number): Origin {
  return { message: (field, problem) => `${file} line ${line}: ${field ? `${field}: ` : ""}${problem}`, details: (field) => ({ line, field }) };
}

/** A request's instance: `sweBench.tasks.2.FAIL_TO_PASS: …`, details `{ field: "sweBench.tasks.2.FAIL_TO_PASS" }`. */
export function requestOrigin(i: number): Origin {
  const path = (field: string) => `sweBench.tasks.${i}${field ? `.${field}` : ""}`;
  return { message: (field, problem) => `${path(field)}: ${problem}`, details: (field) => ({ field: path(field) }) };
}

/** A test list as the dataset writes it (a JSON array in a string) or a real array; `min` names at least. */
function testList(value: string | string[], field: string, min: number, origin: Origin): string[] {
  let list: unknown = value;
  if (typeof value === "string") {
    try {
      list = JSON.parse(value);
    } catch {
      list = undefined;
    }
  }
  const names = Array.isArray(list) && list.every((n): n is string => typeof n === "string" && n.length > 0 && n.length <= MAX_TEST_NAME) ? list : undefined;
  if (!names) throw invalid(origin, field, `must be a list of test names (a JSON array of non-empty strings of at most ${MAX_TEST_NAME} characters, or a string holding one)`);
  if (names.length < min || names.length > MAX_TESTS) throw invalid(origin, field, `must name ${min}–${MAX_TESTS} tests`);
  return names;
}

/** The template's test command on the names (each once, in order), each one shell word. */
export function testCommand(template: Pick<SweBenchTemplate, "test">, names: readonly string[]): string {
  return template.test.replaceAll(TESTS_PLACEHOLDER, [...new Set(names)].map(shellWord).join(" "));
}

/** One instance and its repository's template as an eval task (the shape of POST /v1/evals's `tasks[]`). */
export function sweBenchTask(instance: SweBenchInstance, template: SweBenchTemplate, origin: Origin): EvalTask {
  const tests = [...testList(instance.FAIL_TO_PASS, "FAIL_TO_PASS", 1, origin), ...testList(instance.PASS_TO_PASS, "PASS_TO_PASS", 0, origin)];
  return {
    id: instance.instance_id,
    repo: template.url ?? `https://github.com/${instance.repo}.git`,
    ...(template.ref ? { ref: template.ref } : {}),
    commit: instance.base_commit,
    prompt: instance.problem_statement,
    ...(template.prepare ? { prepare: template.prepare } : {}),
    ...(template.check ? { check: template.check } : {}),
    hiddenCheck: testCommand(template, tests),
    hiddenPatch: instance.test_patch,
  };
}

/** Instances (validated) to tasks: ids unique, every repository with a template. */
export function sweBenchTasks(entries: { instance: SweBenchInstance; origin: Origin }[], templates: SweBenchTemplates, templatesName: string): EvalTask[] {
  const seen = new Set<string>();
  return entries.map(({ instance, origin }) => {
    if (seen.has(instance.instance_id)) throw invalid(origin, "instance_id", `${instance.instance_id} is given twice.`);
    seen.add(instance.instance_id);
    const template = Object.hasOwn(templates, instance.repo) ? templates[instance.repo] : undefined;
    if (!template) throw invalid(origin, "repo", `no template for ${instance.repo} in ${templatesName}.`);
    return sweBenchTask(instance, template, origin);
  });
}

/** POST /v1/evals's `sweBench` (already validated) as tasks. */
export function sweBenchRequestTasks(sweBench: SweBenchImport): EvalTask[] {
  return sweBenchTasks(sweBench.tasks.map((instance, i) => ({ instance, origin: requestOrigin(i) })), sweBench.templates, "sweBench.templates");
}

/** The first issue of a failed parse: its dotted field and message. */
function firstIssue(issues: readonly { path: PropertyKey[]; message: string; code: string; keys?: string[] }[]): { field: string; problem: string } {
  const issue = issues[0]!;
  const path = issue.path.map(String);
  if (issue.code === "unrecognized_keys" && issue.keys?.[0]) path.push(issue.keys[0]);
  return { field: path.join("."), problem: issue.message };
}

/** Parses JSONL (blank lines skipped): a bad line is an error naming its number and field. */
export function parseSweBenchJsonl(text: string, file = "JSONL"): { instance: SweBenchInstance; origin: Origin }[] {
  const out: { instance: SweBenchInstance; origin: Origin }[] = [];
  for (const [i, raw] of text.split("\n").entries()) {
    if (!raw.trim()) continue;
    const origin = lineOrigin(file, i + 1);
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      throw invalid(origin, "", `not a JSON object (${(err as Error).message}).`);
    }
    const parsed = sweBenchInstance.safeParse(value);
    if (!parsed.success) {
      const { field, problem } = firstIssue(parsed.error.issues);
      throw invalid(origin, field, problem);
    }
    out.push({ instance: parsed.data, origin });
  }
  if (out.length === 0) throw new InvalidInputError(`${file}: no instances.`, { field: "" });
  return out;
}

/** Parses the templates' JSON; an error names the repository and field (`t.json: astropy/astropy.test: …`). */
export function parseSweBenchTemplates(value: unknown, file = "templates"): SweBenchTemplates {
  const parsed = sweBenchTemplates.safeParse(value);
  if (parsed.success) return parsed.data;
  const { field, problem } = firstIssue(parsed.error.issues);
  throw new InvalidInputError(`${file}: ${field ? `${field}: ` : ""}${problem}`, { field });
}

/** JSONL text and the templates' JSON → eval tasks (the CLI's `--swe-bench-template`). */
export function sweBenchSuite(jsonl: string, templatesJson: unknown, files: { jsonl?: string; templates?: string } = {}): EvalTask[] {
  const templates = parseSweBenchTemplates(templatesJson, files.templates);
  return sweBenchTasks(parseSweBenchJsonl(jsonl, files.jsonl), templates, files.templates ?? "the templates");
}
