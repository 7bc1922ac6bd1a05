/**
 * The shapes of a SWE-bench-style suite (docs/evals.md): one instance per JSONL line, and the
 * per-repository templates that say what the JSONL does not (how to set a repository up, how to run
 * its tests). src/evals/swe-bench.ts turns them into eval tasks.
 */
import { z } from "zod";
import { gitCommit, gitRefName } from "./runs.ts";

/** Where the template's test command takes the test names (each shell-quoted, space-separated). */
export const TESTS_PLACEHOLDER = "{tests}";

/** How to set up one repository and run its tests. */
export const sweBenchTemplate = z.strictObject({
  url: z.string().min(1).max(2048).optional().describe("where sandboxes clone it from (default: https://github.com/<repo>.git)"),
  ref: gitRefName.optional().describe("the branch its base commits are on (default: the repository's default branch)"),
  prepare: z.array(z.string().min(1).max(20_000)).min(1).max(50).optional().describe("run before the agent and again before the hidden check (install, build)"),
  check: z.string().min(1).max(20_000).optional().describe("a visible check (the runs' `check`, what ranks the forks)"),
  test: z
    .string()
    .min(1)
    .max(20_000)
    .refine((t) => t.includes(TESTS_PLACEHOLDER), `must contain the ${TESTS_PLACEHOLDER} placeholder`)
    .describe("runs the listed tests, exit 0 when every one passed: `{tests}` becomes FAIL_TO_PASS then PASS_TO_PASS, each name one shell word"),
});

/** Repository (as the instances' `repo`, e.g. `astropy/astropy`) → template. */
export const sweBenchTemplates = z.record(z.string().min(1).max(200), sweBenchTemplate);

/** A list of test names: an array, or (as in the published dataset) a string holding a JSON array of them. */
const testNames = z.union([z.array(z.string()), z.string()], { error: "must be a list of test names (a JSON array of strings, or a string holding one)" }).describe("test names: an array, or a string holding a JSON array (as the published dataset has them)");

/** One instance (unknown fields ignored: the dataset has more, the gold patch among them). */
export const sweBenchInstance = z.object({
  instance_id: z.string().min(1).max(100).regex(/^[A-Za-z0-9._-]+$/, "may contain only letters, digits and . _ -"),
  repo: z.string().min(1).max(200),
  base_commit: gitCommit,
  problem_statement: z.string().min(1).max(100_000),
  test_patch: z.string().min(1).max(500_000),
  FAIL_TO_PASS: testNames,
  PASS_TO_PASS: testNames,
});

/** POST /v1/evals's `sweBench`, in place of `tasks`. */
export const sweBenchImport = z.strictObject({
  tasks: z.array(sweBenchInstance).min(1).max(200).describe("the instances, as the JSONL's lines (each task's `id` is its instance_id)"),
  templates: sweBenchTemplates.describe("repository → how to set it up and run its tests"),
});

export type SweBenchTemplate = z.output<typeof sweBenchTemplate>;
export type SweBenchTemplates = z.output<typeof sweBenchTemplates>;
export type SweBenchInstance = z.output<typeof sweBenchInstance>;
export type SweBenchImport = z.output<typeof sweBenchImport>;
