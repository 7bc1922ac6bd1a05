import { FORK_STATUSES, RUN_STATUSES } from "../api/runs";
import { SESSION_STATUSES, TURN_STATUSES } from "../api/sessions";
import type { Env } from "../core/env";
import { Exposition } from "../observability/prometheus";
import { POOL_NAME } from "../protocol/events";

/** Upper bounds (seconds) of the fork duration histogram. */
const DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400];

/** Bounded step labels: `command-3` -> `command`, `tool-2-1` -> `tool`, `budget-wait-4-1` -> `budget-wait`. */
export function stepFamily(name: string): string {
  return name.replace(/(-\d+)+$/, "");
}

type Histogram = Record<string, number | null> | null;
type Counts = { results: { status: string; n: number }[] };
type PoolStatus = Awaited<ReturnType<ReturnType<Env["POOL"]["getByName"]>["status"]>>;

/** What the exposition is computed from: the D1 index's aggregates and the Pool's status, read at once. */
async function readSources(env: Env) {
  const db = env.DB;
  const histogramOf = (table: string) =>
    db
      .prepare(
        `SELECT ${DURATION_BUCKETS.map((b, i) => `SUM(CASE WHEN duration_ms <= ${b * 1000} THEN 1 ELSE 0 END) AS b${i}`).join(", ")},
         COALESCE(SUM(duration_ms), 0) AS sum_ms, COUNT(*) AS n FROM ${table} WHERE duration_ms IS NOT NULL`,
      )
      .first<Record<string, number | null>>();
  const countBy = (table: string) => db.prepare(`SELECT status, COUNT(*) AS n FROM ${table} GROUP BY status`).all<{ status: string; n: number }>();
  const [runs, live, forks, duration, steps, costs, pool, sessions, turns, turnDuration] = await Promise.all([
    countBy("runs"),
    db.prepare("SELECT COALESCE(SUM(running), 0) AS running, COALESCE(SUM(queued), 0) AS queued FROM runs").first<{ running: number; queued: number }>(),
    countBy("fork_results"),
    histogramOf("fork_results"),
    db.prepare("SELECT step, status, SUM(attempts) AS attempts, COUNT(*) AS n FROM fork_steps GROUP BY step, status").all<{ step: string; status: string; attempts: number; n: number }>(),
    db
      .prepare("SELECT model, COALESCE(SUM(sandbox_usd), 0) AS sandbox, COALESCE(SUM(llm_usd), 0) AS llm FROM fork_results GROUP BY model")
      .all<{ model: string; sandbox: number; llm: number }>(),
    env.POOL.getByName(POOL_NAME).status(),
    countBy("sessions"),
    countBy("session_turns"),
    histogramOf("session_turns"),
  ]);
  return { runs, live, forks, duration, steps, costs, pool, sessions, turns, turnDuration };
}

type Sources = Awaited<ReturnType<typeof readSources>>;

const countsOf = (counts: Counts) => new Map(counts.results.map((r) => [r.status, r.n]));

/** A duration histogram's buckets, sum (seconds) and count, as Exposition.histogram takes them. */
function durationSeries(histogram: Histogram): [{ le: number; count: number }[], number, number] {
  return [DURATION_BUCKETS.map((le, i) => ({ le, count: Number(histogram?.[`b${i}`] ?? 0) })), Number(histogram?.sum_ms ?? 0) / 1000, Number(histogram?.n ?? 0)];
}

/** Step attempts of ended forks by step family: success and failure per step, retry = attempts beyond the first. */
function stepAttempts(steps: Sources["steps"]) {
  const attempts = new Map<string, number>();
  const add = (step: string, outcome: string, n: number) => {
    const key = `${stepFamily(step)}\u0000${outcome}`;
    attempts.set(key, (attempts.get(key) ?? 0) + n);
  };
  for (const row of steps.results) {
    if (row.status === "succeeded") add(row.step, "success", row.n);
    if (row.status === "failed") add(row.step, "failure", row.n);
    add(row.step, "retry", row.attempts - row.n);
  }
  return [...attempts].map(([key, value]) => {
    const [step = "", outcome = ""] = key.split("\u0000");
    return { labels: { step, outcome }, value };
  });
}

function runFamilies(out: Exposition, s: Sources): Exposition {
  const runCounts = countsOf(s.runs);
  const forkCounts = countsOf(s.forks);
  forkCounts.set("running", s.live?.running ?? 0);
  forkCounts.set("queued", s.live?.queued ?? 0);
  const sandboxUsd = s.costs.results.reduce((sum, r) => sum + r.sandbox, 0);
  out
    .family("forkyard_runs_total", "counter", "Runs, by current status.", RUN_STATUSES.map((status) => ({ labels: { status }, value: runCounts.get(status) ?? 0 })))
    .family("forkyard_forks_total", "counter", "Forks, by status (ended forks plus those queued or running now).", FORK_STATUSES.map((status) => ({ labels: { status }, value: forkCounts.get(status) ?? 0 })));
  return out
    .histogram("forkyard_fork_duration_seconds", "Duration of ended forks, from their first step to their end.", ...durationSeries(s.duration))
    .family("forkyard_step_attempts_total", "counter", "Step attempts of ended forks: success and failure per step, retry = attempts beyond the first.", stepAttempts(s.steps))
    .family("forkyard_cost_usd_total", "counter", "Cost of ended forks in USD, by kind (and model for llm).", [
      { labels: { kind: "sandbox", model: "" }, value: sandboxUsd },
      ...s.costs.results.filter((r) => r.model !== "").map((r) => ({ labels: { kind: "llm", model: r.model }, value: r.llm })),
    ])
    .family("forkyard_forks_queued", "gauge", "Forks waiting to start.", [{ value: s.live?.queued ?? 0 }])
    .family("forkyard_forks_running", "gauge", "Forks running now.", [{ value: s.live?.running ?? 0 }]);
}

function sessionFamilies(out: Exposition, s: Sources): Exposition {
  const sessionCounts = countsOf(s.sessions);
  const turnCounts = countsOf(s.turns);
  out
    .family("forkyard_sessions", "gauge", "Sessions, by current status.", SESSION_STATUSES.map((status) => ({ labels: { status }, value: sessionCounts.get(status) ?? 0 })))
    .family("forkyard_session_turns_total", "counter", "Ended session turns, by status.", TURN_STATUSES.filter((st) => st !== "queued" && st !== "running").map((status) => ({ labels: { status }, value: turnCounts.get(status) ?? 0 })));
  return out.histogram("forkyard_session_turn_duration_seconds", "Duration of ended session turns, from their start (sandbox resume included) to their end.", ...durationSeries(s.turnDuration));
}

function poolFamilies(out: Exposition, pool: PoolStatus): Exposition {
  const warm = Object.entries(pool.templates);
  return out
    .family("forkyard_live_sandboxes", "gauge", "Sandboxes held by forks now (created or being created).", [{ value: pool.live + pool.creating }])
    .family("forkyard_paused_sandboxes", "gauge", "Sandboxes paused (not billed): idle sessions, forks waiting for budget, kept sandboxes.", [{ value: pool.paused }])
    .family("forkyard_max_live_sandboxes", "gauge", "The live-sandbox cap (MAX_LIVE_SANDBOXES).", [{ value: pool.maxLiveSandboxes }])
    .family("forkyard_reaped_sandboxes_total", "counter", "Orphaned sandboxes killed by the reaper.", [{ value: pool.reapedTotal }])
    .family(
      "forkyard_warm_sandboxes",
      "gauge",
      "Warm sandboxes ready or being created, by template and state.",
      warm.flatMap(([template, t]) => (["running", "paused", "creating"] as const).map((state) => ({ labels: { template, state }, value: t.warm[state] }))),
    )
    .family("forkyard_warm_acquires_total", "counter", "Acquires of warm-pool templates, by template and result (hit: a warm sandbox; miss: created).", [
      ...warm.flatMap(([template, t]) => [
        { labels: { template, result: "hit" }, value: t.hits },
        { labels: { template, result: "miss" }, value: t.misses },
      ]),
    ])
    .family("forkyard_warm_overhead_usd_total", "counter", "Cost of warm sandboxes' idle time (the pool's own overhead), by template.", warm.map(([template, t]) => ({ labels: { template }, value: t.overhead.usd })));
}

/**
 * The Prometheus exposition, computed on request from durable state: the D1 index (runs, ended
 * forks and their steps, exported once by each run's Orchestrator) and the Pool (leases, warm pool).
 */
export async function renderMetrics(env: Env): Promise<string> {
  const sources = await readSources(env);
  return poolFamilies(sessionFamilies(runFamilies(new Exposition(), sources), sources), sources.pool).toString();
}
