// envd's process.Process service.
// Start/Connect are server streams: start{pid}, data{stdout|stderr} (base64), keepalive (every
// Keepalive-Ping-Interval seconds without other traffic), end{...}, then the end-of-stream frame.
// Connect-Timeout-Ms on Start is the process deadline: when it passes the stream ends with
// deadline_exceeded and the process group is SIGKILLed. On Connect it only bounds the stream.
// A client disconnect never kills the process (it can be re-attached with Connect).
// A `pty` Start runs the command on a pseudo-terminal (pty.ts): output as data{pty}, input as
// SendInput/StreamInput `pty` bytes, Update resizes it. StreamInput is a client stream.
import type { IncomingMessage, ServerResponse } from "node:http";
import { ConnectStream, keepaliveSeconds, readClientStream, readStreamRequest, readUnaryRequest, timeoutHeader } from "./connect-protocol.ts";
import { parsePtySize } from "./pty.ts";
import { RpcError } from "./errors.ts";
import { isStringMap, json, type Reply } from "./http-util.ts";
import type { RequestInfo, Route, ServerContext } from "./context.ts";
import { signalFromRequest, type OutputEvent, type ProcessConfig, type SandboxProcess } from "./processes.ts";
import type { Sandbox } from "./sandbox-store.ts";

type Msg = Record<string, unknown>;

function obj(value: unknown): Msg {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Msg) : {};
}

function parseSelector(msg: Msg): { pid?: number; tag?: string } {
  const sel = obj(msg.process);
  if (sel.pid !== undefined) {
    const pid = Number(sel.pid);
    if (!Number.isInteger(pid) || pid <= 0) throw new RpcError("invalid_argument", "invalid pid");
    return { pid };
  }
  if (typeof sel.tag === "string") return { tag: sel.tag };
  throw new RpcError("invalid_argument", "process selector (pid or tag) is required");
}

function describe(sel: { pid?: number; tag?: string }): string {
  return sel.pid !== undefined ? `process with pid ${sel.pid}` : `process with tag ${sel.tag}`;
}

function findRunning(sb: Sandbox, sel: { pid?: number; tag?: string }): SandboxProcess {
  const p = sb.processes.find(sel);
  if (!p || !p.running) throw new RpcError("not_found", `${describe(sel)} not found`);
  return p;
}

function toMessage(ev: OutputEvent): Msg {
  if (ev.type === "end") return { event: { end: ev.end } };
  return { event: { data: { [ev.type]: ev.data.toString("base64") } } };
}

/** proto3 JSON of ProcessConfig (empty fields omitted). */
function configJson(c: ProcessConfig): Msg {
  const out: Msg = { cmd: c.cmd };
  if (c.args.length) out.args = c.args;
  if (Object.keys(c.envs).length) out.envs = c.envs;
  if (c.cwd) out.cwd = c.cwd;
  return out;
}

const deadlineError = () => new RpcError("deadline_exceeded", "context deadline exceeded");

/**
 * Buffers a process's events from the moment it is known until a response stream attaches, so
 * nothing is lost between spawning and writing the response head.
 */
class EventRelay {
  private buffer: OutputEvent[] = [];
  private stream: ConnectStream | undefined;
  private readonly unsubscribe: () => void;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private keepaliveMs = 0;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private readonly proc: SandboxProcess;
  private readonly sandbox: Sandbox;

  constructor(sandbox: Sandbox, proc: SandboxProcess) {
    this.sandbox = sandbox;
    this.proc = proc;
    this.unsubscribe = proc.subscribe((ev) => this.onEvent(ev));
  }

  private onEvent(ev: OutputEvent): void {
    if (!this.stream) {
      this.buffer.push(ev);
      return;
    }
    this.forward(ev);
  }

  private forward(ev: OutputEvent): void {
    const stream = this.stream;
    if (!stream) return;
    stream.send(toMessage(ev));
    if (ev.type === "end") {
      stream.end();
      this.release();
    } else {
      this.armKeepalive();
    }
  }

  private armKeepalive(): void {
    if (!this.keepaliveMs) return;
    if (this.keepaliveTimer) clearTimeout(this.keepaliveTimer);
    this.keepaliveTimer = setTimeout(() => {
      this.stream?.send({ event: { keepalive: {} } });
      this.armKeepalive();
    }, this.keepaliveMs);
    this.keepaliveTimer.unref();
  }

  /** Ends the attached stream with deadline_exceeded (if attached and still open). */
  expire(): void {
    this.stream?.end(deadlineError());
    this.release();
  }

  setDeadline(ms: number): void {
    if (ms <= 0) return;
    this.deadlineTimer = setTimeout(() => this.expire(), ms);
    this.deadlineTimer.unref();
  }

  attach(req: IncomingMessage, res: ServerResponse): void {
    const stream = new ConnectStream(res);
    this.stream = stream;
    this.sandbox.streams.add(stream);
    stream.onClose(() => this.release());
    this.keepaliveMs = keepaliveSeconds(req) * 1000;
    stream.send({ event: { start: { pid: this.proc.pid } } });
    const pending = this.buffer;
    this.buffer = [];
    for (const ev of pending) this.forward(ev);
    if (stream.closed) return;
    if (!this.proc.running && this.proc.end && pending.every((e) => e.type !== "end")) {
      this.forward({ type: "end", end: this.proc.end });
      return;
    }
    this.armKeepalive();
  }

  release(): void {
    this.unsubscribe();
    this.buffer = [];
    if (this.keepaliveTimer) clearTimeout(this.keepaliveTimer);
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    if (this.stream) this.sandbox.streams.delete(this.stream);
  }
}

async function start(ctx: ServerContext, info: RequestInfo): Promise<Reply> {
  const sb = info.sandbox as Sandbox;
  const msg = await readStreamRequest(info.req);
  const p = obj(msg.process);
  if (typeof p.cmd !== "string" || p.cmd === "") throw new RpcError("invalid_argument", "process.cmd is required");
  const pty = msg.pty !== undefined && msg.pty !== null ? parsePtySize(msg.pty) : undefined;
  const args = Array.isArray(p.args) ? p.args.map(String) : [];
  const envs = isStringMap(p.envs) ? p.envs : {};
  const config: ProcessConfig = { cmd: p.cmd, args, envs, ...(typeof p.cwd === "string" && p.cwd ? { cwd: p.cwd } : {}) };
  const tag = typeof msg.tag === "string" && msg.tag !== "" ? msg.tag : undefined;
  const deadlineMs = timeoutHeader(info.req);
  const proc = await ctx.store.startProcess(sb, { config, stdin: msg.stdin === true, ...(tag ? { tag } : {}), ...(pty ? { pty } : {}) });
  const relay = new EventRelay(sb, proc);
  if (deadlineMs > 0) {
    // The process deadline is independent of the request: it fires even if the client is gone.
    const timer = setTimeout(() => {
      relay.expire();
      proc.signal("SIGKILL");
    }, deadlineMs);
    timer.unref();
    proc.subscribe((ev) => {
      if (ev.type === "end") clearTimeout(timer);
    });
  }
  return { kind: "stream", start: (req, res) => relay.attach(req, res), discard: () => relay.release() };
}

async function connect(_ctx: ServerContext, info: RequestInfo): Promise<Reply> {
  const sb = info.sandbox as Sandbox;
  const msg = await readStreamRequest(info.req);
  const sel = parseSelector(msg);
  const proc = sb.processes.find(sel);
  if (!proc) throw new RpcError("not_found", `${describe(sel)} not found`);
  const relay = new EventRelay(sb, proc);
  relay.setDeadline(timeoutHeader(info.req));
  return { kind: "stream", start: (req, res) => relay.attach(req, res), discard: () => relay.release() };
}

async function list(_ctx: ServerContext, info: RequestInfo): Promise<Reply> {
  const sb = info.sandbox as Sandbox;
  await readUnaryRequest(info.req);
  const processes = sb.processes.running().map((p) => ({
    config: configJson(p.config),
    pid: p.pid,
    ...(p.tag ? { tag: p.tag } : {}),
  }));
  return json(200, processes.length ? { processes } : {});
}

async function sendSignal(_ctx: ServerContext, info: RequestInfo): Promise<Reply> {
  const sb = info.sandbox as Sandbox;
  const msg = await readUnaryRequest(info.req);
  const sel = parseSelector(msg);
  const sig = signalFromRequest(msg.signal);
  if (!sig) throw new RpcError("invalid_argument", `unsupported signal: ${String(msg.signal)}`);
  const proc = findRunning(sb, sel);
  if (!proc.signal(sig)) throw new RpcError("not_found", `${describe(sel)} not found`);
  return json(200, {});
}

async function sendInput(_ctx: ServerContext, info: RequestInfo): Promise<Reply> {
  const sb = info.sandbox as Sandbox;
  const msg = await readUnaryRequest(info.req);
  const proc = findRunning(sb, parseSelector(msg));
  writeInput(proc, obj(msg.input));
  return json(200, {});
}

/** envd's ProcessInput ({stdin} or {pty}, base64) to a process. */
function writeInput(proc: SandboxProcess, input: Msg): void {
  if (input.pty !== undefined && !proc.pty) throw new RpcError("failed_precondition", "the process was not started with a PTY");
  if (!proc.stdinEnabled) throw new RpcError("failed_precondition", "stdin is not enabled for this process (start it with stdin: true)");
  const raw = input.pty ?? input.stdin;
  const data = typeof raw === "string" ? Buffer.from(raw, "base64") : Buffer.alloc(0);
  try {
    proc.writeStdin(data);
  } catch (err) {
    throw new RpcError("failed_precondition", (err as Error).message);
  }
}

/** Update: a PTY's new size (the only updatable field). */
async function update(_ctx: ServerContext, info: RequestInfo): Promise<Reply> {
  const sb = info.sandbox as Sandbox;
  const msg = await readUnaryRequest(info.req);
  const proc = findRunning(sb, parseSelector(msg));
  if (msg.pty === undefined || msg.pty === null) return json(200, {});
  const size = parsePtySize(msg.pty);
  if (!proc.pty) throw new RpcError("failed_precondition", "the process was not started with a PTY");
  if (!(await proc.pty.resize(size))) throw new RpcError("failed_precondition", "the process's terminal is gone");
  return json(200, {});
}

async function closeStdin(_ctx: ServerContext, info: RequestInfo): Promise<Reply> {
  const sb = info.sandbox as Sandbox;
  const msg = await readUnaryRequest(info.req);
  const proc = findRunning(sb, parseSelector(msg));
  proc.closeStdin();
  return json(200, {});
}

/**
 * StreamInput (client stream): `start{process}` first, then `data{input}` messages written as they
 * arrive, `keepalive{}` ignored; answered with one empty message when the request ends.
 */
async function streamInput(_ctx: ServerContext, info: RequestInfo): Promise<Reply> {
  const sb = info.sandbox as Sandbox;
  let proc: SandboxProcess | undefined;
  await readClientStream(info.req, (msg) => {
    if (msg.start !== undefined) {
      proc = findRunning(sb, parseSelector(obj(msg.start)));
      return;
    }
    if (msg.data === undefined) return; // keepalive
    if (!proc) throw new RpcError("failed_precondition", "the first message must be start{process}");
    if (!proc.running) throw new RpcError("not_found", `process with pid ${proc.pid} not found`);
    writeInput(proc, obj(obj(msg.data).input));
  });
  return {
    kind: "stream",
    start: (_req, res) => {
      const stream = new ConnectStream(res);
      stream.send({});
      stream.end();
    },
    discard: () => {},
  };
}

const METHODS: Record<string, { op: string; stream: boolean; handle: Route["handle"] }> = {
  Start: { op: "process.start", stream: true, handle: start },
  Connect: { op: "process.connect", stream: true, handle: connect },
  List: { op: "process.list", stream: false, handle: list },
  SendSignal: { op: "process.signal", stream: false, handle: sendSignal },
  SendInput: { op: "process.input", stream: false, handle: sendInput },
  CloseStdin: { op: "process.closeStdin", stream: false, handle: closeStdin },
  Update: { op: "process.update", stream: false, handle: update },
  StreamInput: { op: "process.streamInput", stream: true, handle: streamInput },
};

export function matchProcessRpc(method: string): Route | undefined {
  const m = METHODS[method];
  if (!m) return undefined;
  return { op: m.op, flavor: m.stream ? "connect-stream" : "connect", handle: m.handle };
}
