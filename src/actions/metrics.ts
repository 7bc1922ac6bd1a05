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

/**
 * The Prometheus exposition, computed on request from durable state: the D1 index (runs, ended
 * forks and their steps, exported once by each run's Orchestrator) and the Pool (leases, warm pool).
 */
export async function renderMetrics(env: Env): Promise<string> {
  const db = env.DB;
  const histogramOf = (table: string) =>
    db
      .prepare(
        `SELECT ${DURATION_BUCKETS.map((b, i) => `SUM(CASE WHEN duration_ms <= ${b * 1000} THEN 1 ELSE 0 END) AS b${i}`).join(", ")},
         COALESCE(SUM(duration_ms), 0) AS sum_ms, COUNT(*) AS n FROM ${table} WHERE duration_ms IS NOT NULL`,
      )
      .first<Record<string, number | null>>();
  const [runs, live, forks, duration, steps, costs, pool, sessions, turns, turnDuration] = await Promise.all([
    db.prepare("SELECT status, COUNT(*) AS n FROM runs GROUP BY status").all<{ status: string; n: number }>(),
    db.prepare("SELECT COALESCE(SUM(running), 0) AS running, COALESCE(SUM(queued), 0) AS queued FROM runs").first<{ running: number; queued: number }>(),
    db.prepare("SELECT status, COUNT(*) AS n FROM fork_results GROUP BY status").all<{ status: string; n: number }>(),
    histogramOf("fork_results"),
    db.prepare("SELECT step, status, SUM(attempts) AS attempts, COUNT(*) AS n FROM fork_steps GROUP BY step, status").all<{ step: string; status: string; attempts: number; n: number }>(),
    db
      .prepare("SELECT model, COALESCE(SUM(sandbox_usd), 0) AS sandbox, COALESCE(SUM(llm_usd), 0) AS llm FROM fork_results GROUP BY model")
      .all<{ model: string; sandbox: number; llm: number }>(),
    env.POOL.getByName(POOL_NAME).status(),
    db.prepare("SELECT status, COUNT(*) AS n FROM sessions GROUP BY status").all<{ status: string; n: number }>(),
    db.prepare("SELECT status, COUNT(*) AS n FROM session_turns GROUP BY status").all<{ status: string; n: number }>(),
    histogramOf("session_turns"),
  ]);
  const sessionCounts = new Map(sessions.results.map((r) => [r.status, r.n]));
  const turnCounts = new Map(turns.results.map((r) => [r.status, r.n]));

  const warm = Object.entries(pool.templates);
  const runCounts = new Map(runs.results.map((r) => [r.status, r.n]));
  const forkCounts = new Map(forks.results.map((r) => [r.status, r.n]));
  forkCounts.set("running", live?.running ?? 0);
  forkCounts.set("queued", live?.queued ?? 0);

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

  const sandboxUsd = costs.results.reduce((sum, r) => sum + r.sandbox, 0);
  const count = duration?.n ?? 0;
  return new Exposition()
    .family("forkyard_runs_total", "counter", "Runs, by current status.", RUN_STATUSES.map((status) => ({ labels: { status }, value: runCounts.get(status) ?? 0 })))
    .family("forkyard_forks_total", "counter", "Forks, by status (ended forks plus those queued or running now).", FORK_STATUSES.map((status) => ({ labels: { status }, value: forkCounts.get(status) ?? 0 })))
    .histogram(
      "forkyard_fork_duration_seconds",
      "Duration of ended forks, from their first step to their end.",
      DURATION_BUCKETS.map((le, i) => ({ le, count: Number(duration?.[`b${i}`] ?? 0) })),
      Number(duration?.sum_ms ?? 0) / 1000,
      count,
    )
    .family("forkyard_sessions", "gauge", "Sessions, by current status.", SESSION_STATUSES.map((status) => ({ labels: { status }, value: sessionCounts.get(status) ?? 0 })))
    .family("forkyard_session_turns_total", "counter", "Ended session turns, by status.", TURN_STATUSES.filter((s) => s !== "queued" && s !== "running").map((status) => ({ labels: { status }, value: turnCounts.get(status) ?? 0 })))
    .histogram(
      "forkyard_session_turn_duration_seconds",
      "Duration of ended session turns, from their start (sandbox resume included) to their end.",
      DURATION_BUCKETS.map((le, i) => ({ le, count: Number(turnDuration?.[`b${i}`] ?? 0) })),
      Number(turnDuration?.sum_ms ?? 0) / 1000,
      turnDuration?.n ?? 0,
    )
    .family(
      "forkyard_step_attempts_total",
      "counter",
      "Step attempts of ended forks: success and failure per step, retry = attempts beyond the first.",
      [...attempts].map(([key, value]) => {
        const [step = "", outcome = ""] = key.split("\u0000");
        return { labels: { step, outcome }, value };
      }),
    )
    .family("forkyard_cost_usd_total", "counter", "Cost of ended forks in USD, by kind (and model for llm).", [
      { labels: { kind: "sandbox", model: "" }, value: sandboxUsd },
      ...costs.results.filter((r) => r.model !== "").map((r) => ({ labels: { kind: "llm", model: r.model }, value: r.llm })),
    ])
    .family("forkyard_live_sandboxes", "gauge", "Sandboxes held by forks now (created or being created).", [{ value: pool.live + pool.creating }])
    .family("forkyard_paused_sandboxes", "gauge", "Sandboxes paused (not billed): idle sessions, forks waiting for budget, kept sandboxes.", [{ value: pool.paused }])
    .family("forkyard_max_live_sandboxes", "gauge", "The live-sandbox cap (MAX_LIVE_SANDBOXES).", [{ value: pool.maxLiveSandboxes }])
    .family("forkyard_forks_queued", "gauge", "Forks waiting to start.", [{ value: live?.queued ?? 0 }])
    .family("forkyard_forks_running", "gauge", "Forks running now.", [{ value: live?.running ?? 0 }])
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
    .family("forkyard_warm_overhead_usd_total", "counter", "Cost of warm sandboxes' idle time (the pool's own overhead), by template.", warm.map(([template, t]) => ({ labels: { template }, value: t.overhead.usd })))
    .toString();
}
