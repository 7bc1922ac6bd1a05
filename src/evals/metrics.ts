/**
 * An eval's figures per config (defined in docs/evals.md), as pure functions of the hidden-check
 * outcomes. Every rate comes with a 95 % interval: Wilson's score interval over the tasks (for
 * pass@1, a mean of per-task fractions in [0, 1], Wilson at n = tasks is conservative: such a mean's
 * variance is at most p(1 − p) / n); the judge's AUC with Hanley and McNeil's standard error; a mean
 * cost or time with the normal interval of a mean (t-free: mean ± 1.96 s / √n).
 */

/** 95 %: the normal quantile every interval uses. */
export const Z95 = 1.959963984540054;

export interface Interval {
  /** The estimate; null when it is undefined (no tasks, no positive or no negative, …). */
  value: number | null;
  low: number | null;
  high: number | null;
  /** How many units it rests on (tasks, attempts, or pairs). */
  n: number;
}

/** One attempt (fork) of a task: whether the hidden check passed, and the judge's score if any. */
export interface AttemptOutcome {
  n: number;
  passed: boolean;
  /** The LLM judge's score (0-10), when the config judges and the judge could score it. */
  score?: number | null;
}

/** One task under one config: its attempts, the fork Forkyard ranked first, what it cost and took. */
export interface TaskOutcome {
  taskId: string;
  attempts: AttemptOutcome[];
  /** The fork ranked first (the run's `winner`), null when none was. */
  selected: number | null;
  costUsd: number;
  durationMs: number;
}

export interface ConfigFigures {
  tasks: number;
  attempts: number;
  passAt1: Interval;
  oraclePassAtN: Interval;
  selectedPass: Interval;
  selectorAccuracy: Interval;
  judgeAuc: Interval;
  costPerTaskUsd: Interval;
  timePerTaskMs: Interval;
  /** Total cost over the tasks whose selected fork passed (null when none did). */
  costPerSolvedTaskUsd: number | null;
  timePerSolvedTaskMs: number | null;
  solved: number;
}

const NONE = (n: number): Interval => ({ value: null, low: null, high: null, n });
const clamp = (x: number) => Math.min(1, Math.max(0, x));

/** Wilson's score interval for a proportion `p` observed over `n` units (p may be a mean of fractions). */
export function wilson(p: number, n: number, z = Z95): Interval {
  if (n <= 0) return NONE(0);
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  return { value: p, low: clamp(center - half), high: clamp(center + half), n };
}

/** The mean of some values with its normal 95 % interval (no interval under two values). */
export function meanInterval(values: readonly number[], z = Z95): Interval {
  const n = values.length;
  if (n === 0) return NONE(0);
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { value: mean, low: null, high: null, n };
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1);
  const half = (z * Math.sqrt(variance)) / Math.sqrt(n);
  return { value: mean, low: mean - half, high: mean + half, n };
}

const passes = (t: TaskOutcome) => t.attempts.filter((a) => a.passed).length;
const oracle = (t: TaskOutcome) => t.attempts.some((a) => a.passed);
const selectedPasses = (t: TaskOutcome) => t.selected !== null && t.attempts.some((a) => a.n === t.selected && a.passed);

/** pass@1: the unbiased estimate from N attempts per task, the mean over tasks of c / n (a task without attempts counts 0). */
export function passAt1(tasks: readonly TaskOutcome[]): Interval {
  if (tasks.length === 0) return NONE(0);
  const mean = tasks.reduce((s, t) => s + (t.attempts.length ? passes(t) / t.attempts.length : 0), 0) / tasks.length;
  return wilson(mean, tasks.length);
}

/** Oracle pass@N: the share of tasks where some attempt passes the hidden check. */
export function oraclePass(tasks: readonly TaskOutcome[]): Interval {
  return wilson(tasks.length ? tasks.filter(oracle).length / tasks.length : 0, tasks.length);
}

/** Selected pass: the share of tasks whose first-ranked fork passes the hidden check. */
export function selectedPass(tasks: readonly TaskOutcome[]): Interval {
  return wilson(tasks.length ? tasks.filter(selectedPasses).length / tasks.length : 0, tasks.length);
}

/** Selector accuracy: P(selected passes | some attempt passes), over the tasks some attempt solved. */
export function selectorAccuracy(tasks: readonly TaskOutcome[]): Interval {
  const solvable = tasks.filter(oracle);
  if (solvable.length === 0) return NONE(0);
  return wilson(solvable.filter(selectedPasses).length / solvable.length, solvable.length);
}

/**
 * The judge's AUC: the probability that a passing attempt scores above a failing one (ties count
 * half), over the scored attempts of every task; its interval from Hanley and McNeil's standard error.
 */
export function judgeAuc(tasks: readonly TaskOutcome[], z = Z95): Interval {
  const scored = tasks.flatMap((t) => t.attempts).filter((a): a is AttemptOutcome & { score: number } => typeof a.score === "number");
  const pos = scored.filter((a) => a.passed).map((a) => a.score);
  const neg = scored.filter((a) => !a.passed).map((a) => a.score);
  if (pos.length === 0 || neg.length === 0) return NONE(scored.length);
  let wins = 0;
  for (const p of pos) for (const q of neg) wins += p > q ? 1 : p === q ? 0.5 : 0;
  const auc = wins / (pos.length * neg.length);
  const q1 = auc / (2 - auc);
  const q2 = (2 * auc * auc) / (1 + auc);
  const se = Math.sqrt((auc * (1 - auc) + (pos.length - 1) * (q1 - auc * auc) + (neg.length - 1) * (q2 - auc * auc)) / (pos.length * neg.length));
  return { value: auc, low: clamp(auc - z * se), high: clamp(auc + z * se), n: scored.length };
}

/** Every figure of one config. */
export function configFigures(tasks: readonly TaskOutcome[]): ConfigFigures {
  const solved = tasks.filter(selectedPasses);
  const sum = (list: readonly TaskOutcome[], f: (t: TaskOutcome) => number) => list.reduce((s, t) => s + f(t), 0);
  return {
    tasks: tasks.length,
    attempts: sum(tasks, (t) => t.attempts.length),
    passAt1: passAt1(tasks),
    oraclePassAtN: oraclePass(tasks),
    selectedPass: selectedPass(tasks),
    selectorAccuracy: selectorAccuracy(tasks),
    judgeAuc: judgeAuc(tasks),
    costPerTaskUsd: meanInterval(tasks.map((t) => t.costUsd)),
    timePerTaskMs: meanInterval(tasks.map((t) => t.durationMs)),
    costPerSolvedTaskUsd: solved.length ? sum(tasks, (t) => t.costUsd) / solved.length : null,
    timePerSolvedTaskMs: solved.length ? sum(tasks, (t) => t.durationMs) / solved.length : null,
    solved: solved.length,
  };
}
