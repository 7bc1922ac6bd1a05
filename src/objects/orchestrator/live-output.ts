import { capChunk, COMMAND_OUTPUT_EVENT, RUN_OUTPUT_EVENTS_PER_SECOND, type OutputChunk } from "../../protocol/live-output";
import type { EventChannel } from "../shared/event-channel";
import type { RunEvent } from "../shared/event-hub";
import type { RunStore } from "./run-store";

/** What a late watcher gets of each running step's output: its last characters per stream. */
const TAIL_CHARS = 4096;
/** A fork that sent output this recently counts as busy (it shares the run's event rate). */
const BUSY_WINDOW_MS = 5000;

interface ForkTail {
  step: string;
  /** When the last batch was accepted. */
  at: number;
  streams: Map<OutputChunk["stream"], OutputChunk>;
}


/**
 * The run's live output (`command.output`), in memory only: passes each fork's chunks to the
 * watchers and keeps each running step's tail for watchers that join late. Bounded per fork and
 * per run: a fork's interval widens with the number of busy forks so the run sends about
 * RUN_OUTPUT_EVENTS_PER_SECOND batches a second however many forks print, a batch that comes
 * sooner than half its interval is dropped (its successor's offsets show the gap; a command's last
 * batch is always taken), chunks are cut
 * to MAX_CHUNK_CHARS and tails to TAIL_CHARS.
 */
export class RunLiveOutput {
  readonly #events: Pick<EventChannel, "live">;
  readonly #store: Pick<RunStore, "runningStep">;
  /** The base interval (LIVE_OUTPUT_INTERVAL_MS). */
  readonly #intervalMs: () => number;
  readonly #tails = new Map<number, ForkTail>();
  #prunedAt = 0;

  constructor(events: Pick<EventChannel, "live">, store: Pick<RunStore, "runningStep">, intervalMs: () => number) {
    this.#events = events;
    this.#store = store;
    this.#intervalMs = intervalMs;
  }

  /** Whether fork n is running `step` now (a finished step's tail is not shown to a late watcher). */
  #running(n: number, step: string): boolean {
    return this.#store.runningStep(n) === step;
  }

  /** Fork n's batch: published unless it comes too soon (a command's last batch never does); answers the interval the fork should keep to. */
  accept(n: number, chunks: OutputChunk[], final = false, now = Date.now()): { nextInMs: number } {
    const nextInMs = this.#interval(n, now);
    let tail = this.#tails.get(n);
    if (!final && tail && tail.step === chunks[0]?.step && now - tail.at < nextInMs / 2) return { nextInMs };
    for (const raw of chunks.slice(0, 2)) {
      const chunk = capChunk(raw);
      if (!tail || tail.step !== chunk.step) {
        tail = { step: chunk.step, at: now, streams: new Map() };
        this.#tails.set(n, tail);
      }
      tail.at = now;
      const held = tail.streams.get(chunk.stream);
      // Contiguous with the tail: extend it; otherwise (a gap, a re-run step) it starts over.
      const joined = held && held.offset + held.data.length === chunk.offset ? { ...held, data: held.data + chunk.data } : chunk;
      tail.streams.set(chunk.stream, capChunk(joined, TAIL_CHARS));
      this.#events.live(COMMAND_OUTPUT_EVENT, n, { ...chunk });
    }
    return { nextInMs };
  }

  /** The running steps' tails, for a watcher that has just caught up with the log. */
  snapshot(): RunEvent[] {
    const out: RunEvent[] = [];
    const at = new Date().toISOString();
    for (const [fork, tail] of this.#tails) {
      if (!this.#running(fork, tail.step)) {
        this.#tails.delete(fork);
        continue;
      }
      for (const chunk of tail.streams.values()) out.push({ seq: 0, at, type: COMMAND_OUTPUT_EVENT, fork, data: { ...chunk } });
    }
    return out;
  }

  /** The interval each fork should keep to now: the base one, widened when many forks are busy. */
  #interval(n: number, now: number): number {
    let busy = 1;
    // Quiet forks' tails whose step ended are let go now and then (one query each, at most every BUSY_WINDOW_MS).
    const prune = now - this.#prunedAt >= BUSY_WINDOW_MS;
    if (prune) this.#prunedAt = now;
    for (const [fork, tail] of this.#tails) {
      if (fork !== n && now - tail.at < BUSY_WINDOW_MS) busy++;
      else if (prune && !this.#running(fork, tail.step)) this.#tails.delete(fork);
    }
    return Math.max(this.#intervalMs(), Math.ceil((busy * 1000) / RUN_OUTPUT_EVENTS_PER_SECOND));
  }
}
