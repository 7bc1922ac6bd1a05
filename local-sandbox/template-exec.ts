// One command of a template build, run in the build's sandbox as any command is (`bash -l -c`, as
// `user`; as root through the sandbox's `sudo`), its output handed on line by line.
import type { ServerContext } from "./context.ts";
import type { EndEvent } from "./processes.ts";
import type { Sandbox } from "./sandbox-store.ts";

/** Stderr lines a failure's message quotes. */
const TAIL = 3;
const PARTIAL_MAX = 64 * 1024;

export interface ExecInput {
  script: string;
  asRoot: boolean;
  env: Record<string, string>;
  cwd: string;
  timeoutMs: number;
  onLine: (stream: "stdout" | "stderr", line: string) => void;
  /** Bytes written to its stdin, which is then closed. */
  stdin?: Buffer;
}

/** Runs the command to its end (killed past `timeoutMs`): its end event and its last stderr lines. */
export async function runInSandbox(ctx: ServerContext, sb: Sandbox, input: ExecInput): Promise<{ end: EndEvent; stderrTail: string[] }> {
  // As root: the login shell finds `sudo` on its PATH (the view's profile), which runs the script.
  const args = input.asRoot ? ["-l", "-c", 'exec sudo -E /bin/bash -c "$E2B_BUILD_SCRIPT"'] : ["-l", "-c", input.script];
  const envs = input.asRoot ? { ...input.env, E2B_BUILD_SCRIPT: input.script } : input.env;
  const proc = await ctx.store.startProcess(sb, { config: { cmd: "/bin/bash", args, envs, cwd: input.cwd }, stdin: input.stdin !== undefined });
  const partial = { stdout: "", stderr: "" };
  const stderrTail: string[] = [];
  const flush = (stream: "stdout" | "stderr", all: boolean) => {
    const lines = partial[stream].split("\n");
    partial[stream] = all ? "" : (lines.pop() ?? "");
    for (const line of lines) {
      if (line === "") continue;
      input.onLine(stream, line);
      if (stream === "stderr") stderrTail.push(line.slice(0, 500)) > TAIL && stderrTail.shift();
    }
  };
  proc.subscribe((ev) => {
    if (ev.type !== "stdout" && ev.type !== "stderr") return;
    partial[ev.type] += ev.data.toString("utf8");
    // A line without its end for too long is handed on as it is (a build log keeps 4 KiB of a line).
    flush(ev.type, partial[ev.type].length > PARTIAL_MAX);
  });
  if (input.stdin) {
    try {
      proc.writeStdin(input.stdin);
      proc.closeStdin();
    } catch {
      // it ended before reading: its end says why
    }
  }
  await proc.waitForEnd(input.timeoutMs);
  if (proc.running) {
    proc.kill(`the build step ran past ${input.timeoutMs / 1000} s`);
    await proc.waitForEnd(10_000);
  }
  flush("stdout", true);
  flush("stderr", true);
  return { end: proc.end ?? { exitCode: -1, status: "killed", error: "did not end" }, stderrTail };
}
