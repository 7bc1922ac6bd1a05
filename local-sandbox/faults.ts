// Opt-in latency and fault injection, keyed by operation name (see OPERATIONS / README).
//
// Latency: {"create": 150, "process.start": [20, 80], "*": 5}
//   a number = fixed ms; [min, max] = uniform jitter; "*" applies to ops without their own entry.
// Fault:   {"op": "create", "status": 503, "firstK": 2}
//          {"op": "create", "drop": true, "after": true, "rate": 0.1}
//   op       operation name, or "*" for every operation
//   status   HTTP status to answer with (429 adds Retry-After: 1); E2B/envd-shaped error body
//   drop     destroy the socket without any response instead
//   firstK   only the first K matching calls (counted from when the fault was set)
//   rate     probability 0..1 per matching call
//   after    perform the operation first, then fail/drop the response ("lost response")
//   message  optional error message override
//   lose     with op "resume.files": a resume of a paused sandbox (connect or resume) loses these
//            files (sandbox paths; relative ones under /home/user) — E2B's reported lost changes
//   kill     the sandbox the call is for is killed (E2B lost it), and the call is answered as one
//            to a sandbox that no longer exists (envd: the edge proxy's 502; control plane: its 404)
//   sandbox  only calls for this sandbox id (envd operations, and control-plane ones naming it)
// Without firstK and rate a fault applies to every matching call. Faults are checked in order;
// the first one that fires wins.
import { ApiError } from "./errors.ts";

/** Operation names used for latency, faults and call counters. */
export const OPERATIONS = [
  // control plane
  "create", "list", "get", "kill", "setTimeout", "refresh", "pause", "connect", "resume", "fork",
  "metrics", "logs", "network", "templateAlias", "snapshot", "snapshots", "deleteSnapshot",
  "templateBuild", "templateFiles", "templateBuildStatus", "templateUpload",
  // envd: process service
  "process.start", "process.connect", "process.list", "process.signal", "process.input",
  "process.closeStdin", "process.update", "process.streamInput",
  // envd: filesystem service
  "fs.stat", "fs.list", "fs.mkdir", "fs.move", "fs.remove", "fs.watch", "fs.watcher",
  // envd: REST
  "files.read", "files.write", "envd.health", "envd.metrics", "envd.envs",
  // not a request: what a resume of a paused sandbox does to its files (fault `lose`)
  "resume.files",
] as const;

export interface FaultSpec {
  op: string;
  status?: number;
  drop?: boolean;
  firstK?: number;
  rate?: number;
  after?: boolean;
  message?: string;
  lose?: string[];
  kill?: boolean;
  sandbox?: string;
}

export type LatencyValue = number | [number, number];
export type LatencyMap = Record<string, LatencyValue>;

interface ActiveFault {
  spec: FaultSpec;
  /** Matching calls seen since the fault was set. */
  seen: number;
  /** Times it fired. */
  fired: number;
}

function bad(message: string): never {
  throw new ApiError(400, message);
}

export function validateFault(value: unknown): FaultSpec {
  if (typeof value !== "object" || value === null || Array.isArray(value)) bad("fault must be an object");
  const v = value as Record<string, unknown>;
  if (typeof v.op !== "string" || v.op === "") bad("fault.op must be a non-empty string");
  const spec: FaultSpec = { op: v.op };
  if (v.status !== undefined) {
    if (typeof v.status !== "number" || !Number.isInteger(v.status) || v.status < 400 || v.status > 599) {
      bad("fault.status must be an integer HTTP status 400..599");
    }
    spec.status = v.status;
  }
  if (v.drop !== undefined) {
    if (typeof v.drop !== "boolean") bad("fault.drop must be a boolean");
    spec.drop = v.drop;
  }
  if (v.lose !== undefined) {
    if (spec.op !== "resume.files") bad('fault.lose goes with op "resume.files"');
    if (!Array.isArray(v.lose) || v.lose.length === 0 || !v.lose.every((p) => typeof p === "string" && p !== "")) bad("fault.lose must be a non-empty array of paths");
    spec.lose = v.lose as string[];
  } else if (spec.op === "resume.files") bad('op "resume.files" needs lose');
  if (v.kill !== undefined) {
    if (typeof v.kill !== "boolean") bad("fault.kill must be a boolean");
    spec.kill = v.kill;
  }
  if (v.sandbox !== undefined) {
    if (typeof v.sandbox !== "string" || v.sandbox === "") bad("fault.sandbox must be a sandbox id");
    spec.sandbox = v.sandbox;
  }
  if (!spec.drop && spec.status === undefined && !spec.lose && !spec.kill) bad("fault needs either status, drop:true, lose or kill:true");
  if (v.firstK !== undefined) {
    if (typeof v.firstK !== "number" || !Number.isInteger(v.firstK) || v.firstK < 0) bad("fault.firstK must be an integer >= 0");
    spec.firstK = v.firstK;
  }
  if (v.rate !== undefined) {
    if (typeof v.rate !== "number" || !(v.rate >= 0 && v.rate <= 1)) bad("fault.rate must be a number in 0..1");
    spec.rate = v.rate;
  }
  if (v.after !== undefined) {
    if (typeof v.after !== "boolean") bad("fault.after must be a boolean");
    spec.after = v.after;
  }
  if (v.message !== undefined) {
    if (typeof v.message !== "string") bad("fault.message must be a string");
    spec.message = v.message;
  }
  return spec;
}

export function validateFaults(value: unknown): FaultSpec[] {
  if (!Array.isArray(value)) bad("faults must be an array");
  return value.map(validateFault);
}

export function validateLatency(value: unknown): LatencyMap {
  if (typeof value !== "object" || value === null || Array.isArray(value)) bad("latency must be an object {op: ms}");
  const out: LatencyMap = {};
  for (const [op, ms] of Object.entries(value)) {
    if (typeof ms === "number" && ms >= 0 && Number.isFinite(ms)) out[op] = ms;
    else if (
      Array.isArray(ms) && ms.length === 2 &&
      typeof ms[0] === "number" && typeof ms[1] === "number" && ms[0] >= 0 && ms[1] >= ms[0]
    ) out[op] = [ms[0], ms[1]];
    else bad(`latency.${op} must be a number of ms >= 0 or [min, max]`);
  }
  return out;
}

export class FaultInjector {
  private faults: ActiveFault[] = [];
  private latency: LatencyMap = {};
  /** Calls waiting out their latency: a change of the latency map ends their wait. */
  private readonly held = new Set<() => void>();

  constructor(faults: FaultSpec[] = [], latency: LatencyMap = {}) {
    this.setFaults(faults);
    this.setLatency(latency);
  }

  setFaults(specs: FaultSpec[]): void {
    this.faults = specs.map((spec) => ({ spec: { ...spec }, seen: 0, fired: 0 }));
  }

  addFault(spec: FaultSpec): void {
    this.faults.push({ spec: { ...spec }, seen: 0, fired: 0 });
  }

  clearFaults(): void {
    this.faults = [];
  }

  listFaults(): Array<FaultSpec & { seen: number; fired: number }> {
    return this.faults.map((f) => ({ ...f.spec, seen: f.seen, fired: f.fired }));
  }

  /** Replaces the latency map; calls still waiting out the old one go on at once. */
  setLatency(map: LatencyMap): void {
    this.latency = { ...map };
    for (const release of [...this.held]) release();
  }

  getLatency(): LatencyMap {
    return { ...this.latency };
  }

  /** Delay in ms to apply to an operation (0 when none configured). */
  latencyFor(op: string): number {
    const v = this.latency[op] ?? this.latency["*"];
    if (v === undefined) return 0;
    if (typeof v === "number") return v;
    return v[0] + Math.random() * (v[1] - v[0]);
  }

  /**
   * Waits out `op`'s latency, or until the latency map changes: a long latency holds calls until a
   * test clears it (PUT/DELETE /admin/latency, POST /admin/reset) — a gate, not a clock.
   */
  async delay(op: string): Promise<void> {
    const ms = this.latencyFor(op);
    if (ms <= 0) return;
    await new Promise<void>((resolve) => {
      const release = () => {
        clearTimeout(timer);
        this.held.delete(release);
        resolve();
      };
      const timer = setTimeout(release, ms);
      this.held.add(release);
    });
  }

  /** Returns the fault to inject into this call (for `sandboxId`, when it names one), if any (and records the match). */
  pick(op: string, sandboxId?: string): FaultSpec | undefined {
    for (const f of this.faults) {
      if (f.spec.op !== op && f.spec.op !== "*") continue;
      if (f.spec.sandbox !== undefined && f.spec.sandbox !== sandboxId) continue;
      f.seen++;
      if (f.spec.firstK !== undefined && f.seen > f.spec.firstK) continue;
      if (f.spec.rate !== undefined && !(Math.random() < f.spec.rate)) continue;
      f.fired++;
      return f.spec;
    }
    return undefined;
  }
}
