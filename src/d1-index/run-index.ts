import type { ListRunsQuery, RunStatus, RunSummary, RunView } from "../api/runs";
import { encodeCursor, pageFilter } from "../api/cursor";
import type { ForkExport } from "../objects/orchestrator/run-store";
import { runTitle, taskSummary } from "../api/run-title";

/** The D1 cross-run index behind GET /v1/runs; each Orchestrator keeps its own row current. */
/** What the index keeps of a run: no fork, so keeping it current costs the same at any size. */
export type IndexedRun = Pick<RunView, "id" | "status" | "request" | "createdAt" | "updatedAt" | "totals">;

export async function upsertRunSummary(db: D1Database, view: IndexedRun, requestHash: string, idempotencyKey: string | null): Promise<void> {
  await db
    .prepare(
      `INSERT INTO runs (id, status, repo, branch, forks, succeeded, failed, cost_usd, idempotency_key, request_hash, created_at, updated_at, running, queued, github_thread, cancelled, budget_exceeded, title, task_summary)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)
       ON CONFLICT (id) DO UPDATE SET status = ?2, forks = ?5, succeeded = ?6, failed = ?7, cost_usd = ?8, updated_at = ?12, running = ?13, queued = ?14, cancelled = ?16, budget_exceeded = ?17, title = ?18, task_summary = ?19`,
    )
    .bind(
      view.id,
      view.status,
      view.request.repo,
      view.request.branch,
      forkCount(view),
      view.totals.succeeded,
      view.totals.failed,
      view.totals.costUsd.total,
      idempotencyKey,
      requestHash,
      view.createdAt,
      view.updatedAt,
      view.totals.running,
      view.totals.queued,
      view.request.github ? githubThread(view.request.github) : null,
      view.totals.cancelled,
      view.totals.budgetExceeded,
      runTitle(view.request.task, view.request.title),
      taskSummary(view.request.task),
    )
    .run();
}

/**
 * How many forks the run has: every fork counted by status (branched forks included), at least the
 * number requested (before they are all created).
 */
export function forkCount(view: Pick<IndexedRun, "request" | "totals">): number {
  const t = view.totals;
  return Math.max(view.request.forks, t.succeeded + t.failed + t.cancelled + t.budgetExceeded + t.running + t.queued);
}

/** A GitHub issue or pull request, as the index keys it: `owner/repo#number`. */
export function githubThread(thread: { owner: string; repo: string; issueNumber: number }): string {
  return `${thread.owner}/${thread.repo}`.toLowerCase() + `#${thread.issueNumber}`;
}

/** The newest run that reports to a GitHub issue or pull request (its `github` target), if any. */
export async function latestRunOnThread(db: D1Database, thread: { owner: string; repo: string; issueNumber: number }): Promise<string | null> {
  const row = await db.prepare("SELECT id FROM runs WHERE github_thread = ? ORDER BY created_at DESC, id DESC LIMIT 1").bind(githubThread(thread)).first<{ id: string }>();
  return row?.id ?? null;
}

/** Writes ended forks and their steps to the metrics tables; repeating it changes nothing. */
export async function exportForkResults(db: D1Database, runId: string, forks: ForkExport[]): Promise<void> {
  if (forks.length === 0) return;
  const statements: D1PreparedStatement[] = [];
  for (const f of forks) {
    statements.push(
      db
        // Replaced, not ignored: a fork that a budget raise continued after a budget stop ended it is exported again at its new end.
        .prepare("INSERT OR REPLACE INTO fork_results (run_id, n, status, duration_ms, sandbox_usd, llm_usd, model, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(runId, f.n, f.status, f.durationMs, f.sandboxUsd, f.llmUsd, f.model, f.finishedAt),
    );
    for (const step of f.steps) {
      statements.push(db.prepare("INSERT OR REPLACE INTO fork_steps (run_id, n, step, attempts, status) VALUES (?, ?, ?, ?, ?)").bind(runId, f.n, step.name, step.attempts, step.status));
    }
  }
  await db.batch(statements);
}

interface RunRow {
  id: string;
  status: RunStatus;
  title: string;
  task_summary: string;
  repo: string;
  branch: string;
  forks: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  budget_exceeded: number;
  cost_usd: number;
  created_at: string;
  updated_at: string;
}

/** Newest first, keyset-paginated; filtered by status, repository and text (title or task). */
export async function listRuns(db: D1Database, query: ListRunsQuery): Promise<{ runs: RunSummary[]; nextCursor: string | null }> {
  const { where, binds } = pageFilter(query, runFilters(query));
  const sql = `SELECT id, status, title, task_summary, repo, branch, forks, succeeded, failed, cancelled, budget_exceeded, cost_usd, created_at, updated_at FROM runs
    ${where} ORDER BY created_at DESC, id DESC LIMIT ?`;
  const rows = (await db.prepare(sql).bind(...binds, query.limit + 1).all<RunRow>()).results;
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    runs: page.map((r) => ({
      id: r.id,
      status: r.status,
      title: r.title,
      task: r.task_summary,
      repo: r.repo,
      branch: r.branch,
      forks: r.forks,
      succeeded: r.succeeded,
      failed: r.failed,
      cancelled: r.cancelled,
      budgetExceeded: r.budget_exceeded,
      costUsd: r.cost_usd,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    })),
    nextCursor: rows.length > query.limit && last ? encodeCursor(last.created_at, last.id) : null,
  };
}

/** LIKE's wildcards and its escape character, taken literally. */
function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The list's filters beyond status: one repository, a text in the title or the task. */
function runFilters(query: Pick<ListRunsQuery, "repo" | "q">): { clauses: string[]; binds: unknown[] } {
  const clauses: string[] = [];
  const binds: unknown[] = [];
  if (query.repo) {
    clauses.push("repo = ?");
    binds.push(normalRepo(query.repo));
  }
  if (query.q) {
    clauses.push("(title LIKE ? ESCAPE '\\' OR task_summary LIKE ? ESCAPE '\\')");
    binds.push(likePattern(query.q), likePattern(query.q));
  }
  return { clauses, binds };
}

/** A repository as runs store it (src/api/repo.ts): a URL in its normal form, a path as given. */
function normalRepo(repo: string): string {
  if (repo.startsWith("/")) return repo;
  try {
    return new URL(repo).toString();
  } catch {
    return repo;
  }
}
