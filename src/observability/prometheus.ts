/** Prometheus text exposition (format 0.0.4): metric families with HELP/TYPE and escaped labels. */
export type Labels = Record<string, string>;

export interface Sample {
  labels?: Labels;
  value: number;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatLabels(labels: Labels | undefined): string {
  const entries = Object.entries(labels ?? {});
  return entries.length === 0 ? "" : `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  return String(value);
}

export class Exposition {
  readonly #lines: string[] = [];

  family(name: string, type: "counter" | "gauge", help: string, samples: Sample[]): this {
    this.#lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const s of samples) this.#lines.push(`${name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
    return this;
  }

  /** A histogram from cumulative bucket counts (upper bounds ascending, +Inf added), sum and count. */
  histogram(name: string, help: string, buckets: { le: number; count: number }[], sum: number, count: number): this {
    this.#lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
    for (const b of buckets) this.#lines.push(`${name}_bucket{le="${b.le}"} ${b.count}`);
    this.#lines.push(`${name}_bucket{le="+Inf"} ${count}`, `${name}_sum ${formatValue(sum)}`, `${name}_count ${count}`);
    return this;
  }

  toString(): string {
    return `${this.#lines.join("\n")}\n`;
  }
}
