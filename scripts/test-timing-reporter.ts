/**
 * A vitest reporter that writes one JSON line per test file to the path in FORKYARD_TEST_TIMINGS:
 * the file, its project, state, test counts, wall start/end (ms since the epoch) and vitest's
 * diagnostic durations, and the CPU seconds the lane's processes (vitest, workerd, the sandbox
 * server and every command it ran) used while the file ran: exact in a lane that runs one file at a
 * time, shared between overlapping files otherwise. scripts/test.ts merges the lanes' files into one
 * table.
 */
import { appendFileSync } from "node:fs";
import { relative } from "node:path";
import type { Reporter, TestModule } from "vitest/node";
import { treeCpuSeconds } from "./process-cpu.ts";

export interface FileTiming {
  file: string;
  project: string;
  state: string;
  tests: number;
  failed: number;
  skipped: number;
  start: number;
  end: number;
  /** Tests and hooks (ms). */
  duration: number;
  /** Environment + runner preparation + setup files (ms): e.g. a workerd boot. */
  prepare: number;
  collect: number;
  /** CPU seconds of the lane's process tree from the file's start to its end. */
  cpu: number;
  /** The lane's CPU seconds so far, at the file's end. */
  laneCpu: number;
}

export default class TimingReporter implements Reporter {
  private readonly out = process.env.FORKYARD_TEST_TIMINGS;
  private readonly started = new Map<string, { at: number; cpu: number }>();

  onTestModuleStart(module: TestModule): void {
    this.started.set(module.moduleId, { at: Date.now(), cpu: treeCpuSeconds(process.pid) });
  }

  onTestModuleEnd(module: TestModule): void {
    if (!this.out) return;
    const d = module.diagnostic();
    let tests = 0;
    let failed = 0;
    let skipped = 0;
    for (const t of module.children.allTests()) {
      tests++;
      const state = t.result().state;
      if (state === "failed") failed++;
      else if (state === "skipped") skipped++;
    }
    const laneCpu = treeCpuSeconds(process.pid);
    const started = this.started.get(module.moduleId) ?? { at: Date.now(), cpu: laneCpu };
    const row: FileTiming = {
      file: relative(process.cwd(), module.moduleId),
      project: module.project.name,
      state: module.state(),
      tests,
      failed,
      skipped,
      start: started.at,
      end: Date.now(),
      duration: Math.round(d.duration),
      prepare: Math.round(d.environmentSetupDuration + d.prepareDuration + d.setupDuration),
      collect: Math.round(d.collectDuration),
      cpu: Math.round((laneCpu - started.cpu) * 10) / 10,
      laneCpu,
    };
    appendFileSync(this.out, `${JSON.stringify(row)}\n`);
  }
}
