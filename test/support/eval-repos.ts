import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The files of each bundled suite repository (eval-suite.ts): a task's starting point, no tests. */
const REPOS: Record<string, Record<string, string>> = {
  answer: { "README.md": "# answer\n\nThe answer goes in answer.txt.\n" },
  greet: { "README.md": "# greet\n", "greet.sh": 'echo "Hello"\n' },
  sum: { "README.md": "# sum\n", "sum.sh": "# TODO\n" },
  upper: { "README.md": "# upper\n", "upper.sh": 'echo "$1"\n' },
};

/** Creates the bundled suite's repositories under `root` (branch `main`, one commit each); returns `root`. */
export function createEvalRepos(root: string): string {
  for (const [name, files] of Object.entries(REPOS)) {
    const dir = join(root, name);
    mkdirSync(dir, { recursive: true });
    const git = (...args: string[]) => execFileSync("git", args, { cwd: dir, stdio: "pipe" });
    git("init", "--quiet", "--initial-branch=main");
    git("config", "user.email", "test@example.com");
    git("config", "user.name", "Test");
    for (const [path, text] of Object.entries(files)) writeFileSync(join(dir, path), text);
    git("add", "-A");
    git("commit", "--quiet", "-m", "initial");
  }
  return root;
}
