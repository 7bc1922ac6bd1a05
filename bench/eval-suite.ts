/**
 * Bench section `eval`: an eval of the bundled suite (test/support/eval-suite.ts, four tasks) with
 * N = 1 against N = 4, a scripted model whose answers are fixed per task and fork (so the figures
 * measure the plumbing: what an eval costs and takes end to end, hidden checks included, not a model).
 */
import type { EvalResults, EvalView } from "../src/api/evals.ts";
import type { MessagesRequest, ScriptedReply, ScriptTurn } from "../test/support/anthropic-server.ts";
import { bundledEvalTasks, BUNDLED_TASKS } from "../test/support/eval-suite.ts";

/** Per task: the right and a wrong answer, and which forks give the right one (the rest the wrong one). */
const ANSWERS: Record<string, { right: string; wrong: string; rightForks: string }> = {
  answer: { right: "echo 42 > answer.txt", wrong: "echo 41 > answer.txt", rightForks: "1 2 3 4" },
  greet: { right: `printf 'echo "Hello, $1!"\\n' > greet.sh`, wrong: `printf 'echo "Hello, $1"\\n' > greet.sh`, rightForks: "2 3 4" },
  sum: { right: `printf 's=0; for a in "$@"; do s=$((s+a)); done; echo $s\\n' > sum.sh`, wrong: "echo 'echo 6' > sum.sh", rightForks: "3" },
  upper: { right: `printf 'echo "$1" | tr a-z A-Z\\n' > upper.sh`, wrong: "echo 'echo ABC' > upper.sh", rightForks: "" },
};

/** A fork's one bash call for its task: the right answer on the listed forks, else the wrong one (also `npm run screenshot`'s eval). */
export function solve(request: MessagesRequest): ScriptedReply {
  const text = JSON.stringify(request.messages);
  if (text.includes("tool_use_id")) return { content: [{ type: "text", text: "Done." }] };
  const task = BUNDLED_TASKS.find((t) => text.includes(t.prompt.slice(0, 40)));
  const a = task ? ANSWERS[task.id] : undefined;
  if (!a) return { content: [{ type: "text", text: "Unknown task." }] };
  return { content: [{ type: "tool_use", name: "bash", input: { command: `case " ${a.rightForks} " in *" $FORKYARD_FORK "*) ${a.right} ;; *) ${a.wrong} ;; esac` } }] };
}

export interface EvalBenchInput {
  baseUrl: string;
  token: string;
  /** Where the suite's repositories are (created by test/support/eval-repos.ts). */
  suiteRoot: string;
  setScript(turns: ScriptTurn[]): void;
  check(ok: boolean, problem: string): void;
  /** A smoke run: two tasks, N=1 vs N=2. */
  smoke: boolean;
}

/** Runs the eval and returns the table's rows: per config, its figures, cost and time. */
export async function evalBench(input: EvalBenchInput): Promise<{ header: string[]; rows: (string | number)[][]; wallMs: number }> {
  const { baseUrl, token } = input;
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${baseUrl}${path}`, { method, headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" }, ...(body ? { body: JSON.stringify(body) } : {}) });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  input.setScript(Array.from({ length: 200 }, () => solve));
  const t0 = Date.now();
  const created = await call<EvalView>("POST", "/v1/evals", {
    name: "bench: N=1 vs N=4",
    tasks: bundledEvalTasks(input.suiteRoot, input.smoke ? ["answer", "greet"] : undefined),
    configs: [{ name: "n1", model: "sonnet", forks: 1 }, input.smoke ? { name: "n2", model: "sonnet", forks: 2 } : { name: "n4", model: "sonnet", forks: 4 }],
    maxConcurrent: 4,
  });
  let view = created;
  while (view.status === "running") {
    if (Date.now() - t0 > 10 * 60_000) throw new Error("eval: not done after 10 minutes");
    await new Promise((r) => setTimeout(r, 250));
    view = await call<EvalView>("GET", `/v1/evals/${created.id}`);
  }
  const wallMs = Date.now() - t0;
  const results = await call<EvalResults>("GET", `/v1/evals/${created.id}/results`);
  input.check(view.status === "completed" && view.progress.done === view.progress.runs, `eval: ${view.status}, ${view.progress.done}/${view.progress.runs} runs done`);
  const pct = (v: number | null) => (v === null ? "-" : `${Math.round(v * 100)}%`);
  const rows = results.configs.map((c) => [
    c.config,
    `${c.tasks}×${c.forks}`,
    pct(c.passAt1.value),
    pct(c.oraclePassAtN.value),
    pct(c.selectedPass.value),
    (c.costPerTaskUsd.value ?? 0).toFixed(5),
    c.costPerSolvedTaskUsd === null ? "-" : c.costPerSolvedTaskUsd.toFixed(5),
    ((c.timePerTaskMs.value ?? 0) / 1000).toFixed(2),
  ]);
  rows.push(["hidden checks", "-", "-", "-", "-", results.hiddenCheckCostUsd.toFixed(5), "-", "-"]);
  return { header: ["config", "tasks×N", "pass@1", "oracle", "selected", "USD/task", "USD/solved", "s/task"], rows, wallMs };
}
