/**
 * Pacing of Workflow instance creations: Cloudflare creates about 100 instances per second per
 * workflow, and a launch faster than that is throttled (or refused) in production while the local
 * engine takes any rate. A pacer lets at most `ratePerSecond` creations through in any one-second
 * window (WORKFLOW_CREATE_RATE_PER_SECOND, default 90): a createBatch of more waits for the window
 * to move on. Its clock is injected, so tests pace without waiting.
 */

export interface PacerClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const SYSTEM_CLOCK: PacerClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

const WINDOW_MS = 1000;

export class CreationPacer {
  readonly ratePerSecond: number;
  readonly #clock: PacerClock;
  /** The creations of the last window: when, and how many. */
  readonly #recent: { at: number; count: number }[] = [];

  constructor(ratePerSecond: number, clock: PacerClock = SYSTEM_CLOCK) {
    if (!(ratePerSecond >= 1)) throw new RangeError("ratePerSecond must be at least 1");
    this.ratePerSecond = Math.floor(ratePerSecond);
    this.#clock = clock;
  }

  /** The most one call may create at once (a createBatch larger than the rate could never be let through). */
  get maxBatch(): number {
    return this.ratePerSecond;
  }

  /**
   * Waits until `count` more creations keep the last second within the rate, then counts them as
   * made now. Returns how long it waited (ms). `count` is at most `maxBatch`.
   */
  async take(count: number): Promise<number> {
    if (count > this.ratePerSecond) throw new RangeError(`take(${count}): over the ${this.ratePerSecond} creations a second allowed`);
    let waited = 0;
    for (;;) {
      const now = this.#clock.now();
      while (this.#recent.length > 0 && this.#recent[0]!.at <= now - WINDOW_MS) this.#recent.shift();
      const inWindow = this.#recent.reduce((sum, entry) => sum + entry.count, 0);
      if (inWindow + count <= this.ratePerSecond) {
        if (count > 0) this.#recent.push({ at: now, count });
        return waited;
      }
      // The window must move past enough of its oldest creations to make room.
      let freed = inWindow + count - this.ratePerSecond;
      let until = now;
      for (const entry of this.#recent) {
        until = entry.at + WINDOW_MS;
        freed -= entry.count;
        if (freed <= 0) break;
      }
      const ms = Math.max(1, until - now);
      await this.#clock.sleep(ms);
      waited += ms;
    }
  }
}
