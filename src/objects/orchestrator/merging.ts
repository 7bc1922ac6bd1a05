import { TERMINAL_RUN_STATUSES, type MergeRequest, type MergeResponse, type MergeView } from "../../api/runs";
import { loadConfig } from "../../core/env";
import { ConflictError, InvalidInputError } from "../../core/errors";
import type { ForkOutcome } from "../../runs/fork-outcome";
import type { MergeSourceFork, MergeSpec } from "../../runs/merge-prompt";
import { workBranch } from "../../protocol/run-ids";
import type { RunContext } from "./run-context";
import type { ForkRow } from "./run-store";

/** A merge as its fork row keeps it (`forks.merged_from`, migration 7). */
interface MergeRecord extends MergeSpec {
  idempotencyKey?: string;
}

/**
 * A run's merges (POST /v1/runs/:id/merge; the fork's side is src/workflows/fork-merge.ts): each
 * adds one fork to the run — ended or not — that starts from the base like any other, goes through
 * the Pool and the budget, and is verified, checked and ranked like any other; its agent gets the
 * chosen forks' summaries and patches as fenced data (src/runs/merge-prompt.ts). What each chosen
 * fork is known by (summary, check, diff) is taken when the merge is asked: they have ended.
 */
export class RunMerging {
  readonly #run: RunContext;
  readonly #sql: SqlStorage;

  constructor(run: RunContext, sql: SqlStorage) {
    this.#run = run;
    this.#sql = sql;
  }

  /** Adds the merge fork, queued to launch; an ended run runs again for it. The same Idempotency-Key answers the same fork. */
  async request(request: MergeRequest, idempotencyKey?: string): Promise<MergeResponse> {
    const run = this.#run.run();
    const earlier = idempotencyKey ? this.#byKey(idempotencyKey) : undefined;
    if (earlier) {
      const same = JSON.stringify(earlier.record.forks.map((f) => f.n)) === JSON.stringify(request.forks) && earlier.record.prompt === request.prompt && earlier.record.model === request.model;
      if (!same) throw new ConflictError("idempotency_key_reused", "This Idempotency-Key was already used with a different merge request.");
      return { runId: run.id, fork: earlier.n, forks: request.forks };
    }
    if (run.status === "cancelled") throw new ConflictError("run_finished", "The run was cancelled.");
    // Once a fork won (stopWhen: first_check_pass) every other fork is stopped: a merge fork would be cancelled at once.
    if (run.winner !== undefined) throw new ConflictError("run_stopped_at_winner", `Fork ${run.winner} passed its check first and stopped the run (stopWhen: first_check_pass): nothing more runs in it.`);
    if (!("prompt" in run.request.task)) throw new ConflictError("merge_needs_agent_task", "A commands run has no agent to merge its forks: merges are for agent tasks.", { field: "forks" });
    const sources = request.forks.map((n) => this.#source(n));
    const last = this.#lastFork();
    const max = loadConfig(this.#run.env).MAX_FORKS_PER_RUN;
    if (last + 1 > max) throw new ConflictError("max_forks_reached", `A run holds at most ${max} forks (MAX_FORKS_PER_RUN): this one has ${last}.`, { field: "forks" });
    const n = last + 1;
    const record: MergeRecord = { forks: sources, ...(request.prompt ? { prompt: request.prompt } : {}), ...(request.model ? { model: request.model } : {}), ...(idempotencyKey ? { idempotencyKey } : {}) };
    this.#sql.exec("INSERT INTO forks (n, status, branch, merged_from) VALUES (?, 'queued', ?, ?)", n, workBranch(run.id, n, run.request.branchPrefix), JSON.stringify(record));
    this.#run.event("fork.merge_requested", n, { forks: request.forks });
    if (TERMINAL_RUN_STATUSES.includes(run.status)) await this.#run.setStatus("running");
    await this.#run.afterForkChange();
    await this.#run.armAlarm();
    return { runId: run.id, fork: n, forks: request.forks };
  }

  /** A chosen fork as the merge will know it: it exists and has ended with a stored patch. */
  #source(n: number): MergeSourceFork {
    const fork = this.#run.store.fork(n);
    if (!fork) throw new InvalidInputError(`forks: fork ${n} does not exist in this run.`, { field: "forks", fork: n });
    const outcome = fork.outcome ? (JSON.parse(fork.outcome) as ForkOutcome) : null;
    if (!outcome?.artifacts?.patch) {
      const why = !outcome ? `has not ended (${fork.status})` : outcome.artifacts?.patchOmitted ? "has a patch over ARTIFACT_MAX_BYTES, which was not stored" : `ended (${fork.status}) without a stored patch`;
      throw new ConflictError("fork_has_no_patch", `Fork ${n} ${why}: only forks with a stored patch can be merged.`, { field: "forks", fork: n });
    }
    const check = outcome.check ? { passed: outcome.check.passed, exitCode: outcome.check.exitCode } : undefined;
    return { n, ...(outcome.agent?.summary ? { summary: outcome.agent.summary } : {}), ...(check ? { check } : {}), ...(outcome.diff ? { diff: outcome.diff } : {}) };
  }

  #lastFork(): number {
    return this.#sql.exec<{ n: number | null }>("SELECT MAX(n) AS n FROM forks").one().n ?? 0;
  }

  #byKey(key: string): { n: number; record: MergeRecord } | undefined {
    const row = this.#sql.exec<{ n: number; merged_from: string }>("SELECT n, merged_from FROM forks WHERE json_extract(merged_from, '$.idempotencyKey') = ?", key).toArray()[0];
    return row ? { n: row.n, record: JSON.parse(row.merged_from) as MergeRecord } : undefined;
  }
}

/** A merge fork's inputs, for its params; undefined for any other fork. */
export function mergeSpecOf(row: ForkRow): MergeSpec | undefined {
  if (!row.merged_from) return undefined;
  const { idempotencyKey: _key, ...spec } = JSON.parse(row.merged_from) as MergeRecord;
  return spec;
}

/** A merge fork's view: what it combines and, once computed, its provenance (from its outcome). */
export function mergeViewOf(row: ForkRow, outcome: ForkOutcome | null): MergeView | undefined {
  const spec = mergeSpecOf(row);
  if (!spec) return undefined;
  const view: MergeView = { forks: spec.forks.map((f) => f.n), ...(spec.prompt ? { prompt: spec.prompt } : {}), ...(spec.model ? { model: spec.model } : {}) };
  if (outcome?.provenance) view.provenance = outcome.provenance;
  if (outcome?.provenanceOmitted) view.provenanceOmitted = outcome.provenanceOmitted;
  return view;
}
