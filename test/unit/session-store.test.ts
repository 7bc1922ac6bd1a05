import { describe, expect, it } from "vitest";
import type { Exchange, ModelTurn } from "../../src/agent/conversation";
import { buildMessages } from "../../src/agent/conversation";
import { migrate } from "../../src/objects/shared/migrations";
import { SESSION_MIGRATIONS } from "../../src/objects/session/schema";
import { SessionStore } from "../../src/objects/session/session-store";
import { sqliteStorage } from "./support/sqlite-storage";

const AT = "2026-01-01T00:00:00.000Z";
const USAGE = { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 };
const toolCall = (id: string, command: string): ModelTurn => ({ stopReason: "tool_use", content: [{ type: "tool_use", id, name: "bash", inputJson: JSON.stringify({ command }) }], usage: USAGE, model: "m" });
const text = (words: string): ModelTurn => ({ stopReason: "end_turn", content: [{ type: "text", text: words }], usage: USAGE, model: "m" });

/** Runs turn n as the workflow does: a tool call, its result, then a closing text. */
function runTurn(store: SessionStore, n: number): void {
  store.startTurn(n, `i${n}`, AT);
  store.recordModel(n, 1, toolCall(`tu${n}`, `echo ${n}`), AT);
  store.recordTool(n, 1, 0, { id: `tu${n}`, name: "bash", input: { command: `echo ${n}` } }, { toolUseId: `tu${n}`, content: `out ${n}`, isError: false }, AT);
  store.recordModel(n, 2, text(`done ${n}`), AT);
  store.finishTurn(n, "succeeded", AT, {});
}

/** The exchanges as `prompt: what the model said and got, in order`. */
const shape = (history: Exchange[]) =>
  history.map((e) => `${e.prompt}: ${e.turns.map((t) => t.model.content.map((b) => (b.type === "text" ? b.text : b.type)).join() + (t.tools.length ? ` > ${t.tools.map((r) => r.content).join()}` : "")).join(" | ")}`);

const expected = (upTo: number, prompt: (n: number) => string) => Array.from({ length: upTo }, (_, i) => `${prompt(i + 1)}: tool_use > out ${i + 1} | done ${i + 1}`);

function sessionDb(migrations = SESSION_MIGRATIONS) {
  const storage = sqliteStorage();
  migrate(storage, migrations);
  return storage;
}

describe("the session store's history", () => {
  for (const queued of [3, 10]) {
    it(`keeps turn order when ${queued} messages are queued at once after two turns`, () => {
      const store = new SessionStore(sessionDb().sql);
      const prompt = (n: number) => `message ${n}`;
      for (const n of [1, 2]) {
        store.addTurn(prompt(n), "m", AT);
        runTurn(store, n);
      }
      for (let n = 3; n < 3 + queued; n++) store.addTurn(prompt(n), "m", AT);
      for (let n = 3; n < 3 + queued; n++) {
        // What turn n is sent: the turns before it, each with its own answer.
        expect(shape(store.history(n - 1))).toEqual(expected(n - 1, prompt));
        runTurn(store, n);
      }
      const last = 2 + queued;
      expect(shape(store.history(last))).toEqual(expected(last, prompt));
      // The messages alternate: no two prompts run together, no answer lost or doubled.
      const roles = buildMessages("next", [], store.history(last)).map((m) => m.role);
      expect(roles).toEqual([...Array.from({ length: last }, () => ["user", "assistant", "user", "assistant"]).flat(), "user"]);
      // GET …/transcript: prompts, calls and results in turn order, seq increasing.
      const entries = store.transcript(0, 1000);
      expect(entries.map((e) => e.turn)).toEqual(Array.from({ length: last }, (_, i) => [i + 1, i + 1, i + 1, i + 1]).flat());
      expect(entries.map((e) => e.role)).toEqual(Array.from({ length: last }, () => ["user", "assistant", "tool", "assistant"]).flat());
      expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
    });
  }

  it("migrates a transcript written in queue order to turn order (version 3), keeping what was recorded", () => {
    const storage = sessionDb(SESSION_MIGRATIONS.slice(0, 2));
    const insert = (key: string, turn: number, kind: string, data: unknown) => storage.sql.exec("INSERT INTO transcript (key, turn, kind, data, at) VALUES (?, ?, ?, ?, ?)", key, turn, kind, JSON.stringify(data), AT);
    const turn = (n: number, status: string) => storage.sql.exec("INSERT INTO turns (n, prompt, model, status, queued_at) VALUES (?, ?, 'm', ?, ?)", n, `message ${n}`, status, AT);
    // As a build before version 3 wrote it: three prompts queued at once, then turn 1 ran, turn 2 is running, turn 3 queued.
    [1, 2, 3].forEach((n) => insert(`t${n}:prompt`, n, "prompt", { prompt: `message ${n}` }));
    turn(1, "succeeded");
    turn(2, "running");
    turn(3, "queued");
    insert("t1:m1", 1, "model", text("done 1"));
    insert("t2:m1", 2, "model", text("done 2"));
    migrate(storage, SESSION_MIGRATIONS);
    const store = new SessionStore(storage.sql);
    expect(store.transcript(0, 100).map((e) => [e.seq, e.turn, e.role])).toEqual([
      [1, 1, "user"],
      [2, 1, "assistant"],
      [3, 2, "user"],
      [4, 2, "assistant"],
    ]);
    // The queued turn's prompt comes back when it starts, after everything before it.
    store.finishTurn(2, "succeeded", AT, {});
    store.startTurn(3, "i3", AT);
    expect(store.transcript(4, 100).map((e) => [e.seq, e.turn, e.role])).toEqual([[5, 3, "user"]]);
    expect(shape(store.history(2))).toEqual(["message 1: done 1", "message 2: done 2"]);
  });
});
