import { CommandExitError, Sandbox, TimeoutError } from "e2b";
import { SandboxGoneError, StalledError } from "../core/errors";
import { scrubSecrets, StreamScrubber } from "../observability/scrub";
import type { SandboxAccess } from "./connection";
import { sandboxFromHandle, type SandboxHandle } from "./handle";
import { classifySandboxError, isNotFound } from "./errors";
import { TailBuffer } from "./tail";
import { CommandStopper } from "./command-stopper";

export const OUTPUT_TAIL_CHARS = 4096;
/** The exit code reported for a command stopped at its deadline (as coreutils `timeout` does). */
export const DEADLINE_EXIT_CODE = 124;

export interface ExecResult {
  exitCode: number;
  /** Output tails, with every configured secret removed. */
  stdoutTail: string;
  stderrTail: string;
  durationMs: number;
  /** The caller stopped the command (ExecOptions.onStdout or ExecOptions.signal). */
  stopped?: boolean;
  /** envd killed the command at its deadline (ExecOptions.timeoutMs); exitCode is DEADLINE_EXIT_CODE. */
  deadlineExceeded?: boolean;
}

export interface ExecOptions {
  cwd?: string;
  /** Process deadline; 0 = none. */
  timeoutMs: number;
  /** Values passed by environment, never interpolated into the command line. */
  envs?: Record<string, string>;
  tailChars?: number;
  /** Sees stdout as it arrives; calling `stop` kills the command. */
  onStdout?: (chunk: string, stop: () => void) => void;
  /** Sees each stream's output as it arrives, scrubbed of the deployment's secrets (live output). */
  onOutput?: (stream: "stdout" | "stderr", chunk: string) => void;
  /** The stall watchdog: no output and no exit for this long kills the command (StalledError). */
  stallMs?: number;
  /**
   * Aborting it kills the command (the job was cancelled or its budget spent while it ran): the
   * result is `stopped`, its stderr ends with the abort reason's message. An abort before the
   * command starts throws that reason.
   */
  signal?: AbortSignal;
}

/**
 * An open connection to one sandbox's envd: run commands and touch files. Whatever output it
 * hands back has the deployment's secrets scrubbed out: a sandbox may have been given one (the
 * claude-code runtime's model key) or found one, and output leaves it for logs, views and GitHub.
 */
export class EnvdClient {
  readonly sandbox: Sandbox;
  readonly #access: SandboxAccess;

  private constructor(sandbox: Sandbox, access: SandboxAccess) {
    this.sandbox = sandbox;
    this.#access = access;
  }

  /** A session on a sandbox from its handle: no control-plane call. */
  static forHandle(access: SandboxAccess, handle: SandboxHandle): EnvdClient {
    return new EnvdClient(sandboxFromHandle(access.connection, handle), access);
  }

  /** A session on a sandbox known only by id: asks the control plane (Sandbox.connect). */
  static async open(access: SandboxAccess, sandboxId: string): Promise<EnvdClient> {
    try {
      return new EnvdClient(await Sandbox.connect(sandboxId, access.connection), access);
    } catch (err) {
      if (isNotFound(err)) throw new SandboxGoneError(sandboxId);
      throw classifySandboxError(err, "connect sandbox");
    }
  }

  /**
   * The error to raise for a failed sandbox operation. A dropped stream or an error page from the
   * sandbox's proxy does not say whether the sandbox still exists: the control plane is asked
   * (only on this failure path), and a sandbox it no longer has is SandboxGoneError.
   */
  async failure(err: unknown, operation: string): Promise<Error> {
    if (isNotFound(err)) return new SandboxGoneError(this.id);
    const classified = classifySandboxError(err, operation);
    if (classified.code !== "sandbox_unavailable" && classified.code !== "sandbox_error") return classified;
    try {
      await Sandbox.getInfo(this.id, this.#access.connection);
    } catch (probe) {
      if (isNotFound(probe)) return new SandboxGoneError(this.id);
    }
    return classified;
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

  /** Streams a file's bytes (for files too big to hold in memory). */
  async readStream(path: string): Promise<ReadableStream<Uint8Array>> {
    try {
      return await this.sandbox.files.read(path, { format: "stream" });
    } catch (err) {
      throw await this.failure(err, `read ${path}`);
    }
  }

  /** Runs a shell command; a non-zero exit is a result, not an error. */
  async exec(command: string, options: ExecOptions): Promise<ExecResult> {
    const limit = options.tailChars ?? OUTPUT_TAIL_CHARS;
    const stdout = new TailBuffer(limit);
    const stderr = new TailBuffer(limit);
    const started = Date.now();
    // Live output is scrubbed as it streams, a secret split across two pieces included.
    const live = options.onOutput ? { stdout: new StreamScrubber(this.#access.secrets), stderr: new StreamScrubber(this.#access.secrets) } : undefined;
    const emit = (stream: "stdout" | "stderr", data: string) => {
      const shown = live?.[stream].push(data);
      if (shown) options.onOutput?.(stream, shown);
    };
    let exitCode: number;
    let deadlineExceeded = false;
    options.signal?.throwIfAborted();
    const stopper = new CommandStopper(options.stallMs, options.signal);
    try {
      const handle = await this.sandbox.commands.run(command, {
        background: true,
        cwd: options.cwd,
        envs: options.envs,
        timeoutMs: options.timeoutMs,
        onStdout: (data) => {
          stdout.push(data);
          stopper.rearm();
          emit("stdout", data);
          options.onStdout?.(data, () => stopper.stop());
        },
        onStderr: (data) => {
          stderr.push(data);
          stopper.rearm();
          emit("stderr", data);
        },
      });
      stopper.attach(handle);
      exitCode = (await handle.wait()).exitCode;
    } catch (err) {
      if (stopper.stalled) {
        exitCode = -1;
      } else if (err instanceof CommandExitError) {
        exitCode = err.exitCode;
      } else if (err instanceof TimeoutError && options.timeoutMs > 0 && Date.now() - started >= options.timeoutMs) {
        // envd killed the process at its deadline (Connect-Timeout-Ms): a result, like coreutils `timeout`.
        exitCode = DEADLINE_EXIT_CODE;
        deadlineExceeded = true;
        stderr.push(`\n[killed: deadline of ${options.timeoutMs} ms exceeded]\n`);
      } else {
        throw await this.failure(err, "run command");
      }
    } finally {
      stopper.dispose();
      for (const stream of ["stdout", "stderr"] as const) {
        const rest = live?.[stream].end();
        if (rest) options.onOutput?.(stream, rest);
      }
    }
    if (stopper.stalled) throw new StalledError(Math.round((options.stallMs ?? 0) / 1000));
    const abort = stopper.abortMessage();
    if (abort) stderr.push(`\n[stopped: ${abort}]\n`);
    const stopped = stopper.stopped;
    return {
      exitCode,
      stdoutTail: scrubSecrets(stdout.toString(), this.#access.secrets),
      stderrTail: scrubSecrets(stderr.toString(), this.#access.secrets),
      durationMs: Date.now() - started,
      ...(stopped ? { stopped } : {}),
      ...(deadlineExceeded ? { deadlineExceeded } : {}),
    };
  }
}

