/**
 * Writes of an object's summary to the D1 index, coalesced: `soon()` while things change writes at
 * most once per `coalesceMs`; `now()` writes at once (an end, a status change). A write is skipped
 * when the caller's `signature` of what it would write equals that of the last write that succeeded.
 */
export class IndexSync {
  readonly #write: () => Promise<void>;
  readonly #onError: (err: unknown) => void;
  readonly #coalesceMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #written: string | undefined;
  #stopped = false;

  constructor(write: () => Promise<void>, onError: (err: unknown) => void, coalesceMs = 1_000) {
    this.#write = write;
    this.#onError = onError;
    this.#coalesceMs = coalesceMs;
  }

  /** No write from now on (the object's summary was deleted with it). */
  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#stopped = true;
  }

  /** A write within `coalesceMs` (one for many changes). */
  soon(): void {
    if (this.#stopped) return;
    this.#timer ??= setTimeout(() => void this.now(), this.#coalesceMs);
  }

  /** Writes now (a pending `soon` is folded in). A write that fails is reported to `onError` and left to the next one. */
  async now(signature?: string): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#stopped || (signature !== undefined && signature === this.#written)) return;
    try {
      await this.#write();
      this.#written = signature;
    } catch (err) {
      this.#written = undefined;
      this.#onError(err);
    }
  }
}
