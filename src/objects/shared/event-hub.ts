/**
 * Live run events as Server-Sent Events. The Orchestrator appends every event to its SQLite log
 * and hands it to the hub. A new watcher first gets the log it asked for, read a page at a time
 * and written only as fast as it reads (backpressure), then live events. Live events are written
 * without waiting: a watcher that falls too far behind is dropped (it reconnects with
 * Last-Event-ID and replays from the log), so slow watchers never hold up the run, and a run has
 * at most MAX_WATCHERS of them.
 */
export interface RunEvent {
  seq: number;
  at: string;
  type: string;
  fork: number | null;
  data: Record<string, unknown>;
}

const encoder = new TextEncoder();
/** Chunks a live watcher may have queued before it is dropped. */
const MAX_BACKLOG = 5000;
/** Live events held for a watcher still replaying the log before it is dropped. */
const MAX_HELD = 5000;
const KEEPALIVE_MS = 15_000;
/** A replayed log is written in chunks of about this size. */
const REPLAY_CHUNK_BYTES = 64 * 1024;
/** Live events go out together at most this often: one write per watcher per batch, not per event. */
const LIVE_BATCH_MS = 20;
/** Watchers of one run at once; more are refused (429). */
export const MAX_WATCHERS = 100;

function concat(parts: Uint8Array[]): Uint8Array {
  const chunk = new Uint8Array(parts.reduce((size, part) => size + part.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    chunk.set(part, at);
    at += part.byteLength;
  }
  return chunk;
}

/** An event as SSE; a live-only event (seq 0: not in the log) has no `id`, so it never moves Last-Event-ID. */
export function formatSse(event: RunEvent): Uint8Array {
  if (event.seq <= 0) {
    const payload = JSON.stringify({ at: event.at, type: event.type, fork: event.fork, ...event.data });
    return encoder.encode(`event: ${event.type}\ndata: ${payload}\n\n`);
  }
  const payload = JSON.stringify({ seq: event.seq, at: event.at, type: event.type, fork: event.fork, ...event.data });
  return encoder.encode(`id: ${event.seq}\nevent: ${event.type}\ndata: ${payload}\n\n`);
}

interface Watcher {
  writer: WritableStreamDefaultWriter<Uint8Array>;
  /** Live events that arrived while the log was being replayed (null once live). */
  held: RunEvent[] | null;
}

export class EventHub {
  readonly #watchers = new Set<Watcher>();
  #keepalive: ReturnType<typeof setInterval> | undefined;
  /** Live events not yet sent (sent every LIVE_BATCH_MS). */
  #batch: Uint8Array[] = [];
  #batchTimer: ReturnType<typeof setTimeout> | undefined;

  get size(): number {
    return this.#watchers.size;
  }

  get full(): boolean {
    return this.#watchers.size >= MAX_WATCHERS;
  }

  /**
   * Opens a stream that carries the log from `backlog` (pages read on demand), then live events
   * (unless `live` is false).
   */
  open(backlog: Iterable<RunEvent>, live: boolean, current?: () => RunEvent[]): ReadableStream<Uint8Array> {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>(undefined, new CountQueuingStrategy({ highWaterMark: 64 }));
    const writer = writable.getWriter();
    const watcher: Watcher = { writer, held: [] };
    if (live) {
      this.#watchers.add(watcher);
      void writer.closed.catch(() => undefined).finally(() => this.#watchers.delete(watcher));
      this.#keepalive ??= setInterval(() => this.#send(encoder.encode(": keepalive\n\n")), KEEPALIVE_MS);
    }
    void this.#replay(watcher, backlog, live, current).catch(() => {
      this.#watchers.delete(watcher);
      void writer.abort("replay failed").catch(() => undefined);
    });
    return readable;
  }

  async #replay(watcher: Watcher, backlog: Iterable<RunEvent>, live: boolean, current?: () => RunEvent[]): Promise<void> {
    const { writer } = watcher;
    await writer.write(encoder.encode(": forkyard events\nretry: 2000\n\n"));
    // The log goes out in batches of events, each written once the reader has taken the last.
    let last = 0;
    let batch: Uint8Array[] = [];
    let size = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const chunk = concat(batch);
      batch = [];
      size = 0;
      await writer.ready;
      void writer.write(chunk).catch(() => undefined);
    };
    for (const event of backlog) {
      const bytes = formatSse(event);
      batch.push(bytes);
      size += bytes.byteLength;
      last = event.seq;
      if (size >= REPLAY_CHUNK_BYTES) await flush();
    }
    await flush();
    if (!live || !this.#watchers.has(watcher)) {
      // Not live, or the run ended (closeAll) while the log was replayed: the log had it all.
      this.#watchers.delete(watcher);
      await writer.close();
      return;
    }
    // Caught up with the log: what arrived meanwhile follows, once each, in order (the live batch
    // goes to the others first: it holds events this watcher has in `held`).
    this.#flushBatch();
    const held = watcher.held ?? [];
    watcher.held = null;
    for (const event of held) if (event.seq > last) void writer.write(formatSse(event)).catch(() => undefined);
    // Live-only events it missed are not in the log: it gets their current state instead (the running steps' output tails).
    for (const event of current?.() ?? []) void writer.write(formatSse(event)).catch(() => undefined);
  }

  publish(event: RunEvent): void {
    if (this.#watchers.size === 0) return;
    for (const watcher of this.#watchers) {
      if (!watcher.held) continue;
      watcher.held.push(event);
      if (watcher.held.length > MAX_HELD) this.#drop(watcher, "watcher too slow; reconnect with Last-Event-ID");
    }
    this.#batch.push(formatSse(event));
    this.#batchTimer ??= setTimeout(() => this.#flushBatch(), LIVE_BATCH_MS);
  }

  #flushBatch(): void {
    if (this.#batchTimer !== undefined) clearTimeout(this.#batchTimer);
    this.#batchTimer = undefined;
    if (this.#batch.length === 0) return;
    const chunk = concat(this.#batch);
    this.#batch = [];
    this.#send(chunk);
  }

  /** Ends every stream (the run ended), after the events not yet sent. */
  closeAll(): void {
    this.#flushBatch();
    for (const watcher of this.#watchers) {
      // A watcher still replaying closes when its replay ends (its log already holds the end).
      if (!watcher.held) void watcher.writer.close().catch(() => undefined);
    }
    this.#watchers.clear();
    this.#stopKeepalive();
  }

  #send(chunk: Uint8Array): void {
    for (const watcher of this.#watchers) {
      if (watcher.held) continue;
      const { writer } = watcher;
      if ((writer.desiredSize ?? 0) < -MAX_BACKLOG) {
        this.#drop(watcher, "watcher too slow; reconnect with Last-Event-ID");
        continue;
      }
      void writer.write(chunk).catch(() => this.#watchers.delete(watcher));
    }
    if (this.#watchers.size === 0) this.#stopKeepalive();
  }

  #drop(watcher: Watcher, reason: string): void {
    this.#watchers.delete(watcher);
    void watcher.writer.abort(reason).catch(() => undefined);
  }

  #stopKeepalive(): void {
    if (this.#keepalive !== undefined) clearInterval(this.#keepalive);
    this.#keepalive = undefined;
  }
}

/** The events stream's response: the log from `backlog`, then (if `live`) `current` live-only state and live events; 429 past MAX_WATCHERS. */
export function eventStreamResponse(hub: EventHub, backlog: Iterable<RunEvent>, live: boolean, what: "run" | "session" | "eval", current?: () => RunEvent[]): Response {
  if (live && hub.full) {
    return Response.json(
      { error: { code: "rate_limited", message: `This ${what} already has ${MAX_WATCHERS} event watchers; try again later.`, details: { retryAfterSeconds: 5 } } },
      { status: 429, headers: { "Retry-After": "5" } },
    );
  }
  return new Response(hub.open(backlog, live, current), { headers: { "Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no" } });
}

/** Where a watcher resumes: Last-Event-ID, else `?after=`, else the start. */
export function eventsAfterOf(request: Request): number {
  const after = Number(request.headers.get("Last-Event-ID") ?? new URL(request.url).searchParams.get("after") ?? 0);
  return Number.isFinite(after) ? after : 0;
}
