/**
 * A CPU profile of the Worker (its isolate: routes, Durable Objects, Workflow steps) taken over
 * wrangler's V8 inspector, summarised as self time per function. Used by `npm run bench` and
 * `npm run scale` when PROFILE=1: profile before optimising.
 */

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
}

/** Starts profiling the Worker behind the inspector on `port`; `stop()` returns the summary. */
export async function startCpuProfile(port: number, sampleIntervalUs = 1000): Promise<{ stop(topN?: number): Promise<ProfileSummary> }> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as { webSocketDebuggerUrl: string }[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error(`no inspector target on port ${port}`);
  // The inspector proxy admits local origins only; Node's WebSocket sends none by default.
  const socket = new WebSocket(url, { headers: { Origin: "http://localhost" } } as unknown as string[]);
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener("open", () => resolve(), { once: true });
    socket.addEventListener("error", () => reject(new Error(`cannot connect to the inspector at ${url}`)), { once: true });
  });
  let nextId = 1;
  const pending = new Map<number, { resolve: (result: unknown) => void; reject: (err: Error) => void }>();
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: { message: string } };
    const call = message.id === undefined ? undefined : pending.get(message.id);
    if (!call) return;
    pending.delete(message.id!);
    if (message.error || message.result === undefined) call.reject(new Error(`inspector: ${message.error?.message ?? "no result"}`));
    else call.resolve(message.result);
  });
  socket.addEventListener("close", () => {
    for (const call of pending.values()) call.reject(new Error("inspector: connection closed"));
    pending.clear();
  });
  const send = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      socket.send(JSON.stringify({ id, method, params }));
    });
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: sampleIntervalUs });
  await send("Profiler.start");
  return {
    async stop(topN = 25) {
      const { profile } = (await send("Profiler.stop")) as { profile: CpuProfile };
      socket.close();
      return summarise(profile, topN);
    },
  };
}

function summarise(profile: CpuProfile, topN: number): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  let idle = 0;
  let total = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i + 1] ?? 0;
    total += us;
    const frame = byId.get(id)?.callFrame;
    if (!frame) return;
    if (frame.functionName === "(idle)") {
      idle += us;
      return;
    }
    const file = frame.url.split("/").slice(-2).join("/");
    const name = `${frame.functionName || "(anonymous)"} ${file ? `${file}:${frame.lineNumber + 1}` : ""}`.trim();
    self.set(name, (self.get(name) ?? 0) + us);
  });
  const busy = total - idle;
  const top = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, topN)
    .map(([name, us]): [string, number, number] => [name, Math.round(us / 100) / 10, busy > 0 ? Math.round((us / busy) * 1000) / 10 : 0]);
  return { wallMs: Math.round(total / 1000), busyMs: Math.round(busy / 1000), top };
}
