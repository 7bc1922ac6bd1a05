import { EventHub, eventsAfterOf, eventStreamResponse, type RunEvent } from "./event-hub";
import { EventLog } from "./event-log";

/**
 * The events of a run or a session: each is appended to the object's log (SQLite) and handed to
 * the hub of live watchers; GET /events replays the log from Last-Event-ID, then follows live.
 */
export class EventChannel {
  readonly #log: EventLog;
  readonly #hub = new EventHub();
  readonly #what: "run" | "session" | "eval";

  constructor(sql: SqlStorage, what: "run" | "session" | "eval") {
    this.#log = new EventLog(sql);
    this.#what = what;
  }

  /** Records an event about `subject` (a fork or a turn; null: the whole) and sends it to watchers. */
  emit(type: string, subject: number | null, data: Record<string, unknown>, at = Date.now()): RunEvent {
    const event = this.#log.append(type, subject, data, new Date(at).toISOString());
    this.#hub.publish(event);
    return event;
  }

  /** Sends a live-only event to watchers (not logged, no id: e.g. command.output). */
  live(type: string, subject: number | null, data: Record<string, unknown>): void {
    this.#hub.publish({ seq: 0, at: new Date().toISOString(), type, fork: subject, data });
  }

  /** Ends every live stream (the run or the session ended), after the events not yet sent. */
  closeAll(): void {
    this.#hub.closeAll();
  }

  /** The events stream for `request`: the log after its Last-Event-ID, then (if `live`) `current` live-only events and live events. */
  response(request: Request, live: boolean, current?: () => RunEvent[]): Response {
    return eventStreamResponse(this.#hub, this.#log.after(eventsAfterOf(request)), live, this.#what, current);
  }
}
