/**
 * Every fork's steps on one clock: the run's (issue 25 item 7, like the Temporal UI's timeline).
 * Time 0 is the run's creation; a fork's row shows how long it was queued before its first step,
 * each step where it ran (first attempt's start to last attempt's end) and the gaps between steps
 * as waiting. Pure: positions are percentages of the span, so the page and the tests share it.
 */

export interface ClockStep {
  name: string;
  status: "running" | "succeeded" | "failed";
  attempts: number;
  durationMs: number | null;
  startedAt?: string | null;
  endedAt?: string | null;
}

export interface ClockFork {
  n: number;
  status: string;
  startedAt: string | null;
  finishedAt: string | null;
  parent?: unknown;
  /** A merge fork (POST …/merge), like a branched one, was made later than the run. */
  merge?: unknown;
  steps: ClockStep[];
}

export interface ClockSegment {
  kind: "queued" | "waiting" | "step";
  /** The step's name (steps), else the kind. */
  name: string;
  status?: ClockStep["status"];
  attempts?: number;
  startMs: number;
  endMs: number;
  /** Position and width, in % of the span. */
  left: number;
  width: number;
}

export interface ClockRow {
  n: number;
  status: string;
  segments: ClockSegment[];
  queuedMs: number;
  waitingMs: number;
  runningMs: number;
}

export interface SharedClock {
  spanMs: number;
  rows: ClockRow[];
  ticks: { left: number; label: string }[];
}

/** A gap between steps shorter than this is not drawn as waiting (the step reports' own latency). */
export const WAIT_MIN_MS = 250;
const TICK_STEPS_MS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400].map((s) => s * 1000);

/** The run's timeline at `nowMs` (running steps and queued forks grow to it). */
export function sharedClock(run: { createdAt: string; forks: ClockFork[] }, nowMs: number): SharedClock {
  const t0 = Date.parse(run.createdAt);
  const rows = run.forks.map((f) => forkRow(f, t0, nowMs));
  const end = Math.max(t0 + 1, ...rows.flatMap((r) => r.segments.map((s) => s.endMs)));
  const spanMs = end - t0;
  for (const row of rows) {
    for (const s of row.segments) {
      s.left = ((s.startMs - t0) / spanMs) * 100;
      s.width = Math.max(((s.endMs - s.startMs) / spanMs) * 100, 0);
    }
  }
  return { spanMs, rows, ticks: clockTicks(spanMs) };
}

function forkRow(f: ClockFork, t0: number, nowMs: number): ClockRow {
  const steps: ClockSegment[] = [];
  for (const s of f.steps) {
    if (!s.startedAt) continue;
    const start = Date.parse(s.startedAt);
    const end = s.endedAt ? Date.parse(s.endedAt) : s.status === "running" ? Math.max(nowMs, start) : start + (s.durationMs ?? 0);
    steps.push({ kind: "step", name: s.name, status: s.status, attempts: s.attempts, startMs: start, endMs: Math.max(end, start), left: 0, width: 0 });
  }
  steps.sort((a, b) => a.startMs - b.startMs);
  const segments: ClockSegment[] = [];
  const row: ClockRow = { n: f.n, status: f.status, segments, queuedMs: 0, waitingMs: 0, runningMs: 0 };
  const gap = (kind: "queued" | "waiting", from: number, to: number) => {
    if (to - from < (kind === "waiting" ? WAIT_MIN_MS : 1)) return;
    segments.push({ kind, name: kind, startMs: from, endMs: to, left: 0, width: 0 });
    if (kind === "queued") row.queuedMs += to - from;
    else row.waitingMs += to - from;
  };
  // A branched or merge fork was made later than the run: its queued time is not known from here.
  const first = steps[0];
  if (f.parent === undefined && f.merge === undefined) {
    if (first) gap("queued", t0, first.startMs);
    else if (f.status === "queued") gap("queued", t0, nowMs);
  }
  let reached = first?.startMs ?? 0;
  for (const s of steps) {
    if (s.startMs > reached) gap("waiting", reached, s.startMs);
    segments.push(s);
    row.runningMs += Math.max(0, s.endMs - Math.max(s.startMs, reached));
    reached = Math.max(reached, s.endMs);
  }
  return row;
}

/** Up to about six ticks at a round interval. */
export function clockTicks(spanMs: number): { left: number; label: string }[] {
  const every = TICK_STEPS_MS.find((t) => spanMs / t <= 6) ?? Math.ceil(spanMs / 6);
  const ticks: { left: number; label: string }[] = [];
  for (let t = 0; t <= spanMs; t += every) ticks.push({ left: (t / spanMs) * 100, label: clockLabel(t) });
  return ticks;
}

/** "0s", "45s", "2m", "1m30s", "1h5m". */
export function clockLabel(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return s + "s";
  const m = Math.floor(s / 60);
  if (m < 60) return m + "m" + (s % 60 ? (s % 60) + "s" : "");
  return Math.floor(m / 60) + "h" + (m % 60 ? (m % 60) + "m" : "");
}
