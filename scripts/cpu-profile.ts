/**
 * A CPU profile of the Worker (its isolate: routes, Durable Objects, Workflow steps) taken over
 * wrangler's V8 inspector, summarised as self time per function. Used by `npm run bench` and
 * `npm run scale` when PROFILE=1: profile before optimising.
 */
import { printTable } from "../bench/stats.ts";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  /** Wall time profiled and the part of it the isolate was busy (not idle), ms. "(program)" is native work (SQLite, I/O, serialisation). */
  wallMs: number;
  busyMs: number;
  /** The functions with the most self time: [name (file:line), ms, % of busy]. */
  top: [string, number, number][];
  /** The same by inclusive time (the function and what it called). */
  topInclusive: [string, number, number][];
}

/** A DevTools protocol session with the Worker's isolate (wrangler's inspector on `port`): profiles, heap figures. */
export interface InspectorSession {
  send(method: string, params?: Record<string, unknown>): Promise<unknown>;
  close(): void;
}

export async function connectInspector(port: number): Promise<InspectorSession> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as { webSocketDebuggerUrl: string }[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error(`no inspector target on port ${port}`);
  // The inspector proxy admits local origins only; Node's WebSocket sends none by default.
  const socket = new WebSocket(url, { headers: { Origin: "http://localhost" } } as unknown as string[]);
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener("open", () => resolve(), { once: true });
    socket.addEventListener("error", () => reject(new Error(`cannot connect to the inspector at ${url}`)), { once: true });
  });
  // wrangler's inspector proxy talks to the runtime too, with ids above 1e8: ours stay below.
  let nextId = 1;
  const pending = new Map<number, { resolve: (result: unknown) => void; reject: (err: Error) => void }>();
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: { message: string } };
    const call = message.id === undefined ? undefined : pending.get(message.id);
    if (!call) return;
    pending.delete(message.id!);
    if (message.error) call.reject(new Error(`inspector: ${message.error.message}`));
    else call.resolve(message.result ?? {}); // some commands answer with no result at all
  });
  socket.addEventListener("close", () => {
    for (const call of pending.values()) call.reject(new Error("inspector: connection closed"));
    pending.clear();
  });
  return {
    send: (method, params = {}) =>
      new Promise<unknown>((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        socket.send(JSON.stringify({ id, method, params }));
      }),
    close: () => socket.close(),
  };
}

/** Starts profiling the Worker behind the inspector on `port`; `stop()` returns the summary. */
export async function startCpuProfile(port: number, sampleIntervalUs = 1000): Promise<{ stop(topN?: number): Promise<ProfileSummary> }> {
  const session = await connectInspector(port);
  await session.send("Profiler.enable");
  await session.send("Profiler.setSamplingInterval", { interval: sampleIntervalUs });
  await session.send("Profiler.start");
  return {
    async stop(topN = 25) {
      const { profile } = (await session.send("Profiler.stop")) as { profile: CpuProfile };
      session.close();
      return summarise(profile, topN);
    },
  };
}

function summarise(profile: CpuProfile, topN: number): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const nameOf = (node: ProfileNode) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url.split("/").slice(-2).join("/");
    return `${functionName || "(anonymous)"} ${file ? `${file}:${lineNumber + 1}` : ""}`.trim();
  };
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let idle = 0;
  let total = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i + 1] ?? 0;
    total += us;
    const node = byId.get(id);
    if (!node) return;
    if (node.callFrame.functionName === "(idle)") {
      idle += us;
      return;
    }
    self.set(nameOf(node), (self.get(nameOf(node)) ?? 0) + us);
    // Inclusive time: once per function on the sample's stack (recursion counted once).
    const onStack = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at);
      if (frame && frame.callFrame.functionName !== "(root)") onStack.add(nameOf(frame));
    }
    for (const name of onStack) inclusive.set(name, (inclusive.get(name) ?? 0) + us);
  });
  const busy = total - idle;
  const ms = (us: number) => Math.round(us / 100) / 10;
  const pct = (us: number) => (busy > 0 ? Math.round((us / busy) * 1000) / 10 : 0);
  const rank = (by: Map<string, number>) =>
    [...by.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, topN)
      .map(([name, us]): [string, number, number] => [name, ms(us), pct(us)]);
  return { wallMs: Math.round(total / 1000), busyMs: Math.round(busy / 1000), top: rank(self), topInclusive: rank(inclusive) };
}

/** Prints a summary as two tables: by self time, then by inclusive time. */
export function printProfile(what: string, summary: ProfileSummary): void {
  printTable(`Worker CPU, ${what}: busy ${summary.busyMs} of ${summary.wallMs} ms`, ["function (self time)", "ms", "%"], summary.top);
  printTable("… by inclusive time", ["function (with what it called)", "ms", "%"], summary.topInclusive);
}

/**
 * The isolate's live JS heap (MiB): its used size right after a full collection. Every object of
 * the Worker shares the one isolate locally (routes, Orchestrators, the Pool, Workflow step code),
 * so this bounds any one object's memory from above.
 */
export async function liveHeapMiB(session: InspectorSession): Promise<number> {
  await session.send("HeapProfiler.collectGarbage");
  const { usedSize } = (await session.send("Runtime.getHeapUsage")) as { usedSize: number };
  return usedSize / 2 ** 20;
}
