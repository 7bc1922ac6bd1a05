import type { ConfigResults, CreateEvalRequest, EvalResults, EvalRunStatus, EvalStatus, EvalTaskResult } from "../api/evals";
import { configFigures, selectedPass, selectorAccuracy, type TaskOutcome } from "./metrics";

/** A task × config run as the eval stored it. */
export interface RunOutcomeRow {
  task: string;
  config: string;
  runId: string | null;
  status: EvalRunStatus;
  costUsd: number;
  durationMs: number;
  winner: number | null;
  forks: { n: number; status: string; score?: number | null }[];
  error: string | null;
  /** A run judged with a tournament: the fork each selector ranked first (the winner is the tournament's). */
  selected?: SelectorPicks | null;
}

export interface SelectorPicks {
  pointwise: number | null;
  tournament: number | null;
}

export interface CheckOutcomeRow {
  runId: string;
  n: number;
  status: "pending" | "done";
  passed: boolean | null;
  error: string | null;
  costUsd: number;
}

/** Runs whose figures count: ended and checked (done), or never created (failed: no attempt passed). */
const COUNTED: readonly EvalRunStatus[] = ["done", "failed"];

function taskResult(row: RunOutcomeRow, checks: Map<string, CheckOutcomeRow>): EvalTaskResult {
  return {
    task: row.task,
    config: row.config,
    runId: row.runId,
    status: row.status,
    winner: row.winner,
    forks: row.forks.map((f) => {
      const check = row.runId ? checks.get(`${row.runId}:${f.n}`) : undefined;
      const hiddenPassed = check?.status === "done" ? check.passed : null;
      return { n: f.n, status: f.status, hiddenPassed, ...(check?.error ? { hiddenError: check.error } : {}), ...(f.score !== undefined ? { score: f.score } : {}) };
    }),
    costUsd: row.costUsd,
    durationMs: row.durationMs,
    ...(row.selected ? { selectedBy: row.selected } : {}),
  };
}

/** A counted task's outcome for the figures: a fork passes when its hidden check passed (an error is no pass). */
function outcomeOf(task: EvalTaskResult): TaskOutcome {
  return {
    taskId: task.task,
    attempts: task.forks.map((f) => ({ n: f.n, passed: f.hiddenPassed === true, ...(f.score !== undefined ? { score: f.score } : {}) })),
    selected: task.winner,
    costUsd: task.costUsd,
    durationMs: task.durationMs,
  };
}

/** The eval's results: per task × config, and per config its figures (metrics.ts) over the counted tasks. */
export function evalResults(id: string, status: EvalStatus, request: Pick<CreateEvalRequest, "configs">, rows: readonly RunOutcomeRow[], checks: readonly CheckOutcomeRow[]): EvalResults {
  const byKey = new Map(checks.map((c) => [`${c.runId}:${c.n}`, c]));
  const tasks = rows.map((r) => taskResult(r, byKey));
  const configs: ConfigResults[] = request.configs.map((config) => {
    const counted = tasks.filter((t) => t.config === config.name && COUNTED.includes(t.status)).map(outcomeOf);
    const tournament = config.judge?.mode === "tournament" ? { selectors: selectorFigures(tasks.filter((t) => t.config === config.name && COUNTED.includes(t.status))) } : {};
    return { config: config.name, model: config.model, forks: config.forks, ...configFigures(counted), ...tournament };
  });
  return { id, status, configs, tasks, hiddenCheckCostUsd: checks.reduce((s, c) => s + c.costUsd, 0) };
}

/**
 * Each selector's figures on the same forks (a config judged with a tournament): selected pass and
 * selector accuracy with the pointwise pick, then with the tournament's. A task whose judging gave
 * no pick for a selector counts its run's winner there (the check alone ranked it).
 */
export function selectorFigures(tasks: readonly EvalTaskResult[]): NonNullable<ConfigResults["selectors"]> {
  const figures = (pick: (t: EvalTaskResult) => number | null) => {
    const outcomes = tasks.map((t) => ({ ...outcomeOf(t), selected: pick(t) }));
    return { selectedPass: selectedPass(outcomes), selectorAccuracy: selectorAccuracy(outcomes) };
  };
  return {
    pointwise: figures((t) => t.selectedBy?.pointwise ?? t.winner),
    tournament: figures((t) => t.selectedBy?.tournament ?? t.winner),
  };
}

const CSV_COLUMNS = ["config", "model", "forks", "tasks", "attempts", "solved", "passAt1", "passAt1Low", "passAt1High", "oraclePassAtN", "oracleLow", "oracleHigh", "selectedPass", "selectedLow", "selectedHigh", "selectorAccuracy", "selectorAccuracyLow", "selectorAccuracyHigh", "judgeAuc", "judgeAucLow", "judgeAucHigh", "costPerTaskUsd", "timePerTaskMs", "costPerSolvedTaskUsd", "timePerSolvedTaskMs", "pointwiseSelectedPass", "tournamentSelectedPass", "pointwiseSelectorAccuracy", "tournamentSelectorAccuracy"] as const;

function cell(value: string | number | null): string {
  if (value === null) return "";
  const text = String(value);
  // Names are restricted to [A-Za-z0-9._-], models to the API's; quoted anyway when a comma or quote appears.
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The per-config figures as CSV, one line per config (empty cell: undefined). */
export function resultsCsv(results: EvalResults): string {
  const lines = results.configs.map((c) =>
    [
      c.config, c.model, c.forks, c.tasks, c.attempts, c.solved,
      c.passAt1.value, c.passAt1.low, c.passAt1.high,
      c.oraclePassAtN.value, c.oraclePassAtN.low, c.oraclePassAtN.high,
      c.selectedPass.value, c.selectedPass.low, c.selectedPass.high,
      c.selectorAccuracy.value, c.selectorAccuracy.low, c.selectorAccuracy.high,
      c.judgeAuc.value, c.judgeAuc.low, c.judgeAuc.high,
      c.costPerTaskUsd.value, c.timePerTaskMs.value, c.costPerSolvedTaskUsd, c.timePerSolvedTaskMs,
      c.selectors?.pointwise.selectedPass.value ?? null, c.selectors?.tournament.selectedPass.value ?? null,
      c.selectors?.pointwise.selectorAccuracy.value ?? null, c.selectors?.tournament.selectorAccuracy.value ?? null,
    ].map(cell).join(","),
  );
  return [CSV_COLUMNS.join(","), ...lines].join("\n") + "\n";
}
