import { describe, expect, it } from "vitest";
import { EventChannel } from "../../src/objects/shared/event-channel";
import { migrate } from "../../src/objects/shared/migrations";
import { SESSION_MIGRATIONS } from "../../src/objects/session/schema";
import { sqliteStorage } from "./support/sqlite-storage";

function channel() {
  const storage = sqliteStorage();
  migrate(storage, SESSION_MIGRATIONS);
  return new EventChannel(storage.sql, "session");
}

const eventsIn = (text: string) => [...text.matchAll(/^event: (.+)$/gm)].map((m) => m[1]);

describe("the event channel", () => {
  it("numbers the events it records and replays the log after Last-Event-ID", async () => {
    const events = channel();
    expect(events.emit("session.created", null, {}).seq).toBe(1);
    events.emit("turn.queued", 1, { queued: 1 });
    events.emit("turn.started", 1, {});
    const res = events.response(new Request("http://do/events", { headers: { "Last-Event-ID": "1" } }), false);
    expect(res.headers.get("Content-Type")).toBe("text/event-stream");
    expect(eventsIn(await res.text())).toEqual(["turn.queued", "turn.started"]);
  });

  it("carries events recorded while it is open and ends the stream at closeAll", async () => {
    const events = channel();
    events.emit("session.created", null, {});
    const res = events.response(new Request("http://do/events?after=0"), true);
    const text = res.text();
    events.emit("session.destroyed", null, {});
    events.closeAll();
    expect(eventsIn(await text)).toEqual(["session.created", "session.destroyed"]);
  });
});
