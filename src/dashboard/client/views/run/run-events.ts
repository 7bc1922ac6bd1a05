/** A run's events as lines of its event log, newest first. */
import type { RunEvent } from "../../lib/api-types.ts";
import { h, human } from "../../lib/dom.ts";
import { clock, fmtMs, fmtUsd, plural } from "../../lib/format.ts";

const EVENT_LOG_MAX = 200;

/** The fields events of each type carry beside the common ones (the stream's data is loose JSON). */
type EventFields = RunEvent &
  Partial<{
    forks: number;
    step: string;
    attempt: number;
    ok: boolean;
    durationMs: number;
    error: { message?: string } | string;
    command: string;
    exitCode: number;
    usd: number;
    kind: string;
    spentUsd: number;
    position: number;
    status: string;
    budgetUsd: number;
  }>;

export function describeEvent(event: RunEvent): string {
  const e = event as EventFields;
  const step = e.step ?? "";
  switch (e.type) {
    case "run.created": return "Run created with " + plural(e.forks ?? 0, "fork");
    case "fork.started": return "Started";
    case "step.started": return "Step " + step + " started" + ((e.attempt ?? 1) > 1 ? " (attempt " + e.attempt + ")" : "");
    case "step.finished": {
      const message = typeof e.error === "object" ? e.error.message : undefined;
      return "Step " + step + (e.ok ? " done" : " failed") + " in " + fmtMs(e.durationMs) + (message ? ": " + message : "");
    }
    case "command.finished": return "$ " + e.command + " → exit " + e.exitCode + " in " + fmtMs(e.durationMs);
    case "cost.recorded": return "Cost +" + fmtUsd(e.usd) + " (" + e.kind + "), run total " + fmtUsd(e.spentUsd);
    case "fork.budget_exceeded": return "Stopped: budget spent (" + fmtUsd(e.spentUsd) + ")";
    case "fork.resumed": return "Resumed";
    case "fork.queued": return "Waiting for a sandbox (position " + e.position + " in the queue)";
    case "fork.finished": return "Finished: " + human(e.status ?? "") + (e.error ? " — " + String(e.error) : "");
    case "run.status": return "Run is " + human(e.status ?? "");
    case "run.budget": return "Budget raised to " + fmtUsd(e.budgetUsd);
    case "run.finished": return "Run finished: " + human(e.status ?? "");
    default: return e.type;
  }
}

export function logEvent(list: HTMLOListElement, e: RunEvent): void {
  list.prepend(
    h("li", { dataset: { type: e.type } }, h("time", { datetime: e.at }, clock(e.at)), h("span", { class: "who" }, e.fork ? "fork " + e.fork : "run"), h("span", { class: "what" }, describeEvent(e))),
  );
  while (list.children.length > EVENT_LOG_MAX) list.lastChild?.remove();
}
