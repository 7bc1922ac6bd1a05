import { describe, expect, it } from "vitest";
import { evalTask } from "../../src/api/evals";
import { InvalidInputError } from "../../src/core/errors";
import { evalRunBody } from "../../src/evals/plan";
import { parseSweBenchJsonl, sweBenchRequestTasks, sweBenchSuite, testCommand } from "../../src/evals/swe-bench";

const BASE = "a".repeat(40);
const PATCH = "diff --git a/t.py b/t.py\n--- /dev/null\n+++ b/t.py\n@@ -0,0 +1 @@\n+def test_x(): assert 0\n";
/** A line as the published dataset has it: the test lists JSON-encoded, more fields than we read. */
const INSTANCE = {
  instance_id: "acme__widgets-12",
  repo: "acme/widgets",
  base_commit: BASE,
  problem_statement: "Widgets break on empty input.",
  test_patch: PATCH,
  patch: "the gold patch, never used",
  hints_text: "",
  FAIL_TO_PASS: JSON.stringify(["tests/test_w.py::test_empty[a b]"]),
  PASS_TO_PASS: JSON.stringify(["tests/test_w.py::test_one", "tests/test_w.py::test_it's"]),
};
const TEMPLATES = { "acme/widgets": { prepare: ["pip install -e ."], test: "python -m pytest -q {tests}" } };
const jsonl = (...rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join("\n") + "\n";

/** The error a call throws: its message and details. */
function failure(fn: () => unknown): { message: string; details: unknown } {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInputError);
    return { message: (err as Error).message, details: (err as InvalidInputError).details };
  }
  throw new Error("expected an error");
}

describe("SWE-bench import", () => {
  it("an instance becomes a task: its base commit, the template's setup, the listed tests shell-quoted as the hidden check, the test patch hidden", () => {
    const [task] = sweBenchSuite(jsonl(INSTANCE), TEMPLATES);
    expect(task).toEqual({
      id: "acme__widgets-12",
      repo: "https://github.com/acme/widgets.git",
      commit: BASE,
      prompt: "Widgets break on empty input.",
      prepare: ["pip install -e ."],
      hiddenCheck: `python -m pytest -q 'tests/test_w.py::test_empty[a b]' tests/test_w.py::test_one 'tests/test_w.py::test_it'\\''s'`,
      hiddenPatch: PATCH,
    });
    // What POST /v1/evals accepts, and the run it makes carries neither the tests nor the patch.
    expect(evalTask.safeParse(task).success).toBe(true);
    const body = JSON.stringify(evalRunBody("eabc", task!, { name: "n1", model: "sonnet", forks: 1 }, null));
    expect(body).toContain(BASE);
    expect(body).not.toContain("test_empty");
    expect(body).not.toContain("assert 0");
  });

  it("test lists as real arrays too; a template's url, ref and visible check; each test once", () => {
    const row = { ...INSTANCE, FAIL_TO_PASS: ["a", "b"], PASS_TO_PASS: ["b"] };
    const [task] = sweBenchSuite(jsonl(row), { "acme/widgets": { url: "/repos/widgets", ref: "dev", check: "make lint", test: "sh run.sh {tests} && echo {tests}" } });
    expect(task).toMatchObject({ repo: "/repos/widgets", ref: "dev", check: "make lint", hiddenCheck: "sh run.sh a b && echo a b" });
    expect(task).not.toHaveProperty("prepare");
    expect(testCommand({ test: "t {tests}" }, ["$(reboot)", "`x`", "a;b"])).toBe("t '$(reboot)' '`x`' 'a;b'");
  });

  it("a bad line is an error naming its line and field", () => {
    const cases: [string, string, string][] = [
      [jsonl(INSTANCE) + "{nope\n", "line 2: not a JSON object", ""],
      [jsonl({ ...INSTANCE, FAIL_TO_PASS: "[not json" }), "line 1: FAIL_TO_PASS: must be a list of test names", "FAIL_TO_PASS"],
      [jsonl({ ...INSTANCE, FAIL_TO_PASS: "[]" }), "line 1: FAIL_TO_PASS:", "FAIL_TO_PASS"],
      [jsonl({ ...INSTANCE, PASS_TO_PASS: [1] }), "line 1: PASS_TO_PASS: must be a list of test names", "PASS_TO_PASS"],
      [jsonl({ ...INSTANCE, PASS_TO_PASS: '["a", ""]' }), "line 1: PASS_TO_PASS: must be a list of test names", "PASS_TO_PASS"],
      [jsonl({ ...INSTANCE, base_commit: "abc1234" }), "line 1: base_commit: must be a full commit SHA", "base_commit"],
      [jsonl({ ...INSTANCE, test_patch: undefined }), "line 1: test_patch:", "test_patch"],
      [jsonl({ ...INSTANCE, instance_id: "a b" }), "line 1: instance_id:", "instance_id"],
      [`\n${jsonl(INSTANCE)}${jsonl(INSTANCE)}`, "line 3: instance_id: acme__widgets-12 is given twice", "instance_id"],
    ];
    for (const [text, message, field] of cases) {
      const { message: got, details } = failure(() => sweBenchSuite(text, TEMPLATES, { jsonl: "tasks.jsonl" }));
      expect(got).toContain(`tasks.jsonl ${message}`);
      expect(details).toMatchObject({ field });
    }
    expect(failure(() => parseSweBenchJsonl("\n \n")).message).toContain("no instances");
    expect(failure(() => parseSweBenchJsonl("{}\n", "t.jsonl")).details).toMatchObject({ line: 1, field: "instance_id" });
  });

  it("a template missing or malformed is an error naming the repository (and line)", () => {
    const other = { ...INSTANCE, instance_id: "b-1", repo: "acme/other" };
    const missing = failure(() => sweBenchSuite(jsonl(INSTANCE, other), TEMPLATES, { jsonl: "tasks.jsonl", templates: "t.json" }));
    expect(missing.message).toBe("tasks.jsonl line 2: repo: no template for acme/other in t.json.");
    expect(missing.details).toMatchObject({ line: 2, field: "repo" });
    const noPlaceholder = failure(() => sweBenchSuite(jsonl(INSTANCE), { "acme/widgets": { test: "pytest" } }, { templates: "t.json" }));
    expect(noPlaceholder.message).toBe("t.json: acme/widgets.test: must contain the {tests} placeholder");
    expect(failure(() => sweBenchSuite(jsonl(INSTANCE), { "acme/widgets": { test: "x {tests}", setup: [] } })).details).toMatchObject({ field: "acme/widgets.setup" });
    // The same instances in a request body (POST /v1/evals's sweBench): errors name the body's field.
    const request = failure(() => sweBenchRequestTasks({ tasks: [INSTANCE, { ...other, FAIL_TO_PASS: "[]" }], templates: { ...TEMPLATES, "acme/other": TEMPLATES["acme/widgets"] } }));
    expect(request).toEqual({ message: "sweBench.tasks.1.FAIL_TO_PASS: must name 1–10000 tests", details: { field: "sweBench.tasks.1.FAIL_TO_PASS" } });
    expect(failure(() => sweBenchRequestTasks({ tasks: [other], templates: TEMPLATES })).details).toEqual({ field: "sweBench.tasks.0.repo" });
  });
});
