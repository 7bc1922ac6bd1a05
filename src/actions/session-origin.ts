import type { RunView } from "../api/runs";
import { ArtifactStore, branchStateKey, patchKey, sessionOriginPatchKey } from "../artifacts/store";
import type { Env } from "../core/env";
import type { SessionRecord } from "../objects/session/session-record";
import { EXCLUDE_PREPARED_SCRIPT } from "../sandbox/git";
import type { BranchState } from "../workflows/fork-branching";

type Fork = RunView["forks"][number];
export type SessionOrigin = Pick<SessionRecord, "baseSha" | "origin">;

/**
 * What a lost sandbox of a session continuing fork n of a run is rebuilt from without a snapshot
 * (issue 24, item 2): the fork's clone commit and its journal, as the fork stored them with its
 * kept sandbox (its end state, branch 0) — the prepare commands (a prepared run, forked or
 * per_fork), a commands fork's commands (a branched fork's parent's first), an agent fork's tool
 * calls being the session's first turns. A Claude Code fork's work is not journaled call by call:
 * its verified patch is copied under the session (it outlives the run's artifacts) and laid on the
 * clone instead, and its imported turns are not replayed. A fork whose end state was not stored
 * (a kept sandbox of older code) falls back to what its run recorded (`runOrigin`).
 */
export async function forkOrigin(env: Env, run: RunView, fork: Fork, sessionId: string, importedTurns: number): Promise<SessionOrigin> {
  const store = new ArtifactStore(env.ARTIFACTS);
  const end = await store.getJson<BranchState>(branchStateKey(run.id, fork.n, 0));
  if (!end?.baseSha) return runOrigin(run, fork);
  const journal = end.journal.flatMap((e) => (e.kind === "command" ? [e.command] : []));
  const { prepare, commands } = splitPrepare(journal, run.request.prepare?.commands ?? []);
  // A commands fork's failed command left its work in the workspace too (the journal has only those that succeeded).
  const failed = fork.commands.at(-1);
  const ran = failed && failed.exitCode !== 0 ? [...commands, failed.command] : commands;
  const task = run.request.task;
  // An agent fork's tool calls come back as the session's imported turns: without its conversation (not stored) they would not be replayed.
  if (importedTurns === 0 && end.journal.some((e) => e.kind === "tool")) return { baseSha: end.baseSha };
  if (!("prompt" in task && task.runtime === "claude-code")) return { baseSha: end.baseSha, origin: { prepare, commands: ran } };
  // Claude Code: its verified patch. One that changed nothing needs none; one with no stored patch has no origin.
  if (fork.diff?.files === 0) return { baseSha: end.baseSha, origin: { prepare, commands: ran, replayAfter: importedTurns } };
  const patch = fork.artifacts?.patch ? await store.getBytes(patchKey(run.id, fork.n)) : null;
  if (!patch) return { baseSha: end.baseSha };
  await store.putBytes(sessionOriginPatchKey(sessionId), patch);
  return { baseSha: end.baseSha, origin: { prepare, commands: ran, patch: sessionOriginPatchKey(sessionId), replayAfter: importedTurns } };
}

/**
 * The journal's commands split into the run's prepare commands (re-run before a snapshot too: what
 * they make is kept out of git, so no snapshot holds it) and the rest. A journal that does not
 * start with the whole prepare (a per_fork prepare that failed) is all commands, replayed as they ran.
 */
export function splitPrepare(journal: string[], prepare: string[]): { prepare: string[]; commands: string[] } {
  const head = [...prepare, EXCLUDE_PREPARED_SCRIPT];
  const prepared = prepare.length > 0 && head.every((command, i) => journal[i] === command);
  return prepared ? { prepare, commands: journal.slice(head.length) } : { prepare: [], commands: journal };
}

/**
 * A fork kept without its end state: a prepared run's fork started at the recorded prepared
 * commit (a fork of a run with a `commit`, at that one), with the prepare commands and (a commands
 * fork) the commands it ran. A fork that cloned the branch's head by itself has no recorded base
 * commit, and a Claude Code fork's work is not journaled: neither has an origin.
 */
function runOrigin(run: RunView, fork: Fork): SessionOrigin {
  const baseSha = run.prepared?.status === "forked" && run.prepared.baseSha ? run.prepared.baseSha : (run.request.commit ?? null);
  const task = run.request.task;
  if (!baseSha || ("prompt" in task && task.runtime === "claude-code")) return { baseSha };
  const ran = (fork.parent?.turn ?? 0) + fork.commands.length;
  return { baseSha, origin: { prepare: run.request.prepare?.commands ?? [], commands: "commands" in task ? task.commands.slice(0, ran) : [] } };
}
