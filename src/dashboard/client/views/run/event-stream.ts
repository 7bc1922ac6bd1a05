/**
 * Following a run's events (GET /v1/runs/:id/events), or an eval's (GET /v1/evals/:id/events: the
 * same frames), for as long as the view is open: each event goes to `onEvent` once (by seq); when
 * the stream ends, the run is read again, and if it has not ended it reconnects with
 * Last-Event-ID, backing off from the server's `retry` up to 30 s.
 */
import type { RunEvent } from "../../lib/api-types.ts";
import { runPath } from "../../lib/api.ts";
import { authHeaders, forgetToken, REJECTED_TOKEN } from "../../lib/auth.ts";
import { sleep } from "../../lib/page.ts";
import { readSse } from "./sse.ts";

export type StreamState = "connecting" | "live" | "reconnecting" | "ended" | "off";

export interface EventStreamHandlers {
  onEvent(event: RunEvent): void;
  onState(state: StreamState): void;
  /** Reads the run again (when the stream ends); resolves once it is read. */
  refresh(): Promise<void>;
  /** Whether the run has ended (as last read). */
  finished(): boolean;
}

export function followRunEvents(id: string, signal: AbortSignal, on: EventStreamHandlers): Promise<void> {
  return followEvents(runPath(id) + "/events", signal, on);
}

/** Follows the event stream at `path` (a run's or an eval's). */
export async function followEvents(path: string, signal: AbortSignal, on: EventStreamHandlers): Promise<void> {
  let lastEventId: string | null = null;
  let lastSeq = 0;
  let retryMs = 2000;
  let failures = 0;
  while (!signal.aborted) {
    try {
      const headers: Record<string, string> = { Accept: "text/event-stream", ...authHeaders() };
      if (lastEventId !== null) headers["Last-Event-ID"] = lastEventId;
      const res = await fetch(path, { headers, signal, cache: "no-store", credentials: "omit" });
      if (res.status === 401) return forgetToken(REJECTED_TOKEN);
      if (res.status === 404) return on.onState("off");
      if (!res.ok || !res.body) throw new Error("HTTP " + res.status);
      on.onState("live");
      failures = 0;
      await readSse(res.body, (frame) => {
        if (frame.id !== undefined) lastEventId = frame.id;
        if (frame.retry !== undefined) retryMs = frame.retry;
        if (frame.data === undefined) return;
        let event: RunEvent;
        try {
          event = JSON.parse(frame.data) as RunEvent;
        } catch {
          return;
        }
        if (typeof event.seq === "number") {
          if (event.seq <= lastSeq) return;
          lastSeq = event.seq;
        }
        on.onEvent(event);
      });
    } catch {
      if (signal.aborted) return;
    }
    if (signal.aborted) return;
    // Whether the run ended is read again, not taken from the stream: a run whose fork is branched
    // after it finished goes on, and its replayed events hold its earlier run.finished.
    await on.refresh();
    if (on.finished()) return on.onState("ended");
    failures++;
    on.onState("reconnecting");
    await sleep(Math.min(retryMs * Math.pow(2, Math.min(failures - 1, 4)), 30000), signal);
  }
}
