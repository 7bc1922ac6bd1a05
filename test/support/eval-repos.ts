import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** The files of each bundled suite repository (eval-suite.ts): a task's starting point, no tests. */
const REPOS: Record<string, Record<string, string>> = {
  answer: { "README.md": "# answer\n\nThe answer goes in answer.txt.\n" },
  greet: { "README.md": "# greet\n", "greet.sh": 'echo "Hello"\n' },
  sum: { "README.md": "# sum\n", "sum.sh": "# TODO\n" },
  upper: { "README.md": "# upper\n", "upper.sh": 'echo "$1"\n' },
};

/**
 * The SWE-bench-style task's repository (swe-suite.ts), in two commits: the base (a bug: `add`
 * subtracts; a test runner and a passing test of `sub`), then the branch moves on (a new header line
 * right above `add`, a NEWS file), so a fork's patch made at the base does not apply at the head.
 */
const CALC_BASE: Record<string, string> = {
  "calc.sh": "#!/bin/sh\n# calc.sh: arithmetic helpers (v1)\nadd() { echo $(($1 - $2)); }\nsub() { echo $(($1 - $2)); }\n",
  "tests/run.sh": '# Runs the named tests (tests/<name>.sh); fails when one does.\nstatus=0\nfor name in "$@"; do\n  if sh "tests/$name.sh"; then echo "PASS $name"; else echo "FAIL $name"; status=1; fi\ndone\nexit $status\n',
  "tests/test_sub.sh": '. ./calc.sh\ntest "$(sub 5 3)" = 2\n',
};
const CALC_NEXT: Record<string, string> = {
  "calc.sh": "#!/bin/sh\n# calc.sh: arithmetic helpers (v2)\nadd() { echo $(($1 - $2)); }\nsub() { echo $(($1 - $2)); }\n",
  "NEWS.md": "# v2\n",
};

function commitFiles(dir: string, files: Record<string, string>, message: string): string {
  const git = (...args: string[]) => execFileSync("git", args, { cwd: dir, stdio: "pipe" }).toString().trim();
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  git("add", "-A");
  git("commit", "--quiet", "-m", message);
  return git("rev-parse", "HEAD");
}

function initRepo(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const git = (...args: string[]) => execFileSync("git", args, { cwd: dir, stdio: "pipe" });
  git("init", "--quiet", "--initial-branch=main");
  git("config", "user.email", "test@example.com");
  git("config", "user.name", "Test");
}

/** Creates the bundled suite's repositories under `root` (branch `main`, one commit each); returns `root`. */
export function createEvalRepos(root: string): string {
  for (const [name, files] of Object.entries(REPOS)) {
    initRepo(join(root, name));
    commitFiles(join(root, name), files, "initial");
  }
  return root;
}

/**
 * Creates `<root>/calc` (the SWE-bench-style task's repository): its base commit (no longer the
 * head of `main`), and a commit on a side branch, `side`, that `main` does not have.
 */
export function createCalcRepo(root: string): { base: string; side: string } {
  const dir = join(root, "calc");
  initRepo(dir);
  const base = commitFiles(dir, CALC_BASE, "calc v1");
  execFileSync("git", ["checkout", "--quiet", "-b", "side"], { cwd: dir, stdio: "pipe" });
  const side = commitFiles(dir, { "SIDE.md": "# side\n" }, "calc side");
  execFileSync("git", ["checkout", "--quiet", "main"], { cwd: dir, stdio: "pipe" });
  commitFiles(dir, CALC_NEXT, "calc v2");
  return { base, side };
}
