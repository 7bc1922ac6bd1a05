/**
 * ops/grafana/forkyard.json against the exporter (src/actions/metrics.ts): every query uses
 * only metrics GET /metrics exports, with labels and label values they really have, through the
 * datasource variable; so neither can change without the other.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { forkStatus, runStatus } from "../../src/api/runs.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const dashboard = JSON.parse(readFileSync(join(ROOT, "ops/grafana/forkyard.json"), "utf8")) as Dashboard;
const exporterSource = readFileSync(join(ROOT, "src/actions/metrics.ts"), "utf8");

interface Target {
  refId: string;
  expr: string;
  legendFormat?: string;
  datasource?: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  templating: { list: { name: string; type: string; query: string }[] };
  panels: Panel[];
}

/** The metrics the issue asks the dashboard to cover (each must be exported and used). */
const REQUIRED_METRICS = [
  "forkyard_runs_total",
  "forkyard_forks_total",
  "forkyard_fork_duration_seconds",
  "forkyard_step_attempts_total",
  "forkyard_cost_usd_total",
  "forkyard_live_sandboxes",
  "forkyard_forks_queued",
  "forkyard_forks_running",
  "forkyard_reaped_sandboxes_total",
];

/** Labels of each exported family (besides Prometheus' own job/instance). */
const LABELS: Record<string, string[]> = {
  forkyard_runs_total: ["status"],
  forkyard_forks_total: ["status"],
  forkyard_fork_duration_seconds_bucket: ["le"],
  forkyard_step_attempts_total: ["step", "outcome"],
  forkyard_cost_usd_total: ["kind", "model"],
};
const PROM_LABELS = ["job", "instance"];

/** Families the exporter declares: `.family("name", …)` and `.histogram("name", …)` (with its series). */
function exportedMetrics(): Set<string> {
  const names = new Set<string>();
  for (const m of exporterSource.matchAll(/\.(family|histogram)\(\s*"([a-z_:][a-z0-9_:]*)"/g)) {
    const [, kind, name] = m as unknown as [string, string, string];
    if (kind === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) names.add(name + suffix);
    else names.add(name);
  }
  return names;
}

const PROMQL_WORDS = new Set([
  "sum", "min", "max", "avg", "count", "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset",
  "rate", "irate", "increase", "delta", "histogram_quantile", "clamp_min", "clamp_max", "topk", "bottomk", "abs", "round", "vector", "scalar",
  "max_over_time", "min_over_time", "avg_over_time", "last_over_time", "sum_over_time", "label_replace",
]);

/** Metric-like identifiers of an expression: what is left once strings, ranges, label sets, grouping clauses and numbers are gone. */
function identifiers(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\{[^}]*\}/g, "")
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, "$1")
    .replace(/\$__\w+/g, "")
    .replace(/\b\d+(\.\d+)?([eE][-+]?\d+)?\b/g, "");
  return [...stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)].map((m) => m[0]);
}

/** `metric{a="x", b=~"y|z"}` selectors of an expression. */
function selectors(expr: string): { metric: string; matchers: { label: string; op: string; value: string }[] }[] {
  return [...expr.matchAll(/([a-z_:][a-z0-9_:]*)\s*\{([^}]*)\}/g)].map((m) => ({
    metric: m[1]!,
    matchers: [...m[2]!.matchAll(/([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)].map((x) => ({ label: x[1]!, op: x[2]!, value: x[3]! })),
  }));
}

function groupingLabels(expr: string): string[] {
  return [...expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap((m) => m[1]!.split(",").map((s) => s.trim()).filter(Boolean));
}

const queryPanels = dashboard.panels.filter((p) => p.type !== "row");
const targets = queryPanels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, ...t })));

describe("Grafana dashboard ops/grafana/forkyard.json", () => {
  it("is a dashboard of schemaVersion 39+ with a Prometheus datasource variable used everywhere", () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    expect(dashboard.uid).toBe("forkyard");
    expect(dashboard.templating.list).toContainEqual(expect.objectContaining({ name: "DS_PROMETHEUS", type: "datasource", query: "prometheus" }));
    expect(queryPanels.length).toBeGreaterThanOrEqual(8);
    for (const panel of queryPanels) {
      expect(panel.datasource, panel.title).toEqual({ type: "prometheus", uid: "${DS_PROMETHEUS}" });
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const t of panel.targets ?? []) expect(t.datasource?.uid ?? panel.datasource?.uid, `${panel.title} ${t.refId}`).toBe("${DS_PROMETHEUS}");
    }
  });

  it("lays panels out on the 24-column grid without overlaps, with unique ids", () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Map<string, string>();
    for (const p of dashboard.panels) {
      const { x, y, w, h } = p.gridPos;
      expect(x + w, p.title).toBeLessThanOrEqual(24);
      for (let i = x; i < x + w; i++)
        for (let j = y; j < y + h; j++) {
          const key = `${i},${j}`;
          expect(cells.get(key), `${p.title} overlaps ${cells.get(key)}`).toBeUndefined();
          cells.set(key, p.title);
        }
    }
  });

  it("has the exporter declare every metric the issue lists", () => {
    const exported = exportedMetrics();
    for (const name of REQUIRED_METRICS) {
      const series = name === "forkyard_fork_duration_seconds" ? `${name}_bucket` : name;
      expect(exported, name).toContain(series);
    }
  });

  it("queries only metrics the exporter exports, and uses every listed one", () => {
    const exported = exportedMetrics();
    const used = new Set<string>();
    for (const t of targets) {
      for (const id of identifiers(t.expr)) {
        if (PROMQL_WORDS.has(id)) continue;
        expect(exported, `${t.panel}: ${t.expr} uses "${id}"`).toContain(id);
        used.add(id);
      }
    }
    for (const name of REQUIRED_METRICS) expect([...used].some((u) => u === name || u.startsWith(`${name}_`)), `${name} unused`).toBe(true);
  });

  it("uses only labels and label values the metrics have", () => {
    const outcomes = new Set([...exporterSource.matchAll(/add\(row\.step, "(\w+)"/g)].map((m) => m[1]!));
    expect([...outcomes].sort()).toEqual(["failure", "retry", "success"]);
    const values: Record<string, Set<string>> = {
      outcome: outcomes,
      kind: new Set(["sandbox", "llm"]),
      status: new Set([...forkStatus.options, ...runStatus.options]),
    };
    for (const t of targets) {
      const inExpr = selectors(t.expr);
      for (const { metric, matchers } of inExpr) {
        for (const { label, op, value } of matchers) {
          expect([...(LABELS[metric] ?? []), ...PROM_LABELS], `${t.panel}: ${metric} has no label ${label}`).toContain(label);
          const known = values[label];
          if (!known) continue;
          const listed = op.endsWith("~") ? value.split("|") : [value];
          for (const v of listed) expect(known, `${t.panel}: ${label}="${v}"`).toContain(v);
        }
      }
      const metrics = identifiers(t.expr).filter((id) => !PROMQL_WORDS.has(id));
      const available = new Set([...metrics.flatMap((m) => LABELS[m] ?? []), ...PROM_LABELS]);
      for (const label of groupingLabels(t.expr)) expect(available, `${t.panel}: grouping by ${label} in ${t.expr}`).toContain(label);
      for (const m of (t.legendFormat ?? "").matchAll(/\{\{\s*(\w+)\s*\}\}/g)) {
        expect(groupingLabels(t.expr), `${t.panel}: legend {{${m[1]}}} not kept by the query`).toContain(m[1]);
      }
    }
  });

  it("has the panels the issue asks for", () => {
    const titles = queryPanels.map((p) => p.title);
    for (const title of [
      "Runs by status",
      "Fork outcomes (per hour)",
      "Fork duration p50 / p95",
      "Step retries by step (per hour)",
      "Cost per hour by kind and model",
      "Live sandboxes vs cap",
      "Queued and running forks",
      "Reaped sandboxes (per hour)",
    ]) {
      expect(titles).toContain(title);
    }
    const quantiles = targets.filter((t) => t.panel === "Fork duration p50 / p95").map((t) => t.expr);
    expect(quantiles.some((e) => e.startsWith("histogram_quantile(0.5,"))).toBe(true);
    expect(quantiles.some((e) => e.startsWith("histogram_quantile(0.95,"))).toBe(true);
  });
});
