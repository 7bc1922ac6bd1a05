// PTY processes (envd's Start with `pty`, Update for a resize, input as `pty` bytes).
//
// Node has no openpty, so the server runs util-linux `script` on the host around the sandbox
// launch (nsenter/setpriv or bwrap, exactly as for any command): `script` opens a pseudo-terminal
// pair, makes the slave the controlling terminal of a new session and runs a short wrapper in it,
// which reports the slave's name and sets the requested size *before* the sandbox's command runs,
// then execs the launch. The command therefore runs as `user` in the sandbox's namespaces and
// cgroups like any other; it only holds descriptors of its own terminal (the sandbox's view has no
// /dev/pts, so it cannot open any other). The server writes input to `script`'s stdin (the
// master), relays `script`'s stdout (the master's output) as `pty` data, and resizes with
// `stty -F <slave>` (TIOCSWINSZ: the kernel sends SIGWINCH to the terminal's foreground group).
import { spawn } from "node:child_process";
import { findOnPath } from "./isolation.ts";
import { RpcError } from "./errors.ts";

const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface PtySize {
  cols: number;
  rows: number;
}

/** The largest terminal accepted (both directions): what fits envd's uint32 and any real screen. */
const MAX_DIMENSION = 10_000;

/** Reads envd's PTY `{size: {cols, rows}}` (Start's `pty`, Update's `pty`). */
export function parsePtySize(value: unknown, field = "pty"): PtySize {
  const pty = typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  const size = typeof pty.size === "object" && pty.size !== null ? (pty.size as Record<string, unknown>) : {};
  const dim = (name: "cols" | "rows") => {
    const n = Number(size[name] ?? 0);
    if (!Number.isInteger(n) || n < 1 || n > MAX_DIMENSION) {
      throw new RpcError("invalid_argument", `${field}.size.${name} must be an integer between 1 and ${MAX_DIMENSION}`);
    }
    return n;
  };
  return { cols: dim("cols"), rows: dim("rows") };
}

/** POSIX shell single quoting. */
export const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function tool(name: string): string {
  const path = findOnPath(name, SYSTEM_PATH);
  if (!path) throw new RpcError("unimplemented", `PTY needs util-linux \`${name}\` on the server's host, which is not installed`);
  return path;
}

/** The first line the wrapper prints: `<slave tty path> <session pid>`. */
const HEADER = /^(\/dev\/pts\/\d+) (\d+)\r?$/;

/**
 * The host-side `script` invocation around a launch (`file args...`), plus its environment: the
 * caller's, with SHELL pinned to /bin/sh for `script` itself (it runs `$SHELL -c`; the command's
 * own SHELL is put back by the wrapper).
 */
export function ptyLaunch(launch: { file: string; args: string[] }, size: PtySize, env: Record<string, string>) {
  const stty = tool("stty");
  const restoreShell = env.SHELL !== undefined && env.SHELL !== "/bin/sh" ? `SHELL=${shellQuote(env.SHELL)}; export SHELL; ` : "";
  const wrapper =
    `printf '%s %s\\n' "$(tty)" "$$"; ${shellQuote(stty)} rows ${size.rows} cols ${size.cols}; ` +
    `${restoreShell}exec ${[launch.file, ...launch.args].map(shellQuote).join(" ")}`;
  return {
    file: tool("script"),
    // -q: no banner; -e: script's exit status is the command's; log to /dev/null.
    args: ["-q", "-e", "-c", wrapper, "/dev/null"],
    env: { ...env, SHELL: "/bin/sh" },
  };
}

/**
 * One PTY process's terminal: strips the wrapper's header line from the output (it precedes
 * anything the sandbox's command can print), holds input back until then (so nothing typed is
 * echoed before the header), and resizes the terminal the header named.
 */
export class PtyTerminal {
  private tty: string | undefined;
  private pending: Buffer | undefined = Buffer.alloc(0);
  private queued: Buffer[] = [];
  private sink: ((data: Buffer) => void) | undefined;
  private readonly waiters: Array<() => void> = [];

  /** Where input goes once the terminal is up (the master: `script`'s stdin). */
  connect(sink: (data: Buffer) => void): void {
    this.sink = sink;
  }

  /** Output of `script` → the bytes to relay (the header line removed). */
  filter(chunk: Buffer): Buffer {
    if (this.pending === undefined) return chunk;
    const buf = Buffer.concat([this.pending, chunk]);
    const nl = buf.indexOf(0x0a);
    if (nl < 0 && buf.length < 256) {
      this.pending = buf;
      return Buffer.alloc(0);
    }
    const match = nl < 0 ? null : HEADER.exec(buf.subarray(0, nl).toString("latin1"));
    this.tty = match?.[1];
    this.up();
    // No header (script failed before the wrapper ran): relay what came as is.
    return match ? buf.subarray(nl + 1) : buf;
  }

  /** The terminal is up (or never will be: the process ended first). */
  up(): void {
    if (this.pending === undefined) return;
    this.pending = undefined;
    const queued = this.queued.splice(0);
    for (const data of queued) this.sink?.(data);
    for (const w of this.waiters.splice(0)) w();
  }

  input(data: Buffer): void {
    if (this.pending !== undefined) this.queued.push(data);
    else this.sink?.(data);
  }

  /** Sets the terminal's size; false when there is no terminal. */
  async resize(size: PtySize): Promise<boolean> {
    if (this.pending !== undefined) await new Promise<void>((resolve) => this.waiters.push(resolve));
    if (!this.tty) return false;
    const child = spawn(tool("stty"), ["-F", this.tty, "rows", String(size.rows), "cols", String(size.cols)], {
      stdio: "ignore",
      env: { PATH: SYSTEM_PATH },
    });
    return new Promise((resolve) => {
      child.on("error", () => resolve(false));
      child.on("close", (code) => resolve(code === 0));
    });
  }
}
