// PTY processes (envd's Start with `pty`, Update for a resize, input as `pty` bytes).
//
// Node has no openpty, so the server runs util-linux `script` on the host around the sandbox
// launch (nsenter/setpriv or bwrap, exactly as for any command): `script` opens a pseudo-terminal
// pair, makes the slave the controlling terminal of a new session and runs a short wrapper in it,
// which sets the requested size, then reports the slave's name to the server on a pipe of its own
// (fd 3, closed before the command runs), then execs the launch. The command therefore runs as
// `user` in the sandbox's namespaces and cgroups like any other; it holds descriptors of its own
// terminal only (on the host's devpts, which the sandbox's view does not show: nothing else in
// the sandbox can open it). The server writes input to `script`'s stdin (the
// master), relays `script`'s stdout (the master's output) as `pty` data, and resizes with
// `stty -F <slave>` (TIOCSWINSZ: the kernel sends SIGWINCH to the terminal's foreground group).
import { spawn } from "node:child_process";
import type { Readable } from "node:stream";
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

/** What the wrapper reports on fd 3: the slave's path (`tty`). */
const HEADER = /^(\/dev\/pts\/\d+)$/;

/**
 * The host-side `script` invocation around a launch (`file args...`), plus its environment: the
 * caller's, with SHELL pinned to /bin/sh for `script` itself (it runs `$SHELL -c`; the command's
 * own SHELL is put back by the wrapper).
 */
export function ptyLaunch(launch: { file: string; args: string[] }, size: PtySize, env: Record<string, string>) {
  const stty = tool("stty");
  const restoreShell = env.SHELL !== undefined && env.SHELL !== "/bin/sh" ? `SHELL=${shellQuote(env.SHELL)}; export SHELL; ` : "";
  const wrapper =
    // The size first: a resize waits for the report, so it cannot be undone by the initial size.
    `${shellQuote(stty)} rows ${size.rows} cols ${size.cols}; ${shellQuote(tool("tty"))} >&3; exec 3>&-; ` +
    `${restoreShell}exec ${[launch.file, ...launch.args].map(shellQuote).join(" ")}`;
  return {
    file: tool("script"),
    // -q: no banner; -e: script's exit status is the command's; log to /dev/null.
    args: ["-q", "-e", "-c", wrapper, "/dev/null"],
    env: { ...env, SHELL: "/bin/sh" },
  };
}

/**
 * One PTY process's terminal, as the wrapper reported it on the 4th pipe (read once, then closed).
 */
export class PtyTerminal {
  private tty: string | undefined;
  private readonly known: Promise<void>;
  private settle: () => void = () => {};

  constructor() {
    this.known = new Promise((resolve) => (this.settle = resolve));
  }

  /** Reads the wrapper's report (the slave's path); the terminal stays unknown without one. */
  listen(report: Readable | undefined): void {
    if (!report) return this.settle();
    let text = "";
    report.setEncoding("latin1");
    report.on("data", (chunk: string) => {
      text += chunk;
      if (!text.includes("\n") && text.length < 256) return;
      this.tty = HEADER.exec(text.split("\n")[0] ?? "")?.[1];
      report.destroy();
      this.settle();
    });
    report.on("error", () => this.settle());
    report.on("close", () => this.settle());
  }

  /** Sets the terminal's size; false when there is no terminal. */
  async resize(size: PtySize): Promise<boolean> {
    await this.known;
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
