// Processes of one sandbox (what envd's process service manages).
// Each process is spawned detached (own process group) so signals, deadlines, pause and kill reach
// its whole tree via kill(-pid). Output is fanned out to live subscribers (Start/Connect streams);
// nothing is replayed. Finished processes are retained for a while so Connect can still report
// their exit, but they no longer appear in List and cannot be signalled (like envd).
import { constants as osConstants } from "node:os";
import type { Readable } from "node:stream";
import type { PtyTerminal } from "./pty.ts";
import type { Spawned, Spawner } from "./spawner.ts";

export interface ProcessConfig {
  cmd: string;
  args: string[];
  envs: Record<string, string>;
  cwd?: string;
}

/** envd's ProcessEvent.EndEvent in proto3 JSON form (zero values omitted). */
export interface EndEvent {
  exitCode?: number;
  exited?: boolean;
  status: string;
  error?: string;
}

export type OutputEvent =
  | { type: "stdout"; data: Buffer }
  | { type: "stderr"; data: Buffer }
  /** A PTY process's terminal output (stdout and stderr are one stream there). */
  | { type: "pty"; data: Buffer }
  | { type: "end"; end: EndEvent };

export interface SpawnSpec {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  stdin: boolean;
  /** A PTY process (pty.ts): its stdout is the terminal's output, its stdin the terminal's input. */
  pty?: PtyTerminal;
  /** Why a process was killed (e.g. out of memory), asked when it ends by SIGKILL. */
  explainKill?: () => string | undefined;
}

// Go's syscall.Signal.String() wording, which envd reports as "signal: <name>".
const SIGNAL_TEXT: Record<string, string> = {
  SIGHUP: "hangup",
  SIGINT: "interrupt",
  SIGQUIT: "quit",
  SIGILL: "illegal instruction",
  SIGTRAP: "trace/breakpoint trap",
  SIGABRT: "aborted",
  SIGBUS: "bus error",
  SIGFPE: "floating point exception",
  SIGKILL: "killed",
  SIGUSR1: "user defined signal 1",
  SIGSEGV: "segmentation fault",
  SIGUSR2: "user defined signal 2",
  SIGPIPE: "broken pipe",
  SIGALRM: "alarm clock",
  SIGTERM: "terminated",
};

export function endEventFor(code: number | null, signal: NodeJS.Signals | null): EndEvent {
  if (signal) {
    const text = `signal: ${SIGNAL_TEXT[signal] ?? signal}`;
    return { exitCode: -1, status: text, error: text };
  }
  const exit = code ?? -1;
  if (exit === 0) return { exited: true, status: "exit status 0" };
  const text = `exit status ${exit}`;
  return { exitCode: exit, exited: true, status: text, error: text };
}

/** A process with a stdin to write to: asked for, or a PTY's (its terminal's input). */
const takesStdin = (spec: SpawnSpec) => spec.stdin || spec.pty !== undefined;

export class SandboxProcess {
  readonly pid: number;
  readonly tag: string | undefined;
  readonly config: ProcessConfig;
  readonly stdinEnabled: boolean;
  readonly pty: PtyTerminal | undefined;
  end: EndEvent | undefined;
  finishedAt: number | undefined;
  private readonly child: Spawned;
  private readonly listeners = new Set<(ev: OutputEvent) => void>();
  private exitTimer: NodeJS.Timeout | undefined;
  private readonly onFinish: (p: SandboxProcess) => void;
  private readonly explainKill: (() => string | undefined) | undefined;
  /** Set by kill(reason): why the server killed it (e.g. the sandbox's disk limit). */
  private killReason: string | undefined;

  /** Starts `spec` (in its own process group) through `spawner`; throws when nothing could be started. */
  static async start(spawner: Spawner, spec: SpawnSpec, config: ProcessConfig, tag: string | undefined, onFinish: (p: SandboxProcess) => void): Promise<SandboxProcess> {
    // A PTY process has a 4th pipe: the wrapper's report of its terminal (pty.ts).
    const stdio = [takesStdin(spec) ? "pipe" : "ignore", "pipe", "pipe", ...(spec.pty ? ["pipe"] : [])] as ("pipe" | "ignore")[];
    try {
      return new SandboxProcess(await spawner.spawn(spec.file, spec.args, { cwd: spec.cwd, env: spec.env, detached: true, stdio }), spec, config, tag, onFinish);
    } catch (err) {
      throw new Error(`failed to start process ${spec.file}: ${(err as NodeJS.ErrnoException).code ?? "could not spawn"}`);
    }
  }

  private constructor(child: Spawned, spec: SpawnSpec, config: ProcessConfig, tag: string | undefined, onFinish: (p: SandboxProcess) => void) {
    this.config = config;
    this.tag = tag;
    this.stdinEnabled = takesStdin(spec);
    this.pty = spec.pty;
    this.onFinish = onFinish;
    this.explainKill = spec.explainKill;
    this.child = child;
    this.pid = child.pid;
    child.stdin?.on("error", () => {}); // EPIPE when the process exits before reading stdin
    const pty = spec.pty;
    if (pty) pty.listen(child.stdio[3] as Readable);
    child.stdout?.on("data", (chunk: Buffer) => this.emit({ type: pty ? "pty" : "stdout", data: chunk }));
    child.stderr?.on("data", (chunk: Buffer) => this.emit({ type: "stderr", data: chunk }));
    child.on("error", () => this.finish(null, "SIGKILL"));
    // 'close' = exited AND pipes drained. Background grandchildren (without bwrap) may keep the
    // pipes open; like envd, the process is over once the main process exits, so 'exit' arms a
    // short grace period for pending output and then finishes regardless.
    child.on("close", (code, signal) => this.finish(code, signal));
    child.on("exit", (code, signal) => {
      this.exitTimer = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        this.finish(code, signal);
      }, 150);
      this.exitTimer.unref();
    });
  }

  get running(): boolean {
    return this.end === undefined;
  }

  /** Resolves when the process has finished (or after `timeoutMs`). */
  waitForEnd(timeoutMs: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      this.listeners.add((ev) => {
        if (ev.type === "end") {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }

  subscribe(fn: (ev: OutputEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(ev: OutputEvent): void {
    for (const fn of [...this.listeners]) {
      try {
        fn(ev);
      } catch {
        // a broken subscriber must not affect the process or other subscribers
      }
    }
  }

  private finish(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.end) return;
    if (this.exitTimer) clearTimeout(this.exitTimer);
    this.end = endEventFor(code, signal);
    const why = signal === "SIGKILL" || code === 137 ? (this.killReason ?? this.explainKill?.()) : undefined;
    if (why) this.end.error = `${this.end.status}: ${why}`;
    this.finishedAt = Date.now();
    this.emit({ type: "end", end: this.end });
    this.listeners.clear();
    this.onFinish(this);
  }

  /** Signals the whole process group. Returns false if it already finished. */
  signal(sig: NodeJS.Signals): boolean {
    if (!this.running) return false;
    try {
      process.kill(-this.pid, sig);
    } catch {
      try {
        process.kill(this.pid, sig);
      } catch {
        return false;
      }
    }
    return true;
  }

  /** SIGKILLs the whole group; its end event's error says `reason`. */
  kill(reason: string): boolean {
    if (this.running) this.killReason = reason;
    return this.signal("SIGKILL");
  }

  writeStdin(data: Buffer): void {
    const stdin = this.child.stdin;
    if (!stdin || stdin.destroyed || stdin.writableEnded) throw new Error("stdin is closed");
    stdin.write(data);
  }

  closeStdin(): void {
    this.child.stdin?.end();
  }
}

/** Signal number <-> name, for SendSignal requests (envd's Signal enum accepts 9 and 15). */
export function signalFromRequest(value: unknown): NodeJS.Signals | undefined {
  if (value === "SIGNAL_SIGKILL" || value === 9) return "SIGKILL";
  if (value === "SIGNAL_SIGTERM" || value === 15) return "SIGTERM";
  if (typeof value === "number") {
    const entry = Object.entries(osConstants.signals).find(([, n]) => n === value);
    return entry ? (entry[0] as NodeJS.Signals) : undefined;
  }
  return undefined;
}

const RETAIN_FINISHED_MS = 10 * 60 * 1000;
const RETAIN_FINISHED_MAX = 200;

export class ProcessTable {
  private readonly procs = new Map<number, SandboxProcess>();

  async add(spawner: Spawner, spec: SpawnSpec, config: ProcessConfig, tag: string | undefined): Promise<SandboxProcess> {
    const p = await SandboxProcess.start(spawner, spec, config, tag, () => this.prune());
    this.procs.set(p.pid, p);
    return p;
  }

  running(): SandboxProcess[] {
    return [...this.procs.values()].filter((p) => p.running);
  }

  /** Finds by pid or tag; running processes first, then retained finished ones. */
  find(selector: { pid?: number; tag?: string }): SandboxProcess | undefined {
    const all = [...this.procs.values()].reverse();
    const match = (p: SandboxProcess) =>
      selector.pid !== undefined ? p.pid === selector.pid : selector.tag !== undefined && p.tag === selector.tag;
    return all.find((p) => p.running && match(p)) ?? all.find(match);
  }

  /** SIGKILLs every running process group (with the reason their end events give, if any). */
  killAll(reason?: string): void {
    for (const p of this.running()) {
      if (reason === undefined) p.signal("SIGKILL");
      else p.kill(reason);
    }
  }

  /** Waits (bounded) until no process is running any more. */
  async waitIdle(timeoutMs: number): Promise<void> {
    await Promise.all(this.running().map((p) => p.waitForEnd(timeoutMs)));
  }

  private prune(): void {
    const now = Date.now();
    const finished = [...this.procs.values()].filter((p) => !p.running);
    for (const p of finished) {
      if (now - (p.finishedAt ?? now) > RETAIN_FINISHED_MS) this.procs.delete(p.pid);
    }
    const stillFinished = [...this.procs.values()].filter((p) => !p.running);
    for (const p of stillFinished.slice(0, Math.max(0, stillFinished.length - RETAIN_FINISHED_MAX))) {
      this.procs.delete(p.pid);
    }
  }
}
