/**
 * A bundled SWE-bench-style task (src/evals/swe-bench.ts) on the `calc` repository that
 * eval-repos.ts creates: at its base commit `add` subtracts; the test patch adds the failing test
 * of `add` (FAIL_TO_PASS) beside the passing one of `sub` (PASS_TO_PASS). The JSONL line is as the
 * published dataset writes one (test lists JSON-encoded strings, a gold patch that is never used).
 */

/** Adds tests/test_add.sh (no index line: `git apply` needs none for a new text file). */
export const CALC_TEST_PATCH = [
  "diff --git a/tests/test_add.sh b/tests/test_add.sh",
  "new file mode 100644",
  "--- /dev/null",
  "+++ b/tests/test_add.sh",
  "@@ -0,0 +1,2 @@",
  "+. ./calc.sh",
  '+test "$(add 2 3)" = 5',
  "",
].join("\n");

export const CALC_PROBLEM = "In calc.sh, `add 2 3` prints -1 instead of 5: add must add its two arguments.";

/** The task's JSONL (one line) at `baseCommit`. */
export function calcJsonl(baseCommit: string): string {
  const instance = {
    instance_id: "local__calc-1",
    repo: "local/calc",
    base_commit: baseCommit,
    problem_statement: CALC_PROBLEM,
    test_patch: CALC_TEST_PATCH,
    patch: "diff --git a/calc.sh b/calc.sh (the gold patch: never used)",
    FAIL_TO_PASS: JSON.stringify(["test_add"]),
    PASS_TO_PASS: JSON.stringify(["test_sub"]),
  };
  return `${JSON.stringify(instance)}\n`;
}

/** The template: the repository where sandboxes can clone it, and how to run the listed tests. */
export function calcTemplates(suiteRoot: string) {
  return { "local/calc": { url: `${suiteRoot}/calc`, test: "sh tests/run.sh {tests}" } };
}
