import { ApiError, type ForkyardClient } from "./client.ts";
import { formatApiError } from "./output.ts";
import type { LiveChunk, RunView } from "./types.ts";
import { isSettledRun } from "./types.ts";

export interface FollowOptions {
  /** Ends the follow early (Ctrl-C). */
  signal: AbortSignal;
  /** Polling period; with an event stream, the fallback period instead. */
  intervalMs?: number;
  /** Use GET /v1/runs/:id/events when the API offers it, as a cue to re-read the run. */
  useEvents?: boolean;
  /** The least time between two reads of the run, however many events arrive (default 250 ms). */
  minIntervalMs?: number;
  /** How long transient API errors (5xx, unreachable) are retried before giving up. */
  retryForMs?: number;
  onTransientError?: (err: ApiError) => void;
  /** Live output of running steps (`command.output` events): handed over as they come; they do not cause a re-read. */
  onOutput?: (chunk: LiveChunk) => void;
}

/**
 * Snapshots of a run, from now until it ends (the terminal snapshot is the last one yielded), or
 * until `signal` aborts. Each snapshot is a fresh GET /v1/runs/:id: read every `intervalMs`, or on
 * each Server-Sent Event when the API streams them (whatever their payload), with a slow poll
 * behind the stream in case it goes quiet.
 */
export async function* followRun(client: ForkyardClient, id: string, opts: FollowOptions): AsyncGenerator<RunView> {
  const interval = opts.intervalMs ?? 1000;
  const minGap = Math.min(interval, opts.minIntervalMs ?? 250);
  const wake = new Wake(opts.signal);
  const streamAbort = new AbortController();
  const stopStream = () => streamAbort.abort();
  opts.signal.addEventListener("abort", stopStream, { once: true });
  let streaming = false;
  if (opts.useEvents) {
    const body = await client.openEvents(id, streamAbort.signal);
    if (body) {
      streaming = true;
      void pumpEvents(body, () => wake.now(), opts.onOutput).finally(() => {
        streaming = false;
        wake.now();
      });
    }
  }
  try {
    while (!opts.signal.aborted) {
      const readAt = Date.now();
      const view = await getWithRetry(client, id, opts);
      if (!view) return;
      yield view;
      if (isSettledRun(view)) return;
      await wake.after(streaming ? Math.max(interval, 5000) : interval);
      // A burst of events (every step of every fork) makes one re-read, not one each.
      const gap = minGap - (Date.now() - readAt);
      if (gap > 0 && !(await sleep(gap, opts.signal))) return;
    }
  } finally {
    opts.signal.removeEventListener("abort", stopStream);
    streamAbort.abort();
  }
}

async function getWithRetry(client: ForkyardClient, id: string, opts: FollowOptions): Promise<RunView | null> {
  const deadline = Date.now() + (opts.retryForMs ?? 30_000);
  for (let delay = 500; ; delay = Math.min(delay * 2, 5000)) {
    try {
      return await client.getRun(id, opts.signal);
    } catch (err) {
      if (opts.signal.aborted) return null;
      if (!(err instanceof ApiError) || !err.transient || Date.now() + delay > deadline) throw err;
      opts.onTransientError?.(err);
      if (!(await sleep(delay, opts.signal))) return null;
    }
  }
}

/** Reads an SSE body, calling `onEvent` at each event boundary (a blank line); live output goes to `onOutput`. */
export async function pumpEvents(body: ReadableStream<Uint8Array>, onEvent: () => void, onOutput?: (chunk: LiveChunk) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for await (const chunk of body) {
      buffer += decoder.decode(chunk, { stream: true }).replace(/\r\n?/g, "\n");
      let boundary: number;
      let fired = false;
      while ((boundary = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        const output = liveChunk(event);
        if (output) onOutput?.(output);
        // Comment-only blocks (`: keep-alive`) are heartbeats, not changes; live output changes nothing stored.
        else if (event.split("\n").some((l) => l !== "" && !l.startsWith(":"))) fired = true;
      }
      if (fired) onEvent();
    }
  } catch {
    // aborted or dropped: the caller falls back to polling
  }
}

/** The live output an SSE event block carries, if it is a well-formed `command.output`. */
export function liveChunk(block: string): LiveChunk | undefined {
  const lines = block.split("\n");
  if (!lines.includes("event: command.output")) return undefined;
  const data = lines.find((l) => l.startsWith("data: "));
  try {
    const c = JSON.parse(data?.slice(6) ?? "") as Partial<LiveChunk>;
    const ok = typeof c.fork === "number" && typeof c.step === "string" && (c.stream === "stdout" || c.stream === "stderr") && typeof c.offset === "number" && typeof c.data === "string";
    return ok ? { fork: c.fork!, step: c.step!, stream: c.stream!, offset: c.offset!, data: c.data! } : undefined;
  } catch {
    return undefined;
  }
}

/** A sleep that can be cut short (by an event) or cancelled (by the signal). */
class Wake {
  readonly #signal: AbortSignal;
  #resolve: (() => void) | null = null;
  #pending = false;

  constructor(signal: AbortSignal) {
    this.#signal = signal;
  }

  now(): void {
    if (this.#resolve) this.#resolve();
    else this.#pending = true;
  }

  after(ms: number): Promise<void> {
    if (this.#pending || this.#signal.aborted) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#signal.removeEventListener("abort", done);
        this.#resolve = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#signal.addEventListener("abort", done, { once: true });
      this.#resolve = done;
    });
  }
}

/** Resolves true after `ms`, false at once if `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * followRun for a command: follows the event stream, stops on Ctrl-C (`signal`), and warns once
 * (not on every retry) when the API is unreachable for a while.
 */
export function followForCommand(client: ForkyardClient, id: string, signal: AbortSignal, warn: (message: string) => void, onOutput?: (chunk: LiveChunk) => void): AsyncGenerator<RunView> {
  let warned = false;
  return followRun(client, id, {
    signal,
    useEvents: true,
    ...(onOutput ? { onOutput } : {}),
    onTransientError: (err) => {
      if (!warned) warn(`${formatApiError(err)}; retrying`);
      warned = true;
    },
  });
}
