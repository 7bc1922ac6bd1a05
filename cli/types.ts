/** API types, taken from the Worker's own schema modules (type-only: nothing of src/ runs here). */
import { TERMINAL_FORK_STATUSES, type ForkView, type RunStatus, type RunView } from "../src/api/client-types.ts";

export type {
  AgentView,
  ArtifactList,
  BranchResponse,
  MergeResponse,
  CommandResult,
  CompareView,
  ConfigResults,
  CreateEvalBody,
  EvalResults,
  EvalView,
  CreatedRun,
  CreatedSession,
  CreateRunBody,
  CreateSessionBody,
  DeletedEval,
  DeletedRun,
  DeletedSession,
  ForkDiffView,
  ForkStatus,
  ForkTranscriptEntry,
  ForkTranscriptPage,
  ForkView,
  PickResult,
  ReaperResult,
  RunPage,
  RunStatus,
  RunSummary,
  RunView,
  SessionPage,
  SessionSummary,
  SessionView,
  StepView,
  TokenCounts,
  TranscriptEntry,
  TranscriptPage,
  TurnView,
} from "../src/api/client-types.ts";
export { RUN_STATUSES, SESSION_STATUSES, TERMINAL_FORK_STATUSES } from "../src/api/client-types.ts";

/**
 * Where watching a run stops: the statuses it never leaves, and `budget_exceeded`, which waits
 * for someone to raise the budget (a waiting `fork` must not hang a script on it).
 */
export const SETTLED_RUN_STATUSES = ["completed", "cancelled", "failed", "budget_exceeded"] as const satisfies readonly RunStatus[];

export const isSettledRun = (view: Pick<RunView, "status">): boolean => (SETTLED_RUN_STATUSES as readonly string[]).includes(view.status);
export const isTerminalFork = (fork: Pick<ForkView, "status">): boolean => (TERMINAL_FORK_STATUSES as readonly string[]).includes(fork.status);

/** A piece of a running step's output: a `command.output` event of the run's stream (live only). */
export interface LiveChunk {
  fork: number;
  step: string;
  stream: "stdout" | "stderr";
  /** Characters of the stream before `data`. */
  offset: number;
  data: string;
}
