/**
 * Live run events as Server-Sent Events. The Orchestrator appends every event to its SQLite log
 * and hands it to the hub, which writes it to each watcher without waiting: a watcher that falls
 * too far behind is dropped (it reconnects with Last-Event-ID and replays from the log), so any
 * number of slow watchers cannot hold up the run.
 */
export interface RunEvent {
  seq: number;
  at: string;
  type: string;
  fork: number | null;
  data: Record<string, unknown>;
}

const encoder = new TextEncoder();
/** Chunks a watcher may have queued before it is dropped. */
const MAX_BACKLOG = 5000;
const KEEPALIVE_MS = 15_000;

export function formatSse(event: RunEvent): Uint8Array {
  const payload = JSON.stringify({ seq: event.seq, at: event.at, type: event.type, fork: event.fork, ...event.data });
  return encoder.encode(`id: ${event.seq}\nevent: ${event.type}\ndata: ${payload}\n\n`);
}

export class EventHub {
  readonly #watchers = new Set<WritableStreamDefaultWriter<Uint8Array>>();
  #keepalive: ReturnType<typeof setInterval> | undefined;

  get size(): number {
    return this.#watchers.size;
  }

  /** Opens a stream that first carries `backlog`, then live events (unless `live` is false). */
  open(backlog: Iterable<RunEvent>, live: boolean): ReadableStream<Uint8Array> {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>(undefined, new CountQueuingStrategy({ highWaterMark: 64 }));
    const writer = writable.getWriter();
    void writer.write(encoder.encode(": forkyard run events\nretry: 2000\n\n")).catch(() => undefined);
    for (const event of backlog) void writer.write(formatSse(event)).catch(() => undefined);
    if (!live) {
      void writer.close().catch(() => undefined);
      return readable;
    }
    this.#watchers.add(writer);
    void writer.closed.catch(() => undefined).finally(() => this.#watchers.delete(writer));
    this.#keepalive ??= setInterval(() => this.#send(encoder.encode(": keepalive\n\n")), KEEPALIVE_MS);
    return readable;
  }

  publish(event: RunEvent): void {
    if (this.#watchers.size > 0) this.#send(formatSse(event));
  }

  /** Ends every stream (the run ended). */
  closeAll(): void {
    for (const writer of this.#watchers) void writer.close().catch(() => undefined);
    this.#watchers.clear();
    this.#stopKeepalive();
  }

  #send(chunk: Uint8Array): void {
    for (const writer of this.#watchers) {
      if ((writer.desiredSize ?? 0) < -MAX_BACKLOG) {
        this.#watchers.delete(writer);
        void writer.abort("watcher too slow; reconnect with Last-Event-ID").catch(() => undefined);
        continue;
      }
      void writer.write(chunk).catch(() => this.#watchers.delete(writer));
    }
    if (this.#watchers.size === 0) this.#stopKeepalive();
  }

  #stopKeepalive(): void {
    if (this.#keepalive !== undefined) clearInterval(this.#keepalive);
    this.#keepalive = undefined;
  }
}
