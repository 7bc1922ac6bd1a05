/**
 * The bundled offline eval suite: a handful of tasks on tiny repositories (created by
 * eval-repos.ts), each with a visible check the agent is told of and a hidden check it never sees.
 * Its figures test Forkyard's eval plumbing, not a model: the tests script the model's answers.
 */
export interface BundledTask {
  id: string;
  /** The repository's directory name (under the suite's root). */
  repo: string;
  prompt: string;
  check: string;
  hiddenCheck: string;
}

export const BUNDLED_TASKS: readonly BundledTask[] = [
  {
    id: "answer",
    repo: "answer",
    prompt: "Write the answer to the ultimate question of life, the universe and everything into answer.txt (just the number).",
    check: "test -s answer.txt",
    hiddenCheck: 'test "$(cat answer.txt)" = 42',
  },
  {
    id: "greet",
    repo: "greet",
    prompt: "Change greet.sh so that `sh greet.sh NAME` prints `Hello, NAME!`.",
    check: "sh greet.sh Ada",
    hiddenCheck: 'test "$(sh greet.sh Ada)" = "Hello, Ada!" && test "$(sh greet.sh Bo)" = "Hello, Bo!"',
  },
  {
    id: "sum",
    repo: "sum",
    prompt: "Implement sum.sh: `sh sum.sh 1 2 3` prints the sum of its arguments (6).",
    check: "sh sum.sh 1 2",
    hiddenCheck: 'test "$(sh sum.sh 1 2 3)" = 6 && test "$(sh sum.sh)" = 0 && test "$(sh sum.sh -4 4)" = 0',
  },
  {
    id: "upper",
    repo: "upper",
    prompt: "Make upper.sh print its first argument in upper case.",
    check: "sh upper.sh abc",
    hiddenCheck: 'test "$(sh upper.sh abc)" = ABC && test "$(sh upper.sh "a b")" = "A B"',
  },
];

/** The suite's tasks for POST /v1/evals, given where the repositories are. */
export function bundledEvalTasks(root: string, ids?: readonly string[]) {
  return BUNDLED_TASKS.filter((t) => !ids || ids.includes(t.id)).map((t) => ({ id: t.id, repo: `${root}/${t.repo}`, prompt: t.prompt, check: t.check, hiddenCheck: t.hiddenCheck }));
}
