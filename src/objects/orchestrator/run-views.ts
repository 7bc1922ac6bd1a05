import type { CheckResult, CommandResult, ForkStatus, ForkView, RunTotals, RunView, StepView } from "../../api/runs";
import { TERMINAL_FORK_STATUSES } from "../../api/runs";
import { roundUsd } from "../../core/costs";
import { selectForks } from "../../runs/selection";
import { adaptiveView, INITIAL_WAVES } from "../../runs/adaptive";
import type { ForkOutcome } from "../../runs/fork-outcome";
import { parentOf } from "./branch-store";
import { mergeViewOf } from "./merging";
import type { ForkRow, RunStore, StoredForkStatus } from "./run-store";

export interface ForkExport {
  n: number;
  status: ForkStatus;
  durationMs: number | null;
  sandboxUsd: number;
  llmUsd: number;
  model: string;
  finishedAt: string;
  steps: { name: string; attempts: number; status: string }[];
}

/** The first step of each replacement of a lost sandbox (steps.ts recoveryStep). */
const RECOVERY_START = /^recover-\d+-release$/;

export const TERMINAL_SQL = TERMINAL_FORK_STATUSES.map((s) => `'${s}'`).join(",");

/** Output a run view carries in all (stdout and stderr tails of every command, in characters). */
const VIEW_TAIL_CHARS = 2 * 1024 * 1024;
/** A command's tail as stored (OUTPUT_TAIL_CHARS), and the least a big run's view keeps of one. */
const FULL_TAIL_CHARS = 4096;
const MIN_VIEW_TAIL_CHARS = 128;
/** How a cut tail starts (as TailBuffer marks one). */
const TRUNCATED_MARK = "[…truncated]\n";

/**
 * What a run's API shows and its index exports, read from its Orchestrator's SQLite: the run with
 * its forks (steps, commands, costs, ranking), one fork whole, the totals, ended forks to export.
 */
export class RunViews {
  readonly #sql: SqlStorage;
  readonly #store: RunStore;

  constructor(sql: SqlStorage, store: RunStore) {
    this.#sql = sql;
    this.#store = store;
  }

  /** Ended forks not yet written to the D1 metrics tables, with what /metrics needs of them. */
  unexportedForks(): ForkExport[] {
    const rows = this.#sql.exec<ForkRow>(`SELECT * FROM forks WHERE exported = 0 AND status IN (${TERMINAL_SQL}) ORDER BY n`).toArray();
    return rows.map((row) => {
      const costs = this.#store.ledger.byKind(row.n);
      const outcome = row.outcome ? (JSON.parse(row.outcome) as ForkOutcome) : null;
      return {
        n: row.n,
        status: row.status as ForkStatus,
        durationMs: row.started_at && row.finished_at ? Date.parse(row.finished_at) - Date.parse(row.started_at) : null,
        sandboxUsd: costs.sandbox,
        llmUsd: costs.llm,
        model: outcome?.agent?.model ?? "",
        finishedAt: row.finished_at ?? new Date().toISOString(),
        steps: this.#sql
          .exec<{ name: string; attempts: number; status: string }>("SELECT name, attempts, status FROM steps WHERE fork = ?", row.n)
          .toArray()
          .map((st) => ({ name: st.name, attempts: st.attempts, status: st.status })),
      };
    });
  }


  /**
   * The run with all its forks. Output tails share a fixed budget (VIEW_TAIL_CHARS), cut in SQL,
   * so the view of a run with thousands of commands stays a few MB; forkView(n) has them whole.
   */
  view(): RunView | null {
    const run = this.#store.run();
    if (!run) return null;
    const commands = this.#sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM commands").one().n;
    const tailChars = commands * 2 * FULL_TAIL_CHARS <= VIEW_TAIL_CHARS ? null : Math.max(MIN_VIEW_TAIL_CHARS, Math.floor(VIEW_TAIL_CHARS / (2 * commands)));
    const forks = this.#forkViews(null, tailChars);
    const view: RunView = { id: run.id, status: run.status, request: run.request, sandbox: run.sandbox, codeVersion: run.codeVersion, createdAt: run.createdAt, updatedAt: run.updatedAt, forks, totals: this.totals() };
    const scores = run.judging ? this.#store.scores(run.judging.k) : [];
    if (run.prepared) view.prepared = run.prepared;
    if (run.request.strategy) view.adaptive = adaptiveView(run.request.strategy, run.waves ?? INITIAL_WAVES, forks.map((f) => ({ n: f.n, costUsd: f.costUsd.total, passed: f.status === "succeeded" && f.check?.passed === true })));
    if (run.picked) view.picked = run.picked;
    const judging = run.judging;
    if (judging) {
      const tournament = judging.tournament ? { tournament: judging.tournament } : {};
      view.judging = { status: judging.status, model: judging.model, scores, ...(judging.error ? { error: judging.error } : {}), ...(judging.mode ? { mode: judging.mode } : {}), ...tournament };
    }
    if (run.winner !== undefined || forks.every((f) => TERMINAL_FORK_STATUSES.includes(f.status))) {
      const done = judging?.status === "done";
      const scored = new Map(done ? scores.flatMap((s) => (s.score === null ? [] : [[s.n, s.score] as const])) : []);
      const { ranking, ...selected } = selectForks(forks, scored, done ? judging.tournament : undefined);
      view.ranking = ranking;
      view.winner = run.winner ?? ranking[0]?.n ?? null;
      if (done && view.judging) view.judging.selected = selected;
    }
    return view;
  }

  /** One fork with its commands' whole tails. */
  forkView(n: number): ForkView | null {
    return this.#forkViews(n, null)[0] ?? null;
  }

  /** Fork views (all, or fork `only`), tails cut to `tailChars` each when given. */
  #forkViews(only: number | null, tailChars: number | null): ForkView[] {
    const where = only === null ? "" : "WHERE fork = ?";
    const args = only === null ? [] : [only];
    const steps = new Map<number, StepView[]>();
    for (const row of this.#sql.exec<{ fork: number; name: string; status: StepView["status"]; attempts: number; duration_ms: number | null; started_at: number | null; ended_at: number | null }>(
      `SELECT fork, name, status, attempts, duration_ms, started_at, ended_at FROM steps ${where} ORDER BY fork, seq`,
      ...args,
    )) {
      const list = steps.get(row.fork) ?? [];
      const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
      list.push({ name: row.name, status: row.status, attempts: row.attempts, durationMs: row.duration_ms, startedAt: iso(row.started_at), endedAt: iso(row.ended_at) });
      steps.set(row.fork, list);
    }
    const commands = new Map<number, CommandResult[]>();
    const cut = (field: string) =>
      tailChars === null
        ? `json_extract(result, '$.${field}')`
        : `CASE WHEN length(json_extract(result, '$.${field}')) > ${tailChars} THEN '${TRUNCATED_MARK}' || substr(json_extract(result, '$.${field}'), -${tailChars}) ELSE json_extract(result, '$.${field}') END`;
    for (const row of this.#sql.exec<{ fork: number; meta: string; stdout: string | null; stderr: string | null }>(
      `SELECT fork, json_remove(result, '$.stdoutTail', '$.stderrTail') AS meta, ${cut("stdoutTail")} AS stdout, ${cut("stderrTail")} AS stderr FROM commands ${where} ORDER BY fork, idx`,
      ...args,
    )) {
      const list = commands.get(row.fork) ?? [];
      list.push({ ...(JSON.parse(row.meta) as Omit<CommandResult, "stdoutTail" | "stderrTail">), stdoutTail: row.stdout ?? "", stderrTail: row.stderr ?? "" });
      commands.set(row.fork, list);
    }
    const costs = this.#store.ledger.byOwner(only ?? undefined);

    return this.#sql
      .exec<ForkRow>(`SELECT * FROM forks ${only === null ? "" : "WHERE n = ?"} ORDER BY n`, ...args)
      .toArray()
      .map((row) => {
        const outcome = row.outcome ? (JSON.parse(row.outcome) as ForkOutcome) : null;
        const cost = costs.get(row.n) ?? { sandbox: 0, llm: 0 };
        const view: ForkView = {
          n: row.n,
          status: apiForkStatus(row.status),
          branch: row.branch,
          sandboxId: row.sandbox_id,
          attempts: row.launches,
          recoveries: (steps.get(row.n) ?? []).filter((s) => RECOVERY_START.test(s.name)).length,
          startedAt: row.started_at,
          finishedAt: row.finished_at,
          steps: steps.get(row.n) ?? [],
          commands: commands.get(row.n) ?? outcome?.commands ?? [],
          costUsd: forkCost(cost, outcome?.costUsd.verification),
        };
        if (outcome?.check) view.check = only !== null ? outcome.check : cutCheck(outcome.check);
        if (outcome?.diff) view.diff = outcome.diff;
        if (outcome?.agent) view.agent = outcome.agent;
        if (outcome?.pushed) view.pushed = outcome.pushed;
        if (outcome?.artifacts) view.artifacts = outcome.artifacts;
        if (outcome?.kept) view.keptUntil = outcome.kept.until;
        const parent = parentOf(row);
        if (parent) view.parent = parent;
        const merge = mergeViewOf(row, outcome);
        if (merge) view.merge = merge;
        const error = row.error ? (JSON.parse(row.error) as { code: string; message: string }) : outcome?.error;
        if (error) view.error = error;
        return view;
      });
  }

  /** Fork counts by status and costs by kind, from aggregates: no fork is read. */
  totals(): RunTotals {
    const byStatus = new Map<string, number>();
    for (const row of this.#sql.exec<{ status: StoredForkStatus; n: number }>("SELECT status, COUNT(*) AS n FROM forks GROUP BY status")) {
      const status = apiForkStatus(row.status);
      byStatus.set(status, (byStatus.get(status) ?? 0) + row.n);
    }
    const count = (status: ForkStatus) => byStatus.get(status) ?? 0;
    const costs = this.#store.ledger.byKind();
    const sandbox = roundUsd(costs.sandbox);
    const llm = roundUsd(costs.llm);
    return {
      succeeded: count("succeeded"),
      budgetExceeded: count("budget_exceeded"),
      failed: count("failed") + count("timed_out"),
      cancelled: count("cancelled"),
      running: count("running"),
      queued: count("queued"),
      costUsd: { sandbox, llm, total: roundUsd(sandbox + llm) },
    };
  }
}

/** A fork's costs: its verification sandbox's apart from its own sandbox's (both booked as sandbox time). */
function forkCost(cost: { sandbox: number; llm: number }, verification: number | undefined): ForkView["costUsd"] {
  const own = cost.sandbox - (verification ?? 0);
  return {
    sandbox: roundUsd(own),
    llm: roundUsd(cost.llm),
    ...(verification !== undefined ? { verification: roundUsd(verification) } : {}),
    total: roundUsd(cost.sandbox + cost.llm),
  };
}

/** A check's output in a run's view: the last FULL_TAIL_CHARS of each (GET …/forks/:n has 64 KiB). */
function cutCheck(check: CheckResult): CheckResult {
  const cut = (text: string | undefined) => (text === undefined || text.length <= FULL_TAIL_CHARS ? text : `${TRUNCATED_MARK}${text.slice(-FULL_TAIL_CHARS)}`);
  const stdoutTail = cut(check.stdoutTail);
  const stderrTail = cut(check.stderrTail);
  return { ...check, ...(stdoutTail !== undefined ? { stdoutTail } : {}), ...(stderrTail !== undefined ? { stderrTail } : {}) };
}

function apiForkStatus(status: StoredForkStatus): ForkStatus {
  return status === "budget_wait" ? "budget_exceeded" : status === "branch_wait" ? "queued" : status;
}
