import type { PoolTemplateConfig } from "../../api/pool";
import type { WarmRow } from "./warm-store";

/** A warm create with no answer for this long is given up (a restarted Pool; the reaper kills what it made). */
export const STALE_WARM_CREATING_MS = 5 * 60_000;

/** How many warm sandboxes an entry keeps: min, plus its cold acquires in the last idleSeconds, up to max. */
export function warmTarget(c: PoolTemplateConfig, recentColdAcquires: number): number {
  return Math.min(c.max, c.min + recentColdAcquires);
}

export interface WarmTrim {
  /** Creates given up (no sandbox to kill). */
  stale: WarmRow[];
  /** Ready sandboxes to take out of the pool and kill. */
  doomed: WarmRow[];
}

/**
 * Which warm sandboxes go (pure): stale creates; ready ones whose entry is no longer configured,
 * idle past idleSeconds, outdated (the entry now resolves to another template id) or shed for
 * holders waiting for capacity (one running sandbox per waiter); then, per entry, the oldest
 * ready ones beyond its target. `rows` in creation order.
 */
export function planWarmTrim(input: {
  rows: WarmRow[];
  config: Record<string, PoolTemplateConfig>;
  entryIds: Map<string, string>;
  waiting: number;
  now: number;
  targetOf: (entry: string, c: PoolTemplateConfig) => number;
}): WarmTrim {
  const { rows, config, entryIds, now } = input;
  const stale: WarmRow[] = [];
  const doomed: WarmRow[] = [];
  let shed = input.waiting;
  for (const row of rows) {
    const c = config[row.template];
    if (row.state === "creating") {
      if (now - row.created_at > STALE_WARM_CREATING_MS) stale.push(row);
      continue;
    }
    const idle = row.ready_at !== null && now - row.ready_at > (c?.idleSeconds ?? 0) * 1000;
    const shedding = shed > 0 && row.state === "running";
    const outdated = (row.template_id ?? row.template) !== entryIds.get(row.template);
    if (!c || idle || shedding || outdated) {
      if (shedding) shed--;
      doomed.push(row);
    }
  }
  const gone = new Set([...stale, ...doomed]);
  for (const [entry, c] of Object.entries(config)) {
    const kept = rows.filter((r) => r.template === entry && r.state !== "creating" && !gone.has(r));
    doomed.push(...kept.slice(input.targetOf(entry, c)));
  }
  return { stale, doomed };
}

/** How many warm sandboxes to create per entry to reach its target (pure); `have` counts creating ones too. */
export function planWarmRefill(config: Record<string, PoolTemplateConfig>, have: (entry: string) => number, targetOf: (entry: string, c: PoolTemplateConfig) => number): [string, number][] {
  return Object.entries(config)
    .map(([entry, c]) => [entry, Math.max(0, targetOf(entry, c) - have(entry))] as [string, number])
    .filter(([, n]) => n > 0);
}
