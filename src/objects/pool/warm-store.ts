import type { PoolTemplateConfig, PoolTemplateStatus, WarmMode } from "../../api/pool";
import type { SandboxHandle } from "../../sandbox/handle";

/** A warm sandbox: created ahead of demand for a template, handed to exactly one fork. */
export interface WarmRow extends Record<string, SqlStorageValue> {
  /** Its lease tag (`warm-…`), so the reaper and a restarted Pool know it is the pool's own. */
  key: string;
  /** The pool entry it belongs to: a template, alias or profile name, as configured. */
  template: string;
  /** The template id it was created from (the entry resolved then). */
  template_id: string | null;
  sandbox_id: string | null;
  state: "creating" | "running" | "paused";
  created_at: number;
  /** When it became ready (running or paused); idle time counts from here. */
  ready_at: number | null;
  handle: string | null;
}

interface ConfigRow extends Record<string, SqlStorageValue> {
  template: string;
  min: number;
  max: number;
  idle_seconds: number;
  mode: WarmMode;
}

/** Samples kept per template and kind for the acquire-latency percentiles. */
const LATENCY_SAMPLES = 500;

/**
 * The warm pool's durable state inside the Pool object: the per-template configuration, the warm
 * sandboxes, hit/miss counters, the idle time booked as overhead, and acquire-latency samples.
 * Pure bookkeeping (no provider calls, no DDL: schema.ts makes its tables): the Pool decides when
 * to create, hand out and trim.
 */
export class WarmStore {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  configure(templates: Record<string, PoolTemplateConfig>): void {
    this.#sql.exec("DELETE FROM warm_config");
    for (const [template, c] of Object.entries(templates)) {
      this.#sql.exec("INSERT INTO warm_config (template, min, max, idle_seconds, mode) VALUES (?, ?, ?, ?, ?)", template, c.min, c.max, c.idleSeconds, c.mode);
    }
  }

  config(): Record<string, PoolTemplateConfig> {
    const rows = this.#sql.exec<ConfigRow>("SELECT * FROM warm_config ORDER BY template").toArray();
    return Object.fromEntries(rows.map((r) => [r.template, { min: r.min, max: r.max, idleSeconds: r.idle_seconds, mode: r.mode }]));
  }

  templateConfig(template: string): PoolTemplateConfig | undefined {
    return this.config()[template];
  }

  rows(template?: string): WarmRow[] {
    return template === undefined
      ? this.#sql.exec<WarmRow>("SELECT * FROM warm ORDER BY created_at").toArray()
      : this.#sql.exec<WarmRow>("SELECT * FROM warm WHERE template = ? ORDER BY created_at", template).toArray();
  }

  row(key: string): WarmRow | undefined {
    return this.#sql.exec<WarmRow>("SELECT * FROM warm WHERE key = ?", key).toArray()[0];
  }

  /** Warm sandboxes that count against the live cap: being created or running. */
  liveCount(): number {
    return this.#sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM warm WHERE state IN ('creating','running')").one().n;
  }

  /** Whether a ready sandbox made from templateId can be handed out (a paused one only when allowed to resume). */
  hasReady(templateId: string, resumable: boolean, now: number): boolean {
    return this.#ready(templateId, resumable, now) !== undefined;
  }

  /**
   * Takes the oldest ready sandbox of a template out of the pool (running ones first), booking its
   * idle time and a hit. The caller hands it to one holder; it never comes back.
   */
  take(templateId: string, resumable: boolean, now: number): WarmRow | undefined {
    const row = this.#ready(templateId, resumable, now);
    if (!row) return undefined;
    this.#sql.exec("DELETE FROM warm WHERE key = ?", row.key);
    this.#bookIdle(row, now);
    this.#count(row.template, "hits");
    return row;
  }

  /**
   * The sandbox `take` would hand out. A running one only while younger than its template's
   * idleSeconds: created with idleSeconds plus a margin to live, it has that margin left at least
   * for the holder to extend its timeout.
   */
  #ready(templateId: string, resumable: boolean, now: number): WarmRow | undefined {
    const config = this.config();
    return this.#sql
      .exec<WarmRow>("SELECT * FROM warm WHERE template_id = ? AND (state = 'running' OR (? AND state = 'paused')) ORDER BY state = 'running' DESC, ready_at", templateId, resumable ? 1 : 0)
      .toArray()
      .find((row) => {
        const idleSeconds = config[row.template]?.idleSeconds;
        return idleSeconds !== undefined && (row.state === "paused" || row.created_at > now - idleSeconds * 1000);
      });
  }

  /** A holder of a configured template found nothing warm. */
  miss(template: string): void {
    if (this.templateConfig(template)) this.#count(template, "misses");
  }

  insertCreating(key: string, template: string, templateId: string, now: number): void {
    this.#sql.exec("INSERT INTO warm (key, template, template_id, state, created_at) VALUES (?, ?, ?, 'creating', ?)", key, template, templateId, now);
  }

  markReady(key: string, state: "running" | "paused", sandboxId: string, handle: SandboxHandle, now: number): boolean {
    return this.#sql.exec("UPDATE warm SET state = ?, sandbox_id = ?, handle = ?, ready_at = ? WHERE key = ?", state, sandboxId, JSON.stringify(handle), now, key).rowsWritten > 0;
  }

  /** Removes a warm sandbox (trimmed, gone, or its create failed), booking its idle time. */
  remove(row: WarmRow, now: number): void {
    this.#sql.exec("DELETE FROM warm WHERE key = ?", row.key);
    this.#bookIdle(row, now);
  }

  recordAcquire(template: string, kind: "warm" | "cold", ms: number, now: number): void {
    this.#sql.exec("INSERT INTO acquire_samples (template, kind, ms, at) VALUES (?, ?, ?, ?)", template, kind, Math.round(ms), now);
    this.#sql.exec(
      "DELETE FROM acquire_samples WHERE template = ? AND kind = ? AND seq <= (SELECT seq FROM acquire_samples WHERE template = ? AND kind = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)",
      template,
      kind,
      template,
      kind,
      LATENCY_SAMPLES,
    );
  }

  /** Cold acquires of a template since `since`: demand the warm target follows, up to max. */
  coldSince(template: string, since: number): number {
    return this.#sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM acquire_samples WHERE template = ? AND kind = 'cold' AND at >= ?", template, since).one().n;
  }

  /** Templates with a config or warm sandboxes: what the Pool's alarm looks after. */
  active(): boolean {
    return this.#sql.exec<{ n: number }>("SELECT (SELECT COUNT(*) FROM warm_config WHERE min > 0) + (SELECT COUNT(*) FROM warm) AS n").one().n > 0;
  }

  /** Per template: config, warm counts, hits and misses, acquire latency, idle time booked. */
  status(now: number, costOf: (seconds: number) => number): Record<string, PoolTemplateStatus> {
    const config = this.config();
    const stats = this.#sql.exec<{ template: string; hits: number; misses: number; idle_ms: number }>("SELECT * FROM warm_stats").toArray();
    const rows = this.rows();
    const sampled = this.#sql.exec<{ template: string }>("SELECT DISTINCT template FROM acquire_samples").toArray();
    const templates = new Set([...Object.keys(config), ...stats.map((s) => s.template), ...rows.map((r) => r.template), ...sampled.map((s) => s.template)]);
    const out: Record<string, PoolTemplateStatus> = {};
    for (const template of [...templates].sort()) {
      const s = stats.find((x) => x.template === template) ?? { hits: 0, misses: 0, idle_ms: 0 };
      const mine = rows.filter((r) => r.template === template);
      // Idle time of sandboxes still warm counts too (booked for good when they leave).
      const idleSeconds = (s.idle_ms + mine.reduce((sum, r) => sum + runningIdleMs(r, now), 0)) / 1000;
      out[template] = {
        ...(config[template] ?? { min: 0, max: 0, idleSeconds: 0, mode: "running" }),
        warm: { running: count(mine, "running"), paused: count(mine, "paused"), creating: count(mine, "creating") },
        hits: s.hits,
        misses: s.misses,
        hitRate: s.hits + s.misses > 0 ? s.hits / (s.hits + s.misses) : null,
        acquireMs: { warm: this.#latency(template, "warm"), cold: this.#latency(template, "cold") },
        overhead: { sandboxSeconds: Math.round(idleSeconds * 10) / 10, usd: costOf(idleSeconds) },
      };
    }
    return out;
  }

  #latency(template: string, kind: "warm" | "cold"): { count: number; p50: number | null; p95: number | null } {
    const ms = this.#sql.exec<{ ms: number }>("SELECT ms FROM acquire_samples WHERE template = ? AND kind = ? ORDER BY ms", template, kind).toArray().map((r) => r.ms);
    const at = (p: number) => (ms.length === 0 ? null : ms[Math.min(ms.length - 1, Math.floor((p / 100) * ms.length))]!);
    return { count: ms.length, p50: at(50), p95: at(95) };
  }

  #bookIdle(row: WarmRow, now: number): void {
    const idle = runningIdleMs(row, now);
    if (idle > 0) this.#sql.exec("INSERT INTO warm_stats (template, idle_ms) VALUES (?, ?) ON CONFLICT (template) DO UPDATE SET idle_ms = idle_ms + excluded.idle_ms", row.template, idle);
  }

  #count(template: string, column: "hits" | "misses"): void {
    this.#sql.exec(`INSERT INTO warm_stats (template, ${column}) VALUES (?, 1) ON CONFLICT (template) DO UPDATE SET ${column} = ${column} + 1`, template);
  }
}

/** Billed time a warm sandbox spent waiting: running ones from creation on; paused ones only until they were paused. */
function runningIdleMs(row: WarmRow, now: number): number {
  if (row.state === "running") return Math.max(0, now - row.created_at);
  if (row.state === "paused" && row.ready_at !== null) return Math.max(0, row.ready_at - row.created_at);
  return 0;
}

function count(rows: WarmRow[], state: WarmRow["state"]): number {
  return rows.filter((r) => r.state === state).length;
}
