/**
 * The Pool's logic in a unit test: PoolLogic over Node's SQLite (migrated like the object), with a
 * fake sandbox backend, a fake clock (sleep advances it, never waits) and a host that collects
 * the background work the object would keep alive (settle() runs it to the end).
 */
import type { NetworkPolicy } from "../../../src/api/network-policy";
import type { PoolTemplateConfig } from "../../../src/api/pool";
import type { CreatedSandbox } from "../../../src/sandbox/provider";
import type { ListedSandbox, SandboxBackend } from "../../../src/sandbox/backend";
import type { SandboxHandle } from "../../../src/sandbox/handle";
import { migrate } from "../../../src/objects/shared/migrations";
import { POOL_MIGRATIONS } from "../../../src/objects/pool/schema";
import type { PoolClock, PoolHost, PoolSettings } from "../../../src/objects/pool/core";
import { PoolLogic } from "../../../src/objects/pool/logic";
import type { LeaseRequest, WaiterRow } from "../../../src/objects/pool/types";
import { setLogLevel } from "../../../src/observability/log";
import { sqliteStorage } from "./sqlite-storage";

// The logic logs every step; only errors are worth seeing in a unit test's output.
setLogLevel("error");

/**
 * Time that moves only when told, or when everything else is waiting: a sleep is a timer; once
 * the pending promise callbacks have run (a setImmediate turn, no wall time read), the earliest
 * timer fires and the clock jumps to it. Concurrent sleeps overlap as real ones do.
 */
export class FakeClock implements PoolClock {
  readonly #timers: { at: number; resolve: () => void }[] = [];
  #scheduled = false;
  time: number;
  constructor(time = 1_000_000) {
    this.time = time;
  }
  now(): number {
    return this.time;
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#timers.push({ at: this.time + ms, resolve });
      this.#schedule();
    });
  }
  advance(ms: number): void {
    this.time += ms;
  }
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#timers.sort((a, b) => a.at - b.at);
      const next = this.#timers.shift();
      if (!next) return;
      this.time = Math.max(this.time, next.at);
      next.resolve();
      if (this.#timers.length > 0) this.#schedule();
    });
  }
}

export interface FakeSandbox extends ListedSandbox {
  template: string;
  state: "running" | "paused";
  timeoutSeconds: number;
  /** The outbound rules it was created with (none for a warm sandbox). */
  network?: NetworkPolicy;
}

type Op = "create" | "kill" | "pause" | "resume" | "fork" | "setTimeout" | "find" | "list" | "handle";

/** An in-memory control plane: sandboxes, the calls made, and faults to throw (each once, in order). */
export class FakeBackend implements SandboxBackend {
  readonly sandboxes = new Map<string, FakeSandbox>();
  readonly calls: { op: Op; sandboxId?: string; at: number }[] = [];
  readonly #faults: { op: Op; error: Error }[] = [];
  #next = 1;

  private readonly clock: FakeClock;
  constructor(clock: FakeClock) {
    this.clock = clock;
  }

  /** The next `op` throws `error` (queue several for several calls). */
  fail(op: Op, error: Error, times = 1): void {
    for (let i = 0; i < times; i++) this.#faults.push({ op, error });
  }
  count(op: Op): number {
    return this.calls.filter((c) => c.op === op).length;
  }
  /** Plants a sandbox (made elsewhere, or by an attempt that lost its answer). */
  plant(metadata: Record<string, string>, startedAt = this.clock.now()): FakeSandbox {
    const sandbox: FakeSandbox = { sandboxId: `sbx${this.#next++}`, metadata, startedAt: new Date(startedAt), template: "base", state: "running", timeoutSeconds: 300 };
    this.sandboxes.set(sandbox.sandboxId, sandbox);
    return sandbox;
  }

  #call(op: Op, sandboxId?: string): void {
    this.calls.push({ op, sandboxId, at: this.clock.now() });
    const i = this.#faults.findIndex((f) => f.op === op);
    if (i >= 0) throw this.#faults.splice(i, 1)[0]!.error;
  }
  #get(sandboxId: string): FakeSandbox {
    const s = this.sandboxes.get(sandboxId);
    if (!s) throw new Error(`404: sandbox ${sandboxId} not found`);
    return s;
  }
  static handleOf(sandboxId: string): SandboxHandle {
    return { sandboxId, envdVersion: "0.0.1" };
  }

  async create(input: { template: string; timeoutSeconds: number; metadata: Record<string, string>; network?: NetworkPolicy }): Promise<CreatedSandbox> {
    this.#call("create");
    const s = this.plant(input.metadata);
    s.template = input.template;
    s.timeoutSeconds = input.timeoutSeconds;
    if (input.network) s.network = input.network;
    return { sandboxId: s.sandboxId, handle: FakeBackend.handleOf(s.sandboxId) };
  }
  async find(metadata: Record<string, string>): Promise<ListedSandbox[]> {
    this.#call("find");
    return [...this.sandboxes.values()].filter((s) => Object.entries(metadata).every(([k, v]) => s.metadata[k] === v));
  }
  async listTagged(): Promise<ListedSandbox[]> {
    this.#call("list");
    return [...this.sandboxes.values()].filter((s) => s.metadata.forkyard === "1");
  }
  async handle(sandboxId: string): Promise<SandboxHandle> {
    this.#call("handle", sandboxId);
    return FakeBackend.handleOf(this.#get(sandboxId).sandboxId);
  }
  async pause(sandboxId: string): Promise<void> {
    this.#call("pause", sandboxId);
    this.#get(sandboxId).state = "paused";
  }
  async resume(sandboxId: string, timeoutSeconds?: number): Promise<SandboxHandle> {
    this.#call("resume", sandboxId);
    const s = this.#get(sandboxId);
    s.state = "running";
    if (timeoutSeconds) s.timeoutSeconds = timeoutSeconds;
    return FakeBackend.handleOf(sandboxId);
  }
  async setTimeout(sandboxId: string, timeoutSeconds: number): Promise<void> {
    this.#call("setTimeout", sandboxId);
    this.#get(sandboxId).timeoutSeconds = timeoutSeconds;
  }
  async fork(sandboxId: string, count: number, timeoutSeconds: number): Promise<SandboxHandle[]> {
    this.#call("fork", sandboxId);
    // E2B's own bound (docs: at most 100 forks per call).
    if (count > 100) throw new Error(`400: count ${count} is over 100`);
    const source = this.#get(sandboxId);
    if (source.state !== "running") throw new Error("409: cannot fork a paused sandbox");
    return Array.from({ length: count }, () => {
      const child = this.plant({ ...source.metadata });
      child.timeoutSeconds = timeoutSeconds;
      return FakeBackend.handleOf(child.sandboxId);
    });
  }
  async kill(sandboxId: string): Promise<boolean> {
    this.#call("kill", sandboxId);
    return this.sandboxes.delete(sandboxId);
  }
}

export class FakeHost implements PoolHost {
  readonly background: Promise<unknown>[] = [];
  readonly notified: WaiterRow[] = [];
  /** Instance ids whose Workflow is gone (a notice to them throws). */
  readonly goneInstances = new Set<string>();
  alarmWithin: number | null = null;
  finished = new Set<string>();
  entries = new Map<string, string>();

  waitUntil(promise: Promise<unknown>): void {
    this.background.push(promise.catch(() => undefined));
  }
  async armAlarmWithin(ms: number): Promise<void> {
    if (this.alarmWithin === null || ms < this.alarmWithin) this.alarmWithin = ms;
  }
  async notify(waiter: WaiterRow): Promise<void> {
    if (this.goneInstances.has(waiter.instance_id!)) throw new Error("instance.not_found");
    this.notified.push(waiter);
  }
  async finishedRuns(runIds: string[]): Promise<Set<string>> {
    return new Set(runIds.filter((id) => this.finished.has(id)));
  }
  async resolveEntries(entries: string[]): Promise<Map<string, string>> {
    return new Map(entries.map((e) => [e, this.entries.get(e) ?? e]));
  }
  costOf(seconds: number): number {
    return seconds / 1000;
  }
  /** Runs the background work (and what it starts) to the end. */
  async settle(): Promise<void> {
    while (this.background.length > 0) await Promise.all(this.background.splice(0));
  }
}

export const DEFAULT_SETTINGS: PoolSettings = { maxLiveSandboxes: 3, createRatePerSecond: 1000, reaperMaxAgeSeconds: 3600, reaperGoneGraceMs: 10_000 };

export function poolUnderTest(settings: Partial<PoolSettings> = {}) {
  const storage = sqliteStorage();
  migrate(storage, POOL_MIGRATIONS);
  const clock = new FakeClock();
  const backend = new FakeBackend(clock);
  const host = new FakeHost();
  const current = { ...DEFAULT_SETTINGS, ...settings };
  const logic = new PoolLogic({ sql: storage.sql, backend: () => backend, clock, settings: () => current, host });
  return { logic, core: logic.core, storage, clock, backend, host, settings: current };
}

let seq = 0;
/** A run fork's lease request (unique key unless given). */
export function leaseRequest(over: Partial<LeaseRequest> = {}): LeaseRequest {
  const n = ++seq;
  return { key: `r${n}-1`, runId: `r${n}`, fork: 1, template: "base", timeoutSeconds: 600, instanceId: `i${n}`, ...over };
}

export function warmConfig(over: Partial<PoolTemplateConfig> = {}): PoolTemplateConfig {
  return { min: 1, max: 1, idleSeconds: 60, mode: "running", ...over } as PoolTemplateConfig;
}

/** The value of an ok Result, or the test fails with its error. */
export function ok<T>(result: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T {
  if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
  return result.value;
}
