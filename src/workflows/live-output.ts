import type { ForkContext } from "./fork-context";
import { capChunk, type OutputChunk } from "../protocol/live-output";

type Stream = OutputChunk["stream"];
type Send = (chunks: OutputChunk[], final: boolean) => Promise<{ nextInMs?: number } | void>;

/**
 * A running step's output, sent as it arrives: coalesced to at most one call per interval (wider
 * when the receiver asks: a busy run spreads its forks' output), one call in flight at a time, each
 * stream's pending text cut to its end (MAX_CHUNK_CHARS). Best effort: a failed send is dropped,
 * never fails the step (the step's stored tail is the record). A re-run step sends again from offset 0.
 */
export class LiveOutputSender {
  readonly #send: Send;
  readonly #step: string;
  readonly #baseMs: number;
  #intervalMs: number;
  readonly #seen: Record<Stream, number> = { stdout: 0, stderr: 0 };
  readonly #pending = new Map<Stream, OutputChunk>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #inFlight: Promise<void> | undefined;
  #answeredAt = 0;
  #closed = false;

  constructor(send: Send, step: string, intervalMs: number) {
    this.#send = send;
    this.#step = step;
    this.#baseMs = intervalMs;
    this.#intervalMs = intervalMs;
  }

  /** Output of `stream` as it arrives (already scrubbed of secrets). */
  push = (stream: Stream, data: string): void => {
    if (this.#closed || data === "") return;
    const offset = this.#seen[stream];
    this.#seen[stream] += data.length;
    const pending = this.#pending.get(stream);
    this.#pending.set(stream, capChunk(pending ? { ...pending, data: pending.data + data } : { step: this.#step, stream, offset, data }));
    this.#timer ??= setTimeout(() => this.#flush(), this.#intervalMs);
  };

  #flush(): void {
    this.#timer = undefined;
    if (this.#pending.size === 0) return;
    // One call in flight, and the interval counted from the last answer (the receiver may be busy).
    const wait = this.#inFlight ? this.#intervalMs : this.#answeredAt + this.#intervalMs - Date.now();
    if (!this.#closed && wait > 0) {
      this.#timer = setTimeout(() => this.#flush(), wait);
      return;
    }
    const chunks = [...this.#pending.values()];
    this.#pending.clear();
    this.#inFlight = this.#send(chunks, this.#closed)
      .then((answer) => {
        if (answer?.nextInMs !== undefined) this.#intervalMs = Math.max(this.#baseMs, answer.nextInMs);
      })
      .catch(() => undefined)
      .finally(() => {
        this.#inFlight = undefined;
        this.#answeredAt = Date.now();
      });
  }

  /** The command ended: sends what is pending (after the call in flight) and stops. */
  async close(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#closed = true;
    if (this.#inFlight) await this.#inFlight;
    this.#flush();
    if (this.#inFlight) await this.#inFlight;
  }
}

/** The fork's live output of `step` to its run's Orchestrator; undefined when LIVE_OUTPUT_INTERVAL_MS is 0 (off). */
export function forkLiveOutput(ctx: Pick<ForkContext, "orchestrator" | "params" | "config">, step: string): LiveOutputSender | undefined {
  const intervalMs = ctx.config.LIVE_OUTPUT_INTERVAL_MS;
  if (intervalMs <= 0) return undefined;
  return new LiveOutputSender(async (chunks, final) => ctx.orchestrator.forkOutput(ctx.params.n, chunks, final), step, intervalMs);
}
