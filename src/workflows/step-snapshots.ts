import { stepSnapshotKey, type ArtifactStore } from "../artifacts/store";
import type { Config } from "../core/env";
import { errorFields, log } from "../observability/log";
import type { ForkParams } from "../protocol/fork-params";
import { fileDelta, needsKeeping, type StepRecord } from "../runs/step-snapshots";
import { REPO_DIR } from "../sandbox/git";
import type { WorkspaceManifest } from "../sandbox/manifest-diff";
import { takeManifest } from "../sandbox/workspace-manifest";
import { isEngineInterruption } from "../protocol/engine-errors";
import type { TaskPosition } from "./fork-branching";
import type { ForkSandbox } from "./fork-sandbox";
import { STEP_KINDS, stepConfig } from "./step-policies";
import { snapshotStep } from "./steps";

/** The most bytes of files one fork's snapshots store (past it a record is incomplete: branches there replay the journal). */
export const STEP_SNAPSHOT_MAX_BYTES = 32 * 1024 * 1024;

export interface StepSnapshotsDeps {
  params: ForkParams;
  config: Config;
  sandbox: ForkSandbox;
  store: ArtifactStore;
}

/** Where the last record stands: a continuation instance picks up the chain from there. */
export interface SnapshotChain {
  previous: string | null;
  journalAt: number;
  turnsAt: number;
}

/**
 * Runs with `snapshots: "steps"`: at each step boundary one step (`snapshot-model-3`,
 * `snapshot-command-2`) takes the workspace's manifest (git's list, every file's bytes hashed
 * through envd's files API: nothing is written in the repository, so the agent's `git status` sees
 * nothing) and stores in R2, beside the fork's other objects and out of its reach, a StepRecord:
 * the files added, changed (their bytes, content-addressed) and deleted since the previous
 * boundary, the journal entries and the agent's turns since then. Each body may run again: it
 * reads the previous boundary's manifest and writes the same keys. A snapshot that fails is
 * logged; the fork carries on (a branch at that step is then refused).
 */
export class ForkStepSnapshots {
  readonly #d: StepSnapshotsDeps;
  #chain: SnapshotChain = { previous: null, journalAt: 0, turnsAt: 0 };
  /** The chain before the last boundary: a continuation instance takes that boundary again. */
  #prior: SnapshotChain = this.#chain;

  constructor(deps: StepSnapshotsDeps) {
    this.#d = deps;
  }

  /** What a continuation instance starts from: it takes the boundary it continued at again. */
  get resumeChain(): SnapshotChain {
    return this.#prior;
  }

  /** A continuation instance goes on with the chain where its earlier instance left it. */
  resume(chain: SnapshotChain): void {
    this.#chain = chain;
    this.#prior = chain;
  }

  async at(boundary: string, position: TaskPosition): Promise<void> {
    const { params: p, config, sandbox } = this.#d;
    if (p.snapshots !== "steps") return;
    const chain = this.#chain;
    const journalTo = sandbox.journalLength;
    const turns = position.exchange?.turns ?? [];
    try {
      await sandbox.step(snapshotStep(boundary), stepConfig("collect", config.RETRY_POLICIES), async () => this.#record(boundary, chain, position, journalTo), { gated: false });
    } catch (err) {
      if (isEngineInterruption(err)) throw err;
      log("warn", "fork.snapshot_failed", { runId: p.runId, fork: p.n, boundary, ...errorFields(err) });
    }
    this.#prior = chain;
    this.#chain = { previous: boundary, journalAt: journalTo, turnsAt: turns.length };
  }

  async #record(boundary: string, chain: SnapshotChain, position: TaskPosition, journalTo: number): Promise<{ files: number; deleted: number; complete: boolean }> {
    const { params: p, sandbox, store } = this.#d;
    const key = (name: string) => stepSnapshotKey(p.runId, p.n, name);
    const before = chain.previous ? await store.getJson<WorkspaceManifest>(key(`${chain.previous}.manifest.json`)) : null;
    const previous = chain.previous ? await store.getJson<StepRecord>(key(`${chain.previous}.json`)) : null;
    let stored = 0;
    const taken = await takeManifest({
      session: await sandbox.envd(),
      root: REPO_DIR,
      timeoutMs: STEP_KINDS.collect.timeoutMs,
      keep: async (sha, bytes) => {
        await store.putBytes(key(`blobs/${sha}`), bytes);
        stored += bytes.byteLength;
      },
      keepBytes: Math.max(0, STEP_SNAPSHOT_MAX_BYTES - (previous?.storedBytes ?? 0)),
      keepWhen: (path, sha, changed) => needsKeeping(before, path, sha, changed),
      // Only the files that differ from the fork's base commit are read (a clone has the others).
      ...(sandbox.baseSha ? { against: sandbox.baseSha } : {}),
    });
    const delta = fileDelta(before, taken.manifest);
    const { history, exchange } = position;
    const record: StepRecord = {
      boundary,
      previous: chain.previous,
      turn: position.turn,
      journal: sandbox.journal(journalTo).slice(chain.journalAt),
      ...(exchange ? { turns: exchange.turns.slice(chain.turnsAt) } : {}),
      ...(chain.previous ? {} : { start: { baseSha: sandbox.baseSha ?? "", ...(exchange ? { prompt: exchange.prompt } : {}), ...(history?.length ? { history } : {}) } }),
      files: delta.files,
      // A missing link (an earlier snapshot failed) breaks the chain: its files cannot be composed.
      complete: delta.complete && (chain.previous === null || (before !== null && previous !== null)),
      storedBytes: (previous?.storedBytes ?? 0) + stored,
    };
    await store.putJson(key(`${boundary}.manifest.json`), taken.manifest);
    await store.putJson(key(`${boundary}.json`), record);
    return { files: Object.keys(delta.files.put).length, deleted: delta.files.del.length, complete: record.complete };
  }
}
