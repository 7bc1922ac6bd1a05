import { TERMINAL_FORK_STATUSES, type BranchRequest } from "../../api/runs";
import { resolveModel } from "../../agent/models";
import { ArtifactStore, branchStateKey, stepBranchStateKey, stepSnapshotKey } from "../../artifacts/store";
import { ConflictError, InvalidInputError } from "../../core/errors";
import { composeFiles, composePosition, describeEntry, parseStepName, type JournalEntry, type StepRecord } from "../../runs/step-snapshots";
import { EXCLUDE_PREPARED_SCRIPT } from "../../sandbox/git";
import type { BranchState } from "../../workflows/fork-branching";
import type { BranchSource } from "./branch-store";
import type { RunContext } from "./run-context";
import type { ForkRow, RunRecord } from "./run-store";

/** The most records one branch composes (a fork's boundaries: its model calls or commands). */
const MAX_RECORDS = 10_000;

/** What a branch at an earlier step starts its forks from (stored in R2 before they are added). */
export interface StepBranchStart {
  turn: number;
  stateKey: string;
  rebuild: NonNullable<BranchSource["rebuild"]>;
  model?: string;
}

/**
 * A branch at an earlier step (POST …/forks/:n/branch with `atStep`): where fork n stood before that
 * step — its workspace, journal and conversation — composed from its step snapshots (runs with
 * `snapshots: "steps"`), or without them its journal up to that step to replay (a commands fork's
 * commands; an ended agent fork's stored end state); stored in R2 for the new forks, which rebuild it in fresh sandboxes (fork n's sandbox
 * plays no part: it may be gone). Unknown step: 400 on `atStep`; one fork n has not reached: 409.
 */
export async function stepBranchStart(run: RunContext, fork: ForkRow, request: BranchRequest & { atStep: string }): Promise<StepBranchStart> {
  const record = run.run();
  const { atStep } = request;
  const task = record.request.task;
  const step = parseStepName(atStep);
  const bad = (message: string, field = "atStep") => new InvalidInputError(`${field}: ${message}`, { field });
  if (!step) throw bad(`"${atStep}" is not a step: model-<k> (before the agent's k-th model call) or command-<k> (before the k-th command).`);
  const commands = "commands" in task ? task.commands : null;
  if ((commands !== null) !== (step.kind === "command")) throw bad(`the run's task is ${commands ? "commands: its steps are command-<k>" : "an agent's: its steps are model-<k>"}.`);
  if (commands && step.k > commands.length) throw bad(`the task has ${commands.length} commands: there is no ${atStep}.`);
  if (!commands && "runtime" in task && task.runtime === "claude-code") throw bad("a claude-code fork runs as one step: it has no earlier step to branch at.");
  if (request.model !== undefined && commands) throw bad("a commands task has no model.", "model");
  const model = request.model !== undefined ? resolveModelFor(request.model) : undefined;
  const store = new ArtifactStore(run.env.ARTIFACTS);
  const state =
    record.request.snapshots === "steps"
      ? await fromSnapshots(store, record.id, fork, atStep)
      : commands && fork.parent === null
        ? fromCommands(run, record, fork, atStep, commands, step.k)
        : await fromEndState(store, record.id, fork, atStep);
  const stateKey = stepBranchStateKey(record.id, fork.n, atStep, crypto.randomUUID());
  await store.putJson(stateKey, state);
  const rebuild = state.stepRebuild!;
  return { turn: state.turn, stateKey, rebuild: { atStep, from: rebuild.from, rerun: rebuild.rerun }, ...(model ? { model } : {}) };
}

/** A model name as a branch asks for it, resolved (400 on `model` when unknown). */
export function resolveModelFor(name: string): string {
  try {
    return resolveModel(name);
  } catch (err) {
    if (err instanceof InvalidInputError) throw new InvalidInputError(err.message, { field: "model" });
    throw err;
  }
}

function notReached(fork: ForkRow, atStep: string): ConflictError {
  const ended = (TERMINAL_FORK_STATUSES as readonly string[]).includes(fork.status);
  return new ConflictError("step_not_reached", `Fork ${fork.n} has not reached ${atStep}${ended ? ` (it ended, ${fork.status}, before it)` : " yet"}: branch at a step it has passed.`, { field: "atStep", n: fork.n });
}

/** The records of fork n's boundaries up to `atStep`, first to last. */
async function chainTo(store: ArtifactStore, runId: string, fork: ForkRow, atStep: string): Promise<StepRecord[]> {
  const records: StepRecord[] = [];
  for (let name: string | null = atStep; name !== null && records.length < MAX_RECORDS; ) {
    const record: StepRecord | null = await store.getJson<StepRecord>(stepSnapshotKey(runId, fork.n, `${name}.json`));
    if (!record) {
      if (records.length === 0) throw notReached(fork, atStep);
      throw new ConflictError("snapshot_missing", `Fork ${fork.n}'s snapshot at ${name} is missing (it failed, or was deleted): ${atStep} cannot be rebuilt.`, { field: "atStep", n: fork.n });
    }
    records.unshift(record);
    name = record.previous;
  }
  return records;
}

/** With snapshots: the files composed up to the step (or, when some could not be stored, the journal replayed). */
async function fromSnapshots(store: ArtifactStore, runId: string, fork: ForkRow, atStep: string): Promise<BranchState> {
  const records = await chainTo(store, runId, fork, atStep);
  const position = composePosition(records);
  const files = composeFiles(records);
  const setup = records[0]!.journal;
  const replay = files.complete ? setup : position.journal;
  return {
    parent: fork.n,
    turn: position.turn,
    baseSha: records[0]!.start?.baseSha ?? "",
    journal: position.journal,
    ...(position.history ? { history: position.history } : {}),
    ...(position.exchange ? { exchange: position.exchange } : {}),
    stepRebuild: {
      from: files.complete ? "snapshots" : "journal",
      replay,
      ...(files.complete ? { files: { runId, n: fork.n, write: files.write, fromBase: files.fromBase, remove: files.remove } } : {}),
      rerun: replay.map(describeEntry),
    },
  };
}

/**
 * Without snapshots, an ended agent fork (or a branched one) stored its end state: its journal, its
 * conversation and where both stood at each boundary it passed. The step is rebuilt by replaying
 * the journal up to it. A fork still running has stored nothing yet: 409 `fork_running`.
 */
async function fromEndState(store: ArtifactStore, runId: string, fork: ForkRow, atStep: string): Promise<BranchState> {
  if (!(TERMINAL_FORK_STATUSES as readonly string[]).includes(fork.status)) {
    throw new ConflictError("fork_running", `Fork ${fork.n} is still running: without step snapshots it can be branched at an earlier step once it has ended (or start the run with snapshots: "steps").`, { field: "atStep", n: fork.n });
  }
  const end = await store.getJson<BranchState>(branchStateKey(runId, fork.n, 0));
  if (!end?.marks) throw new ConflictError("snapshots_required", `Where fork ${fork.n} stood at its steps is not stored (it ended before reaching one, or before this was recorded): start the run with snapshots: "steps".`, { field: "atStep", n: fork.n });
  const mark = end.marks.find((m) => m.tag === atStep);
  if (!mark) throw notReached(fork, atStep);
  const journal = end.journal.slice(0, mark.journal);
  return {
    parent: fork.n,
    turn: mark.turn,
    baseSha: end.baseSha,
    journal,
    ...(end.history?.length ? { history: end.history } : {}),
    ...(end.exchange ? { exchange: { prompt: end.exchange.prompt, turns: end.exchange.turns.slice(0, mark.turn) } } : {}),
    stepRebuild: { from: "journal", replay: journal, rerun: journal.map(describeEntry) },
  };
}

/**
 * Without snapshots, a commands fork's journal before command k is its prepare commands (a
 * prepared run) and its first k-1 commands, each of which must have succeeded.
 */
function fromCommands(run: RunContext, record: RunRecord, fork: ForkRow, atStep: string, commands: string[], k: number): BranchState {
  const done = run.store.forkView(fork.n)?.commands ?? [];
  if (done.length < k - 1 || done.slice(0, k - 1).some((c) => c.exitCode !== 0)) throw notReached(fork, atStep);
  const prepare = record.request.prepare && (record.prepared?.status === "forked" || record.prepared?.status === "per_fork") ? [...record.request.prepare.commands, EXCLUDE_PREPARED_SCRIPT] : [];
  const journal: JournalEntry[] = [...prepare, ...commands.slice(0, k - 1)].map((command) => ({ kind: "command", command }));
  return {
    parent: fork.n,
    turn: k - 1,
    // Not recorded without snapshots: the base branch's head now (a prepared run's commit).
    baseSha: record.prepared?.baseSha ?? "",
    journal,
    stepRebuild: { from: "journal", replay: journal, rerun: journal.map(describeEntry) },
  };
}
