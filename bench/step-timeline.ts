/**
 * Where a fork's time goes, from a run's event log: for each step (in order), the median time inside
 * it (the step's own durationMs: its start report and its body) and the median gap before it (the
 * previous step's finish to this step's start: the engine's checkpoint and scheduling, and the
 * fork's reports to the Orchestrator).
 */
import type { RunEventRecord } from "../scripts/api-client.ts";
import { median } from "./stats.ts";

export function stepTimeline(events: RunEventRecord[]): (string | number)[][] {
  const inside = new Map<string, number[]>();
  const before = new Map<string, number[]>();
  const last = new Map<number, number>();
  const push = (map: Map<string, number[]>, key: string, value: number) => map.set(key, [...(map.get(key) ?? []), value]);
  for (const event of events) {
    if (event.type === "run.created") last.clear(); // the events of several runs, one after another
    if (event.fork === null) continue;
    const at = Date.parse(event.at);
    const step = String(event.step ?? "");
    if (event.type === "step.started") {
      const previous = last.get(event.fork);
      if (previous !== undefined) push(before, step, at - previous);
    } else if (event.type === "step.finished") {
      push(inside, step, Number(event.durationMs));
      last.set(event.fork, at);
    }
  }
  // The first step has no "before": the fork's start is recorded inside it.
  return [...inside.keys()].map((step) => [step, before.has(step) ? median(before.get(step)!) : "", median(inside.get(step)!)]);
}
