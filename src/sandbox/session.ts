import { CommandExitError, Sandbox, TimeoutError, type ConnectionOpts } from "e2b";
import { SandboxGoneError } from "../errors";
import { classifySandboxError, isNotFound } from "./errors";
import { TailBuffer } from "./tail";

export const OUTPUT_TAIL_CHARS = 4096;
/** The exit code reported for a command stopped at its deadline (as coreutils `timeout` does). */
export const DEADLINE_EXIT_CODE = 124;

export interface ExecResult {
  exitCode: number;
  stdoutTail: string;
  stderrTail: string;
  durationMs: number;
}

export interface ExecOptions {
  cwd?: string;
  /** Process deadline; 0 = none. */
  timeoutMs: number;
  /** Values passed by environment, never interpolated into the command line. */
  envs?: Record<string, string>;
  tailChars?: number;
}

/** An open connection to one sandbox's envd: run commands and touch files. */
export class SandboxSession {
  readonly sandbox: Sandbox;

  private constructor(sandbox: Sandbox) {
    this.sandbox = sandbox;
  }

  static async open(opts: ConnectionOpts, sandboxId: string): Promise<SandboxSession> {
    try {
      return new SandboxSession(await Sandbox.connect(sandboxId, opts));
    } catch (err) {
      if (isNotFound(err)) throw new SandboxGoneError(sandboxId);
      throw classifySandboxError(err, "connect sandbox");
    }
  }

  get id(): string {
    return this.sandbox.sandboxId;
  }

  /** Reads a file's bytes. */
  async readBytes(path: string): Promise<Uint8Array> {
    try {
      return await this.sandbox.files.read(path, { format: "bytes" });
    } catch (err) {
      throw classifySandboxError(err, `read ${path}`);
    }
  }

  /** Runs a shell command; a non-zero exit is a result, not an error. */
  async exec(command: string, options: ExecOptions): Promise<ExecResult> {
    const limit = options.tailChars ?? OUTPUT_TAIL_CHARS;
    const stdout = new TailBuffer(limit);
    const stderr = new TailBuffer(limit);
    const started = Date.now();
    let exitCode: number;
    try {
      const result = await this.sandbox.commands.run(command, {
        cwd: options.cwd,
        envs: options.envs,
        timeoutMs: options.timeoutMs,
        onStdout: (data) => stdout.push(data),
        onStderr: (data) => stderr.push(data),
      });
      exitCode = result.exitCode;
    } catch (err) {
      if (err instanceof CommandExitError) {
        exitCode = err.exitCode;
      } else if (err instanceof TimeoutError && options.timeoutMs > 0 && Date.now() - started >= options.timeoutMs) {
        // envd killed the process at its deadline (Connect-Timeout-Ms): a result, like coreutils `timeout`.
        exitCode = DEADLINE_EXIT_CODE;
        stderr.push(`\n[killed: deadline of ${options.timeoutMs} ms exceeded]\n`);
      } else {
        if (isNotFound(err)) throw new SandboxGoneError(this.id);
        throw classifySandboxError(err, "run command");
      }
    }
    return { exitCode, stdoutTail: stdout.toString(), stderrTail: stderr.toString(), durationMs: Date.now() - started };
  }
}
