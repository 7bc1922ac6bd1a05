/** Longest a caller is kept waiting inside one call for its creation-rate slot. */
export const MAX_INLINE_RATE_WAIT_MS = 1500;

/**
 * The sandbox creation rate: evenly spaced slots (1 / rate per second), and a block while the
 * provider's last 429 asks to wait (its Retry-After). Clock-free: every call is given `now`.
 * Kept in memory: a restarted Pool starts with a free slot, as the provider's own limit allows.
 */
export class CreateRate {
  readonly #perSecond: () => number;
  #nextSlot = 0;
  #blockedUntil = 0;

  constructor(perSecond: () => number) {
    this.#perSecond = perSecond;
  }

  /**
   * Reserves the next creation slot and answers how long until it opens. A slot further away than
   * MAX_INLINE_RATE_WAIT_MS is not reserved: the caller is told to come back instead.
   */
  take(now: number): number {
    const slot = Math.max(now, this.#nextSlot);
    const wait = slot - now;
    if (wait <= MAX_INLINE_RATE_WAIT_MS) this.#nextSlot = slot + 1000 / this.#perSecond();
    return wait;
  }

  /** The provider answered 429: no creates until its Retry-After has passed. */
  block(retryAfterSeconds: number, now: number): void {
    this.#blockedUntil = Math.max(this.#blockedUntil, now + retryAfterSeconds * 1000);
  }

  /** Milliseconds until the provider's 429 stops holding creates back (0: not blocked). */
  blockedFor(now: number): number {
    return Math.max(0, this.#blockedUntil - now);
  }
}
