/**
 * The eval page's charts as plain values (no DOM, so unit tests read them): which configs form a
 * series, where each point, error bar and tick goes. A series is the configs that differ only in N
 * (same model, judge and strategy), drawn as a line over N; x is N on a log scale (1, 2, 4, 8 evenly
 * spaced), y a rate in [0, 1] or a cost from $0. A config without a figure yet (no task counted, or
 * none solved for the cost per solved task) has no point. The page draws these as SVG
 * (views/eval/eval-chart-view.ts).
 */
import type { ConfigResults, EvalView } from "./api-types.ts";

export type ChartConfig = EvalView["configs"][number];
export type PassMetric = "selectedPass" | "oraclePassAtN" | "passAt1";

export const PASS_METRICS: Record<PassMetric, string> = {
  selectedPass: "Selected pass",
  oraclePassAtN: "Oracle pass@N",
  passAt1: "pass@1",
};

export interface ChartPoint {
  config: string;
  n: number;
  value: number;
  low: number | null;
  high: number | null;
  x: number;
  y: number;
  /** The error bar's ends (y of the interval's high and low), when the API gave an interval. */
  bar: { top: number; bottom: number } | null;
  /** Spoken and shown on hover: "n4 (N = 4): 50 % (95 % CI 9 %–91 %)". */
  label: string;
}

export interface ChartSeries {
  key: string;
  /** "sonnet", "sonnet · tournament", "haiku · adaptive from 2": the legend's words. */
  label: string;
  /** Its colour and marker (0-based, in the order the configs are listed). */
  index: number;
  points: ChartPoint[];
}

export interface Tick {
  at: number;
  label: string;
}

export interface ChartModel {
  width: number;
  height: number;
  /** The plot area inside the axes. */
  plot: { left: number; top: number; right: number; bottom: number };
  xTicks: Tick[];
  yTicks: Tick[];
  xLabel: string;
  yLabel: string;
  series: ChartSeries[];
  /** What the chart shows, in words (its <desc>). */
  description: string;
}

export const CHART_SIZE = { width: 520, height: 300 };
const MARGIN = { left: 80, right: 18, top: 16, bottom: 48 };
/** Room between the axis and the first and last N. */
const X_INSET = 24;

/** A config's N: its forks (an adaptive strategy's `max`). */
export const configN = (c: ChartConfig): number => (c.strategy ? c.strategy.max : c.forks);

/** What sets a config apart besides its N: the model, the judge, the strategy. */
export function familyLabel(c: ChartConfig): string {
  const parts = [c.model];
  if (c.judge?.mode === "tournament") parts.push("tournament");
  else if (c.judge?.llm) parts.push("LLM judge" + (c.judge.llm.model ? " " + c.judge.llm.model : ""));
  if (c.strategy) parts.push("adaptive from " + c.strategy.initial + (typeof c.strategy.until === "string" ? "" : " to score " + c.strategy.until.minScore));
  return parts.join(" · ");
}

/** The configs grouped into series: same family, one config per N (a second config at the same N gets a series of its own). */
export function groupSeries(configs: readonly ChartConfig[]): { key: string; label: string; configs: ChartConfig[] }[] {
  const groups: { key: string; label: string; configs: ChartConfig[] }[] = [];
  for (const c of configs) {
    const family = JSON.stringify([c.model, c.judge ?? null, c.strategy ? { ...c.strategy, max: 0 } : null]);
    const group = groups.find((g) => g.key === family && !g.configs.some((o) => configN(o) === configN(c)));
    if (group) group.configs.push(c);
    else {
      const taken = groups.some((g) => g.key === family);
      groups.push({ key: family, label: familyLabel(c) + (taken ? " (" + c.name + ")" : ""), configs: [c] });
    }
  }
  for (const g of groups) g.configs.sort((a, b) => configN(a) - configN(b));
  return groups;
}

export const pct = (v: number): string => Math.round(v * 100) + " %";

/** A dollar amount with as many decimals as `step` needs (at least two). */
export function usd(v: number, step = v): string {
  let decimals = 2;
  while (decimals < 6 && Math.abs(step * 10 ** decimals - Math.round(step * 10 ** decimals)) > 1e-6) decimals++;
  return "$" + v.toFixed(decimals);
}

/** A round step (1, 2, 2.5 or 5 × 10^k) giving about `count` intervals up to max. */
export function niceStep(max: number, count = 4): number {
  if (!(max > 0)) return 1;
  const raw = max / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw * 0.999)!;
  return step;
}

/** x of each N: log2 spacing between the smallest and largest N (one N alone sits in the middle). */
function xScale(ns: readonly number[], left: number, right: number): (n: number) => number {
  const lo = Math.log2(Math.min(...ns));
  const hi = Math.log2(Math.max(...ns));
  if (!(hi > lo)) return () => (left + right) / 2;
  return (n) => left + X_INSET + ((Math.log2(n) - lo) / (hi - lo)) * (right - left - 2 * X_INSET);
}

interface Axis {
  max: number;
  ticks: number[];
  format: (v: number) => string;
}

function buildChart(configs: readonly ChartConfig[], pick: (c: ChartConfig) => { value: number; low: number | null; high: number | null } | null, axis: (values: number[]) => Axis, text: { xLabel: string; yLabel: string; title: string }, size = CHART_SIZE): ChartModel {
  const plot = { left: MARGIN.left, top: MARGIN.top, right: size.width - MARGIN.right, bottom: size.height - MARGIN.bottom };
  const ns = [...new Set(configs.map(configN))].sort((a, b) => a - b);
  const x = ns.length ? xScale(ns, plot.left, plot.right) : () => plot.left;
  const figures = new Map(configs.map((c) => [c.name, pick(c)]));
  const values = [...figures.values()].flatMap((f) => (f ? [f.value, f.high ?? f.value] : []));
  const { max, ticks, format } = axis(values);
  const y = (v: number) => plot.bottom - (Math.min(Math.max(v, 0), max) / max) * (plot.bottom - plot.top);
  const series = groupSeries(configs).map((g, index): ChartSeries => ({
    key: g.key,
    label: g.label,
    index,
    points: g.configs.flatMap((c) => {
      const f = figures.get(c.name);
      if (!f) return [];
      const n = configN(c);
      const interval = f.low !== null && f.high !== null ? { low: f.low, high: f.high } : null;
      const label = c.name + " (N = " + n + "): " + format(f.value) + (interval ? " (95 % CI " + format(interval.low) + "–" + format(interval.high) + ")" : "");
      return [{ config: c.name, n, value: f.value, low: f.low, high: f.high, x: x(n), y: y(f.value), bar: interval ? { top: y(interval.high), bottom: y(interval.low) } : null, label }];
    }),
  }));
  const described = series.map((s) => s.label + ": " + (s.points.length ? s.points.map((p) => p.label).join("; ") : "no figure yet"));
  return {
    width: size.width,
    height: size.height,
    plot,
    xTicks: ns.map((n) => ({ at: x(n), label: String(n) })),
    yTicks: ticks.map((v) => ({ at: y(v), label: format(v) })),
    xLabel: text.xLabel,
    yLabel: text.yLabel,
    series,
    description: text.title + ", one line per model (configs that differ only in N). " + (described.length ? described.join(". ") + "." : "No configs.") + " The results table has every figure.",
  };
}

const rateAxis = (): Axis => ({ max: 1, ticks: [0, 0.25, 0.5, 0.75, 1], format: pct });

function costAxis(values: number[]): Axis {
  const top = Math.max(0, ...values);
  const step = niceStep(top);
  const count = Math.max(1, Math.ceil(top / step - 1e-9));
  return { max: step * count, ticks: Array.from({ length: count + 1 }, (_, i) => i * step), format: (v) => usd(v, step) };
}

/** Pass rate (one of the three) against N, with its 95 % intervals as error bars. */
export function passChart(configs: readonly ChartConfig[], results: readonly ConfigResults[], metric: PassMetric, size = CHART_SIZE): ChartModel {
  const byName = new Map(results.map((r) => [r.config, r]));
  const name = PASS_METRICS[metric];
  return buildChart(
    configs,
    (c) => {
      const f = byName.get(c.name)?.[metric];
      return f && f.value !== null ? { value: f.value, low: f.low, high: f.high } : null;
    },
    rateAxis,
    { xLabel: "N (forks per task, log scale)", yLabel: name, title: name + " against N" },
    size,
  );
}

/** Cost per solved task against N (no interval: the API gives none). */
export function costChart(configs: readonly ChartConfig[], results: readonly ConfigResults[], size = CHART_SIZE): ChartModel {
  const byName = new Map(results.map((r) => [r.config, r]));
  return buildChart(
    configs,
    (c) => {
      const v = byName.get(c.name)?.costPerSolvedTaskUsd;
      return typeof v === "number" ? { value: v, low: null, high: null } : null;
    },
    costAxis,
    { xLabel: "N (forks per task, log scale)", yLabel: "Cost per solved task", title: "Cost per solved task against N" },
    size,
  );
}
