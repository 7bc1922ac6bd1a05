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

/** Each phase's duration (ms) per fork, named after the Forkyard step doing the same call. */
export type PhaseTimes = Record<string, number[]>;

async function oneFork(n: number, opts: BaselineOptions, phases: PhaseTimes): Promise<number> {
  const started = Date.now();
  const timed = async <T>(step: string, call: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await call();
    } finally {
      (phases[step] ??= []).push(Date.now() - t0);
    }
  };
  const sandbox = await timed("acquire-sandbox", () => Sandbox.create("base", { ...opts.connection, timeoutMs: 600_000, metadata: { bench: "baseline", fork: String(n) } }));
  try {
    await timed("health-check", () => sandbox.commands.run("echo ok"));
    const clone = await timed("clone", () => sandbox.commands.run(CLONE_SCRIPT, { envs: cloneEnv({ repo: opts.repo, baseBranch: "main", workBranch: `bench/${n}` }) }));
    const baseSha = clone.stdout.trim().split("\n").pop() ?? "";
    await timed("command-1", () => sandbox.commands.run(opts.command, { cwd: REPO_DIR }));
    await timed("collect", () => sandbox.commands.run(COLLECT_SCRIPT, { envs: collectEnv({ baseSha, message: "bench" }) }));
  } finally {
    await timed("release-sandbox", () => sandbox.kill());
  }
  return Date.now() - started;
}

/** Runs every fork with at most `concurrency` in flight; returns the makespan, per-fork times and per-phase times. */
export async function runBaseline(opts: BaselineOptions): Promise<{ makespanMs: number; forkMs: number[]; phases: PhaseTimes }> {
  const started = Date.now();
  const forkMs: number[] = [];
  const phases: PhaseTimes = {};
  let next = 1;
  const worker = async () => {
    while (next <= opts.forks) forkMs.push(await oneFork(next++, opts, phases));
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, opts.forks) }, worker));
  return { makespanMs: Date.now() - started, forkMs, phases };
}
