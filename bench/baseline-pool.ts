/**
 * The baseline the benchmark compares Forkyard with: the same sandbox operations for each fork
 * against the same server, run by an in-memory promise pool — no durability, no checkpoints,
 * nothing survives a crash. As a fork does: create, health check, clone, the command, export the
 * tree by the files API, kill; then the verification sandbox (create, health check, clone at the
 * base, lay the tree, build the commit with a clean git, kill), with Forkyard's own code for the
 * export, lay and build. `verify: false` leaves the verification sandbox out (the baseline before
 * forks were verified), so the bench can say what verification costs.
 */
import { Sandbox } from "e2b";
import { buildVerified } from "../src/artifacts/collect.ts";
import { layTree, stageTree } from "../src/artifacts/export-tree.ts";
import { EnvdClient } from "../src/sandbox/envd-client.ts";
import { CLONE_SCRIPT, cloneEnv, COLLECT_SCRIPT, collectEnv, REPO_DIR } from "../src/sandbox/git.ts";
import { handleOf } from "../src/sandbox/handle.ts";
import { memoryStore } from "./memory-store.ts";

export interface BaselineOptions {
  forks: number;
  concurrency: number;
  repo: string;
  command: string;
  connection: { apiKey: string; apiUrl: string; sandboxUrl: string };
  /** Verify each fork in a second sandbox, as Forkyard does (default true). */
  verify?: boolean;
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
  const create = (step: string) => timed(step, () => Sandbox.create("base", { ...opts.connection, timeoutMs: 600_000, metadata: { bench: "baseline", fork: String(n) } }));
  const envd = (sandbox: Sandbox) => EnvdClient.forHandle({ connection: opts.connection, secrets: [] }, handleOf(sandbox));
  const clone = (sandbox: Sandbox, step: string, baseSha?: string) =>
    timed(step, () => sandbox.commands.run(CLONE_SCRIPT, { envs: cloneEnv({ repo: opts.repo, baseBranch: "main", workBranch: `bench/${n}`, ...(baseSha ? { baseSha } : {}) }) }));
  const store = memoryStore();
  const where = { store, runId: "bench", n };
  let baseSha = "";
  const sandbox = await create("acquire-sandbox");
  try {
    await timed("health-check", () => sandbox.commands.run("echo ok"));
    baseSha = (await clone(sandbox, "clone")).stdout.trim().split("\n").pop() ?? "";
    await timed("command-1", () => sandbox.commands.run(opts.command, { cwd: REPO_DIR }));
    if (opts.verify === false) await timed("collect", () => sandbox.commands.run(COLLECT_SCRIPT, { envs: collectEnv({ baseSha, message: "bench" }) }));
    else await timed("verify-export", async () => stageTree({ ...where, from: envd(sandbox), root: REPO_DIR }));
  } finally {
    await timed("release-sandbox", () => sandbox.kill());
  }
  if (opts.verify === false) return Date.now() - started;
  const verifier = await create("verify-acquire-sandbox");
  try {
    // Forkyard's verify-base probes the sandbox (echo ok), then clones at the base.
    await timed("verify-base", async () => {
      await verifier.commands.run("echo ok");
      return clone(verifier, "verify-clone", baseSha);
    });
    await timed("verify-lay", () => layTree({ ...where, to: envd(verifier) }));
    const date = new Date().toISOString();
    await timed("verify-build", () => buildVerified({ ...where, session: envd(verifier), baseSha, workBranch: `bench/${n}`, message: "bench", date }));
  } finally {
    await timed("verify-release", () => verifier.kill());
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
