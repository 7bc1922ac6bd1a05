/** `forkyard eval`: suite file + flags → POST /v1/evals, progress until the eval ends, the figures table. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildEvalBody, parseConfigFlag } from "../../cli/commands/eval.ts";
import type { Io } from "../../cli/io.ts";
import { main } from "../../cli/main.ts";
import { stripAnsi } from "../../cli/render/text.ts";
import type { EvalResults, EvalView } from "../../cli/types.ts";

/** Temporary folders of the tests, removed at the end. */
const made: string[] = [];
const scratch = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

const TASK = { id: "answer", repo: "/suite/answer", prompt: "Write 42", hiddenCheck: "test -s answer.txt" };
const interval = (value: number | null, low: number | null = null, high: number | null = null, n = 2) => ({ value, low, high, n });

function evalView(status: EvalView["status"], done: number): EvalView {
  return {
    id: "eaaaaaaaaaaaaaaaaaaaa",
    name: "suite",
    status,
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-01T00:00:00.000Z",
    maxConcurrent: 2,
    budgetUsd: null,
    spentUsd: 0.5,
    configs: [{ name: "n2", model: "sonnet", forks: 2 }],
    tasks: [{ id: "answer", repo: "/suite/answer" }, { id: "greet", repo: "/suite/greet" }],
    progress: { runs: 2, queued: 0, running: 2 - done, checking: 0, done, failed: 0, skipped: 0 },
    links: { self: "", results: "", csv: "" },
  };
}

const RESULTS: EvalResults = {
  id: "eaaaaaaaaaaaaaaaaaaaa",
  status: "completed",
  tasks: [],
  hiddenCheckCostUsd: 0.01,
  configs: [
    {
      config: "n2", model: "sonnet", forks: 2, tasks: 2, attempts: 4, solved: 1,
      passAt1: interval(0.5, 0.0945, 0.9055), oraclePassAtN: interval(1, 0.3424, 1), selectedPass: interval(0.5, 0.0945, 0.9055), selectorAccuracy: interval(0.5, 0.0945, 0.9055),
      judgeAuc: interval(null), costPerTaskUsd: interval(0.25), timePerTaskMs: interval(1000), costPerSolvedTaskUsd: 0.5, timePerSolvedTaskMs: 2000,
    },
  ],
};

describe("forkyard eval", () => {
  it("reads a JSON suite or JSONL tasks; --config adds name:model:N configs; flags override the file", () => {
    expect(parseConfigFlag("n4:claude-sonnet-4-5:4")).toEqual({ name: "n4", model: "claude-sonnet-4-5", forks: 4 });
    expect(() => parseConfigFlag("n4:sonnet")).toThrow(/name:model:N/);
    const jsonl = `${JSON.stringify(TASK)}\n${JSON.stringify({ ...TASK, id: "b" })}\n`;
    expect(buildEvalBody(jsonl, "suite.jsonl", { config: ["n1:sonnet:1"], budget: 5 })).toEqual({ name: "suite.jsonl", tasks: [TASK, { ...TASK, id: "b" }], configs: [{ name: "n1", model: "sonnet", forks: 1 }], budgetUsd: 5 });
    const file = JSON.stringify({ name: "mine", tasks: [TASK], configs: [{ name: "a", model: "haiku", forks: 2 }], maxConcurrent: 3 }, null, 2);
    expect(buildEvalBody(file, "s.json", { config: ["b:sonnet:4"], maxConcurrent: 1 })).toMatchObject({ name: "mine", configs: [{ name: "a" }, { name: "b", forks: 4 }], maxConcurrent: 1 });
  });

  it("starts the eval, shows progress until it ends, prints the figures per config; exit 0 when completed", async () => {
    const dir = scratch("forkyard-eval-");
    writeFileSync(join(dir, "suite.jsonl"), `${JSON.stringify(TASK)}\n`);
    const posted: unknown[] = [];
    let polls = 0;
    const stdout: string[] = [];
    const io: Io = {
      stdout: { write: (s: string) => stdout.push(s), columns: 160, rows: 40 },
      stderr: { write: () => true },
      env: { FORKYARD_EVAL_POLL_MS: "10" },
      cwd: dir,
      fetch: (async (input: string | URL | Request, init?: RequestInit) => {
        const url = String(input);
        const body = (value: unknown, status = 200) => new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json" } });
        if (init?.method === "POST") {
          posted.push(JSON.parse(String(init.body)));
          return body(evalView("running", 0), 202);
        }
        if (url.endsWith("/results")) return body(RESULTS);
        polls++;
        return body(polls < 2 ? evalView("running", 1) : evalView("completed", 2));
      }) as typeof fetch,
      readLines: async function* () {},
      onInterrupt: () => () => undefined,
    };
    const code = await main(["node", "forkyard", "eval", "suite.jsonl", "-c", "n2:sonnet:2", "--budget", "3"], io);
    const text = stripAnsi(stdout.join(""));
    expect(posted).toEqual([{ name: "suite.jsonl", tasks: [TASK], configs: [{ name: "n2", model: "sonnet", forks: 2 }], budgetUsd: 3 }]);
    expect(text).toContain("1/2 runs done");
    expect(text).toMatch(/n2\s+sonnet\s+2\s+1\/2\s+50% \[9–91\]\s+100% \[34–100\]\s+50% \[9–91\]\s+50% \[9–91\]\s+-\s+\$0\.50/);
    expect(code).toBe(0);
  });

  it("--swe-bench-template: SWE-bench-style JSONL becomes tasks (base commit, test patch hidden); a bad line is a usage error naming its line and field", async () => {
    const dir = scratch("forkyard-swe-");
    const base = "b".repeat(40);
    const line = { instance_id: "acme__w-1", repo: "acme/w", base_commit: base, problem_statement: "Fix it", test_patch: "diff --git a/t b/t\n", FAIL_TO_PASS: '["t1"]', PASS_TO_PASS: "[]" };
    writeFileSync(join(dir, "swe.jsonl"), `${JSON.stringify(line)}\n${JSON.stringify({ ...line, instance_id: "acme__w-2", FAIL_TO_PASS: 5 })}\n`);
    writeFileSync(join(dir, "good.jsonl"), `${JSON.stringify(line)}\n`);
    writeFileSync(join(dir, "t.json"), JSON.stringify({ "acme/w": { test: "pytest {tests}" } }));
    const posted: unknown[] = [];
    const stderr: string[] = [];
    const io: Io = {
      stdout: { write: () => true, columns: 160, rows: 40 },
      stderr: { write: (s: string) => stderr.push(s) },
      env: {},
      cwd: dir,
      fetch: (async (_input: string | URL | Request, init?: RequestInit) => {
        posted.push(JSON.parse(String(init?.body)));
        return new Response(JSON.stringify(evalView("running", 0)), { status: 202, headers: { "content-type": "application/json" } });
      }) as typeof fetch,
      readLines: async function* () {},
      onInterrupt: () => () => undefined,
    };
    const run = (suite: string) => main(["node", "forkyard", "eval", suite, "--swe-bench-template", "t.json", "-c", "n1:sonnet:1", "--no-wait"], io);
    expect(await run("good.jsonl")).toBe(0);
    expect(posted).toEqual([{
      name: "good.jsonl",
      tasks: [{ id: "acme__w-1", repo: "https://github.com/acme/w.git", commit: base, prompt: "Fix it", hiddenCheck: "pytest t1", hiddenPatch: "diff --git a/t b/t\n" }],
      configs: [{ name: "n1", model: "sonnet", forks: 1 }],
    }]);
    expect(await run("swe.jsonl")).toBe(2);
    expect(stripAnsi(stderr.join(""))).toContain("swe.jsonl line 2: FAIL_TO_PASS: must be a list of test names");
    expect(posted).toHaveLength(1);
  });
});
