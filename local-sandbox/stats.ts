// Counters exposed at GET /admin/stats (and on the server handle). `calls` counts every
// authenticated request per operation name, including the ones a fault was injected into.

export interface StatsSnapshot {
  created: number;
  killed: number;
  expired: number;
  paused: number;
  resumed: number;
  forked: number;
  live: number;
  peakLive: number;
  pausedNow: number;
  calls: Record<string, number>;
  /** Per operation, the most requests that waited for their answer at once (Cloudflare counts an invocation's connections waiting for response headers). */
  peakWaiting: Record<string, number>;
  faultsInjected: number;
  faultsByOp: Record<string, number>;
}

const RECENT_CALLS = 10_000;

export class Stats {
  created = 0;
  /** Sandboxes removed: DELETE plus timeouts without autoPause. */
  killed = 0;
  /** Sandboxes whose timeout fired (killed or auto-paused). */
  expired = 0;
  paused = 0;
  resumed = 0;
  forked = 0;
  peakLive = 0;
  faultsInjected = 0;
  calls: Record<string, number> = {};
  /** Requests per operation waiting for their answer now, and the most at once. */
  waiting: Record<string, number> = {};
  peakWaiting: Record<string, number> = {};
  faultsByOp: Record<string, number> = {};
  /** The most recent calls with their arrival time (epoch ms), oldest first; benchmarks read it. */
  recent: { op: string; at: number }[] = [];
  /** The most recent sandbox creates with what their body asked for (GET /admin/creates). */
  creates: CreateRecord[] = [];

  call(op: string): void {
    this.calls[op] = (this.calls[op] ?? 0) + 1;
    this.recent.push({ op, at: Date.now() });
    if (this.recent.length > RECENT_CALLS) this.recent.splice(0, this.recent.length - RECENT_CALLS);
  }

  /** A request of `op` arrived; `answered` when its answer (its headers) goes out. */
  requestWaiting(op: string): () => void {
    const now = (this.waiting[op] ?? 0) + 1;
    this.waiting[op] = now;
    if (now > (this.peakWaiting[op] ?? 0)) this.peakWaiting[op] = now;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.waiting[op] = (this.waiting[op] ?? 1) - 1;
    };
  }

  /** Records what a create asked for (its metadata and outbound rules), the last RECENT_CALLS kept. */
  createdWith(record: CreateRecord): void {
    this.creates.push(record);
    if (this.creates.length > RECENT_CALLS) this.creates.splice(0, this.creates.length - RECENT_CALLS);
  }

  fault(op: string): void {
    this.faultsInjected++;
    this.faultsByOp[op] = (this.faultsByOp[op] ?? 0) + 1;
  }

  observeLive(live: number): void {
    if (live > this.peakLive) this.peakLive = live;
  }

  reset(live: number): void {
    this.created = 0;
    this.killed = 0;
    this.expired = 0;
    this.paused = 0;
    this.resumed = 0;
    this.forked = 0;
    this.faultsInjected = 0;
    this.calls = {};
    this.peakWaiting = { ...this.waiting };
    this.faultsByOp = {};
    this.recent = [];
    this.creates = [];
    this.peakLive = live;
  }

  snapshot(live: number, pausedNow: number): StatsSnapshot {
    return {
      created: this.created,
      killed: this.killed,
      expired: this.expired,
      paused: this.paused,
      resumed: this.resumed,
      forked: this.forked,
      live,
      peakLive: Math.max(this.peakLive, live),
      pausedNow: pausedNow,
      calls: { ...this.calls },
      peakWaiting: { ...this.peakWaiting },
      faultsInjected: this.faultsInjected,
      faultsByOp: { ...this.faultsByOp },
    };
  }
}

export interface CreateRecord {
  sandboxID: string;
  metadata: Record<string, string>;
  network?: { allowOut: string[]; denyOut: string[] };
}
