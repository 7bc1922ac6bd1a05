import type { Task } from "../api/runs";

/** What a fork Workflow instance is created with (immutable for the instance's life). */
export interface ForkParams {
  runId: string;
  n: number;
  forks: number;
  repo: string;
  baseBranch: string;
  workBranch: string;
  task: Task;
  timeoutSeconds: number;
  template: string;
  check?: string;
  /** Push the work branch after `collect` (runs with `push: true`). */
  push?: boolean;
  leaseKey: string;
}
