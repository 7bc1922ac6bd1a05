import type { ForkParent } from "../../api/runs";

/** Where a parent stood when it claimed a branch: its boundary, its turn and its journal's length then. */
export interface BranchMark {
  tag: string;
  turn: number;
  journal: number;
}

/** What a branched fork starts from (its ForkParams' `branch`). */
export interface BranchSource {
  parent: number;
  k: number;
  /** The parent's state at the branch point (R2): workspace journal, base commit, conversation. */
  stateKey: string;
  /** What the fork does next (agent tasks); without it, it continues the parent's task. */
  prompt?: string;
  /** Set when the parent had ended: the fork forks this kept sandbox itself. */
  sourceLeaseKey?: string;
  /** Another model for the fork's agent (resolved), instead of the run's. */
  model?: string;
  /**
   * A branch at an earlier step (`atStep`): the fork rebuilds that step's workspace in a fresh
   * sandbox, from the parent's step snapshots or by replaying its journal (`rerun`: what it re-runs).
   */
  rebuild?: { atStep: string; from: "snapshots" | "journal"; rerun: string[] };
}

/** A branch the parent takes at a boundary; `previous` is set when an earlier claim's step was lost. */
export interface ClaimedBranch {
  k: number;
  forks: number[];
  previous?: BranchMark;
}

interface BranchRow extends Record<string, SqlStorageValue> {
  k: number;
  parent: number;
  forks: string;
  prompt: string | null;
  status: "pending" | "claimed" | "forked" | "failed";
  mark: string | null;
}

/**
 * The branches of a run (POST …/forks/:n/branch) in its Orchestrator's SQLite: each request adds
 * its forks to the run at once, and is then taken by the parent fork at its next step boundary:
 * `pending` → `claimed` (with where the parent stood) → `forked` (the new forks launch), or
 * `failed`. A branch of an ended fork whose sandbox was kept is `forked` from the start: each new
 * fork forks the kept sandbox itself. Its table is `branches` (orchestrator/schema.ts).
 */
export class BranchStore {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  /** The highest fork number so far (new forks are numbered after it). */
  lastFork(): number {
    return this.#sql.exec<{ n: number | null }>("SELECT MAX(n) AS n FROM forks").one().n ?? 0;
  }

  /**
   * Records a branch of fork `parent` and adds its forks, numbered after the last one: waiting
   * for the parent (`branch_wait`) or, with `kept`, queued at once (to fork the kept sandbox, or
   * with `rebuild` to rebuild an earlier step in fresh sandboxes).
   */
  add(
    parent: number,
    count: number,
    prompt: string | undefined,
    workBranch: (n: number) => string,
    now: string,
    kept?: { turn: number; stateKey: string; sourceLeaseKey?: string; model?: string; rebuild?: BranchSource["rebuild"] },
    idempotencyKey?: string,
  ): { k: number; forks: number[] } {
    const first = this.lastFork() + 1;
    const forks = Array.from({ length: count }, (_, i) => first + i);
    const k = (this.#sql.exec<{ k: number | null }>("SELECT MAX(k) AS k FROM branches").one().k ?? 0) + 1;
    this.#sql.exec(
      "INSERT INTO branches (k, parent, forks, prompt, status, requested_at, idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?)",
      k,
      parent,
      JSON.stringify(forks),
      prompt ?? null,
      kept ? "forked" : "pending",
      now,
      idempotencyKey ?? null,
    );
    const source = kept ? JSON.stringify(sourceOf({ parent, k, stateKey: kept.stateKey, prompt, sourceLeaseKey: kept.sourceLeaseKey, model: kept.model, rebuild: kept.rebuild })) : null;
    for (const n of forks) {
      this.#sql.exec(
        "INSERT INTO forks (n, status, branch, parent, parent_turn, branched_from) VALUES (?, ?, ?, ?, ?, ?)",
        n,
        kept ? "queued" : "branch_wait",
        workBranch(n),
        parent,
        kept ? kept.turn : null,
        source,
      );
    }
    return { k, forks };
  }

  /** Branches asked so far. */
  count(): number {
    return this.#sql.exec<{ k: number | null }>("SELECT MAX(k) AS k FROM branches").one().k ?? 0;
  }

  /** The branch made under an Idempotency-Key, with what it was asked (a branch at an earlier step: its step and model). */
  byKey(key: string): { parent: number; count: number; prompt: string | null; forks: number[]; atStep?: string; model?: string } | undefined {
    const row = this.#rows("SELECT * FROM branches WHERE idempotency_key = ?", key)[0];
    if (!row) return undefined;
    const forks = JSON.parse(row.forks) as number[];
    const first = this.#sql.exec<{ branched_from: string | null }>("SELECT branched_from FROM forks WHERE n = ?", forks[0] ?? 0).toArray()[0];
    const source = first ? branchSourceOf(first) : undefined;
    return { parent: row.parent, count: forks.length, prompt: row.prompt, forks, ...(source?.rebuild ? { atStep: source.rebuild.atStep } : {}), ...(source?.model ? { model: source.model } : {}) };
  }

  get(k: number): { k: number; parent: number } | undefined {
    const row = this.#rows("SELECT * FROM branches WHERE k = ?", k)[0];
    return row ? { k: row.k, parent: row.parent } : undefined;
  }

  /** Queued forks forked from a running parent: they hold their sandbox already. */
  forkedAndQueued(): number[] {
    return this.#sql
      .exec<{ n: number }>("SELECT n FROM forks WHERE status = 'queued' AND branched_from IS NOT NULL AND json_extract(branched_from, '$.sourceLeaseKey') IS NULL AND json_extract(branched_from, '$.rebuild') IS NULL ORDER BY n")
      .toArray()
      .map((r) => r.n);
  }

  /** Forks with a branch not yet taken. */
  waitingParents(): number[] {
    return this.#sql.exec<{ parent: number }>("SELECT DISTINCT parent FROM branches WHERE status IN ('pending', 'claimed')").toArray().map((r) => r.parent);
  }

  /** Whether fork `parent` has a branch not taken yet that was asked for at or before `at` (ISO time). */
  openAskedBy(parent: number, at: string): boolean {
    return this.#sql.exec("SELECT 1 FROM branches WHERE parent = ? AND status IN ('pending', 'claimed') AND requested_at <= ? LIMIT 1", parent, at).toArray().length > 0;
  }

  /** The branches fork `parent` has not taken yet. */
  open(parent: number): { k: number; forks: number[] }[] {
    return this.#rows("SELECT * FROM branches WHERE parent = ? AND status IN ('pending', 'claimed') ORDER BY k", parent).map((r) => ({ k: r.k, forks: JSON.parse(r.forks) as number[] }));
  }

  /**
   * The parent takes its open branches at a boundary (`mark`). A branch claimed before, by a step
   * that never finished, keeps its first mark (returned as `previous`): its forks may exist already.
   */
  claim(parent: number, mark: BranchMark): ClaimedBranch[] {
    const rows = this.#rows("SELECT * FROM branches WHERE parent = ? AND status IN ('pending', 'claimed') ORDER BY k", parent);
    return rows.map((row) => {
      if (row.status === "pending") {
        this.#sql.exec("UPDATE branches SET status = 'claimed', mark = ? WHERE k = ?", JSON.stringify(mark), row.k);
        return { k: row.k, forks: JSON.parse(row.forks) as number[] };
      }
      const previous = JSON.parse(row.mark!) as BranchMark;
      return { k: row.k, forks: JSON.parse(row.forks) as number[], ...(previous.tag === mark.tag ? {} : { previous }) };
    });
  }

  /** A claimed branch whose forks could not be made now (no capacity): taken again at the next boundary. */
  defer(k: number): void {
    this.#sql.exec("UPDATE branches SET status = 'pending', mark = NULL WHERE k = ? AND status = 'claimed'", k);
  }

  /** The branch's forks exist: they are queued to launch, starting from `stateKey`. Idempotent. */
  forked(k: number, turn: number, stateKey: string): number[] {
    const row = this.#rows("SELECT * FROM branches WHERE k = ?", k)[0];
    if (!row || row.status === "failed") return [];
    const forks = JSON.parse(row.forks) as number[];
    if (row.status === "forked") return [];
    this.#sql.exec("UPDATE branches SET status = 'forked' WHERE k = ?", k);
    const source = JSON.stringify(sourceOf({ parent: row.parent, k, stateKey, prompt: row.prompt ?? undefined }));
    for (const n of forks) this.#sql.exec("UPDATE forks SET status = 'queued', parent_turn = ?, branched_from = ? WHERE n = ? AND status = 'branch_wait'", turn, source, n);
    return forks;
  }

  /** The branch will not be taken: answers its forks still waiting (the caller ends them). */
  fail(k: number): number[] {
    const row = this.#rows("SELECT * FROM branches WHERE k = ? AND status IN ('pending', 'claimed')", k)[0];
    if (!row) return [];
    this.#sql.exec("UPDATE branches SET status = 'failed' WHERE k = ?", k);
    return JSON.parse(row.forks) as number[];
  }

  /** An open branch of a parent that ended with its sandbox kept: its forks fork that sandbox themselves. */
  fromKept(k: number, turn: number, stateKey: string, sourceLeaseKey: string): number[] {
    const row = this.#rows("SELECT * FROM branches WHERE k = ? AND status IN ('pending', 'claimed')", k)[0];
    if (!row) return [];
    this.#sql.exec("UPDATE branches SET status = 'forked' WHERE k = ?", k);
    const forks = JSON.parse(row.forks) as number[];
    const source = JSON.stringify(sourceOf({ parent: row.parent, k, stateKey, prompt: row.prompt ?? undefined, sourceLeaseKey }));
    for (const n of forks) this.#sql.exec("UPDATE forks SET status = 'queued', parent_turn = ?, branched_from = ? WHERE n = ? AND status = 'branch_wait'", turn, source, n);
    return forks;
  }

  #rows(query: string, ...args: SqlStorageValue[]): BranchRow[] {
    return this.#sql.exec<BranchRow>(query, ...args).toArray();
  }
}

function sourceOf(source: BranchSource): BranchSource {
  return Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined)) as unknown as BranchSource;
}

/** A fork row's parent, for its view (a branch at an earlier step: which, and how it was rebuilt). */
export function parentOf(row: { parent: number | null; parent_turn: number | null; branched_from: string | null }): ForkParent | undefined {
  if (row.parent === null) return undefined;
  const rebuild = branchSourceOf(row)?.rebuild;
  return { n: row.parent, turn: row.parent_turn, ...(rebuild ? { atStep: rebuild.atStep, rebuiltFrom: rebuild.from, rerun: rebuild.rerun } : {}) };
}

/** A fork row's branch source, for its params. */
export function branchSourceOf(row: { branched_from: string | null }): BranchSource | undefined {
  return row.branched_from ? (JSON.parse(row.branched_from) as BranchSource) : undefined;
}
