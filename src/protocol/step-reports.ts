import type { CommandResult } from "../api/runs";

/** What a Workflow step tells the object that owns it (the run's Orchestrator) when an attempt ends. */
export interface StepReport {
  attempt: number;
  ok: boolean;
  durationMs: number;
  error?: { code: string; message: string };
  /** What the step produced, recorded with its end (one call per step end, not one per finding). */
  findings?: StepFinding[];
  /** When the attempt started: its start is recorded with its end unless it already is (ungated steps report no start of their own). */
  startedAt?: number;
}

/** A successful step attempt, carried by the one Orchestrator call its body makes (forkBegin, forkFinished). */
export interface StepRecord {
  name: string;
  attempt: number;
  startedAt: number;
}

/** Something a step found out that the run keeps: a command's result, the fork's sandbox, its place in the Pool's queue. */
export type StepFinding =
  | { kind: "command"; index: number; result: CommandResult }
  | { kind: "sandbox"; sandboxId: string }
  | { kind: "queued"; position: number };
