import { afterEach, describe, expect, it, vi } from "vitest";
import { RunLiveOutput } from "../../src/objects/orchestrator/live-output";
import { MAX_CHUNK_CHARS, type OutputChunk } from "../../src/protocol/live-output";
import { LiveOutputSender } from "../../src/workflows/live-output";
import { EventChannel } from "../../src/objects/shared/event-channel";
import { migrate } from "../../src/objects/shared/migrations";
import { SESSION_MIGRATIONS } from "../../src/objects/session/schema";
import { sqliteStorage } from "./support/sqlite-storage";
import { REDACTED, StreamScrubber } from "../../src/observability/scrub";

afterEach(() => vi.useRealTimers());

function sender(intervalMs = 250) {
  const sent: { chunks: OutputChunk[]; final: boolean }[] = [];
  const live = new LiveOutputSender(async (chunks, final) => void sent.push({ chunks, final }), "command-1", intervalMs);
  return { live, sent };
}

describe("a fork's live output sender", () => {
  it("coalesces what arrives within an interval into one call, with each stream's offset", async () => {
    vi.useFakeTimers();
    const { live, sent } = sender();
    live.push("stdout", "one\n");
    live.push("stderr", "err\n");
    live.push("stdout", "two\n");
    expect(sent).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(250);
    expect(sent).toEqual([
      {
        final: false,
        chunks: [
          { step: "command-1", stream: "stdout", offset: 0, data: "one\ntwo\n" },
          { step: "command-1", stream: "stderr", offset: 0, data: "err\n" },
        ],
      },
    ]);
    live.push("stdout", "three\n");
    await live.close();
    expect(sent[1]).toEqual({ final: true, chunks: [{ step: "command-1", stream: "stdout", offset: 8, data: "three\n" }] });
    live.push("stdout", "after close");
    await vi.advanceTimersByTimeAsync(1000);
    expect(sent).toHaveLength(2);
  });

  it("sends only the end of a flood, its offset past what was cut, and keeps one call in flight", async () => {
    vi.useFakeTimers();
    let answer: () => void = () => undefined;
    const sent: OutputChunk[][] = [];
    const live = new LiveOutputSender((chunks) => new Promise((resolve) => { sent.push(chunks); answer = () => resolve({ nextInMs: 1000 }); }), "tool-1-1", 250);
    live.push("stdout", "x".repeat(MAX_CHUNK_CHARS + 100));
    await vi.advanceTimersByTimeAsync(250);
    expect(sent[0]).toEqual([{ step: "tool-1-1", stream: "stdout", offset: 100, data: "x".repeat(MAX_CHUNK_CHARS) }]);
    live.push("stdout", "y");
    await vi.advanceTimersByTimeAsync(2000);
    expect(sent).toHaveLength(1); // the first call has not answered
    answer();
    await vi.advanceTimersByTimeAsync(250);
    expect(sent).toHaveLength(1); // the receiver asked for 1000 ms
    await vi.advanceTimersByTimeAsync(1000);
    expect(sent[1]).toEqual([{ step: "tool-1-1", stream: "stdout", offset: MAX_CHUNK_CHARS + 100, data: "y" }]);
  });
});

function runLive(running: (n: number) => string | null = () => "command-1") {
  const storage = sqliteStorage();
  migrate(storage, SESSION_MIGRATIONS);
  const events = new EventChannel(storage.sql, "run");
  const published: { fork: number | null; data: Record<string, unknown> }[] = [];
  const channel = { live: (_type: string, fork: number | null, data: Record<string, unknown>) => void published.push({ fork, data }) };
  const live = new RunLiveOutput(channel as Pick<EventChannel, "live">, { runningStep: running }, () => 250);
  return { live, published, events };
}

const chunk = (data: string, offset = 0, step = "command-1"): OutputChunk => ({ step, stream: "stdout", offset, data });

describe("a run's live output", () => {
  it("spreads 100 busy forks to about 40 events a second, and drops a batch that comes too soon", () => {
    const { live, published } = runLive();
    let answer = { nextInMs: 0 };
    for (let n = 1; n <= 100; n++) answer = live.accept(n, [chunk(`fork ${n}\n`)], false, 1000);
    expect(answer.nextInMs).toBe(2500);
    expect(published).toHaveLength(100);
    live.accept(1, [chunk("again\n", 7)], false, 1100);
    expect(published).toHaveLength(100);
    // A command's last batch is always passed on.
    live.accept(1, [chunk("end\n", 7)], true, 1100);
    expect(published.at(-1)).toEqual({ fork: 1, data: chunk("end\n", 7) });
  });

  it("gives a late watcher the running steps' tails (the last 4 KiB), not finished ones'", () => {
    let runningOf2: string | null = "command-1";
    const { live } = runLive((n) => (n === 2 ? runningOf2 : "command-1"));
    live.accept(1, [chunk("a".repeat(3000))], false, 0);
    live.accept(1, [chunk("b".repeat(3000), 3000)], false, 1000);
    live.accept(2, [chunk("fork two\n")], false, 0);
    const tails = live.snapshot();
    expect(tails.map((e) => [e.fork, e.type, e.seq])).toEqual([
      [1, "command.output", 0],
      [2, "command.output", 0],
    ]);
    expect(tails[0]!.data).toEqual({ step: "command-1", stream: "stdout", offset: 6000 - 4096, data: "a".repeat(4096 - 3000) + "b".repeat(3000) });
    runningOf2 = "collect";
    expect(live.snapshot().map((e) => e.fork)).toEqual([1]);
  });

  it("sends live-only events to watchers without an id, and never into the log", async () => {
    const { events } = runLive();
    events.emit("run.created", null, {});
    const res = events.response(new Request("http://x/events"), true, () => [{ seq: 0, at: "t", type: "command.output", fork: 1, data: { ...chunk("tail\n") } }]);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("tail")) text += (await reader.read()).value ?? "";
    events.live("command.output", 1, { ...chunk("more\n", 5) });
    while (!text.includes("more")) text += (await reader.read()).value ?? "";
    await reader.cancel();
    expect(text).toContain('event: command.output\ndata: {"at":"t","type":"command.output","fork":1,"step":"command-1"');
    expect(text.match(/^id: /gm)).toHaveLength(1); // run.created's only
    const replay = await events.response(new Request("http://x/events"), false).text();
    expect(replay).not.toContain("command.output");
  });
});

describe("live output's secret scrubbing", () => {
  it("never lets a secret out in parts, wherever the stream is cut", () => {
    const secret = "sk-ant-api03-SECRETVALUE123";
    const text = `token=${secret} and ${encodeURIComponent(secret)} end\n`;
    const expected = `token=${REDACTED} and ${REDACTED} end\n`;
    for (let i = 0; i <= text.length; i++) {
      for (const j of [i, Math.min(text.length, i + 3), Math.min(text.length, i + 11)]) {
        const scrubber = new StreamScrubber([secret]);
        const shown = scrubber.push(text.slice(0, i)) + scrubber.push(text.slice(i, j)) + scrubber.push(text.slice(j)) + scrubber.end();
        expect(shown, `cut at ${i}/${j}`).toBe(expected);
      }
    }
  });

  it("holds back only what could start a secret", () => {
    const scrubber = new StreamScrubber(["sk-ant-api03-SECRETVALUE123"]);
    expect(scrubber.push("build ok\nsk-")).toBe("build ok\n");
    expect(scrubber.push("ip this\n")).toBe("sk-ip this\n");
    expect(scrubber.end()).toBe("");
  });
});
