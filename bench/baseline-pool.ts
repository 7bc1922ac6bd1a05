/**
 * The baseline the benchmark compares Forkyard with: the same sandbox operations for each fork
 * (create, health check, clone, the command, collect, kill) against the same server, run by an
 * in-memory promise pool — no durability, no checkpoints, nothing survives a crash.
 */
import { Sandbox } from "e2b";
import { CLONE_SCRIPT, cloneEnv, COLLECT_SCRIPT, collectEnv, REPO_DIR } from "../src/sandbox/git.ts";

export interface BaselineOptions {
  forks: number;
  concurrency: number;
  repo: string;
  command: string;
  connection: { apiKey: string; apiUrl: string; sandboxUrl: string };
}

async function oneFork(n: number, opts: BaselineOptions): Promise<number> {
  const started = Date.now();
  const sandbox = await Sandbox.create("base", { ...opts.connection, timeoutMs: 600_000, metadata: { bench: "baseline", fork: String(n) } });
  try {
    await sandbox.commands.run("echo ok");
    const clone = await sandbox.commands.run(CLONE_SCRIPT, { envs: cloneEnv({ repo: opts.repo, baseBranch: "main", workBranch: `bench/${n}` }) });
    const baseSha = clone.stdout.trim().split("\n").pop() ?? "";
    await sandbox.commands.run(opts.command, { cwd: REPO_DIR });
    await sandbox.commands.run(COLLECT_SCRIPT, { envs: collectEnv({ baseSha, message: "bench" }) });
  } finally {
    await sandbox.kill();
  }
  return Date.now() - started;
}

/** Runs every fork with at most `concurrency` in flight; returns the makespan and per-fork times. */
export async function runBaseline(opts: BaselineOptions): Promise<{ makespanMs: number; forkMs: number[] }> {
  const started = Date.now();
  const forkMs: number[] = [];
  let next = 1;
  const worker = async () => {
    while (next <= opts.forks) forkMs.push(await oneFork(next++, opts));
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, opts.forks) }, worker));
  return { makespanMs: Date.now() - started, forkMs };
}
