import { WAKE_EVENT } from "../../protocol/events";

/** Alarm cadence while an object has work underway: how soon a runtime restart is noticed (reconciling is rarer). */
export const RESTART_CHECK_MS = 2_000;

/**
 * How an object watches the Workflow instances it launched (the Orchestrator its forks', a
 * Session its turn's): the alarm while work is underway, when each instance was last heard from
 * (step reports and heartbeats, in memory: not a write per callback), the first alarm of a new
 * object (it may follow a runtime restart, which leaves instances idle: everything is woken),
 * reconcile rounds at the configured interval, and the poke of a silent instance — restarted from
 * its stuck step when still silent a stale period later.
 */
export class InstanceWatch {
  readonly #storage: Pick<DurableObjectStorage, "getAlarm" | "setAlarm">;
  readonly #reconcileMs: () => number;
  readonly #bornAt = Date.now();
  /** Memory only, so false in a new object (see the class comment). */
  #awake = false;
  #nextReconcileAt = 0;
  readonly #lastHeard = new Map<number, number>();
  /** Instances poked for silence since they were last heard from. */
  readonly #poked = new Set<number>();

  constructor(storage: Pick<DurableObjectStorage, "getAlarm" | "setAlarm">, reconcileMs: () => number) {
    this.#storage = storage;
    this.#reconcileMs = reconcileMs;
  }

  /** The alarm's interval while work is underway. */
  get cadenceMs(): number {
    return Math.min(this.#reconcileMs(), RESTART_CHECK_MS);
  }

  /** Makes sure the alarm rings by `at` (an earlier one is kept). */
  async armBy(at: number): Promise<void> {
    const current = await this.#storage.getAlarm();
    if (current === null || current > at) await this.#storage.setAlarm(at);
  }

  /** Arms the alarm at the cadence of active work. */
  armActive(): Promise<void> {
    return this.armBy(Date.now() + this.cadenceMs);
  }

  /** This object started the work itself (nothing left idle by a restart to wake). */
  markAwake(): void {
    this.#awake = true;
  }

  /** At an alarm: whether this is a new object's first (wake everything) and whether a reconcile round is due. */
  tick(now = Date.now()): { restarted: boolean; reconcile: boolean } {
    const restarted = !this.#awake;
    this.#awake = true;
    const reconcile = restarted || now >= this.#nextReconcileAt;
    if (reconcile) this.#nextReconcileAt = now + this.#reconcileMs();
    return { restarted, reconcile };
  }

  /** Instance `key` was heard from (a step report or a heartbeat): it is alive. */
  heard(key: number, at = Date.now()): void {
    this.#lastHeard.set(key, at);
    this.#poked.delete(key);
  }

  /** When `key` was last heard from; a new object counts from its own start or `since` (e.g. the launch), whichever is later. */
  lastHeardAt(key: number, since = 0): number {
    return this.#lastHeard.get(key) ?? Math.max(this.#bornAt, since);
  }

  /**
   * A silent instance: poked first (an event no step waits for: a restarted local runtime leaves
   * instances idle until something calls into them); still silent at the next look, it is restarted
   * from `step` (from the start if the instance does not know it). Returns what was done.
   */
  async nudge(key: number, instance: WorkflowInstance, step: string | null, paused: boolean, now = Date.now()): Promise<{ restarted: false } | { restarted: true; from: string | null }> {
    this.#lastHeard.set(key, now);
    if (this.#poked.has(key) && (step || paused)) {
      this.#poked.delete(key);
      const from = step ? await instance.restart({ from: { name: step } }).then(() => step, () => null) : null;
      if (from === null) await instance.restart();
      return { restarted: true, from };
    }
    this.#poked.add(key);
    await poke(instance);
    return { restarted: false };
  }
}

/** Sends an instance the event no step waits for: an idle instance resumes. */
export function poke(instance: WorkflowInstance): Promise<void> {
  return instance.sendEvent({ type: WAKE_EVENT, payload: {} });
}
