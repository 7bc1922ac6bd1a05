/** A running command's process, as far as stopping it goes. */
interface Killable {
  kill(): Promise<boolean>;
}

/**
 * What stops a running command before it exits on its own: its caller (ExecOptions.onStdout's
 * `stop`, or an aborted ExecOptions.signal: the job was cancelled or its budget spent) or the stall
 * watchdog (no output and no exit for `stallMs`). Either kills the process; the result says which.
 */
export class CommandStopper {
  /** The caller stopped the command. */
  stopped = false;
  /** The stall watchdog stopped it. */
  stalled = false;
  readonly #stallMs: number | undefined;
  readonly #signal: AbortSignal | undefined;
  #process: Killable | undefined;
  #watchdog: ReturnType<typeof setTimeout> | undefined;
  readonly #onAbort = () => this.stop();

  constructor(stallMs: number | undefined, signal: AbortSignal | undefined) {
    this.#stallMs = stallMs;
    this.#signal = signal;
  }

  /** The command started: the watchdog is armed, and an aborted signal stops it (now, if it already is). */
  attach(process: Killable): void {
    this.#process = process;
    this.rearm();
    if (this.#signal?.aborted) this.stop();
    else this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  stop(): void {
    if (this.stopped || !this.#process) return;
    this.stopped = true;
    void killProcess(this.#process);
  }

  /** The command said something: the stall watchdog starts again. */
  rearm(): void {
    if (!this.#stallMs || !this.#process) return;
    clearTimeout(this.#watchdog);
    const process = this.#process;
    this.#watchdog = setTimeout(() => {
      this.stalled = true;
      void killProcess(process);
    }, this.#stallMs);
  }

  /** The command ended. */
  dispose(): void {
    clearTimeout(this.#watchdog);
    this.#signal?.removeEventListener("abort", this.#onAbort);
  }

  /** Why the caller's signal stopped the command, for its output; undefined when it did not. */
  abortMessage(): string | undefined {
    if (!this.stopped || !this.#signal?.aborted) return undefined;
    const reason: unknown = this.#signal.reason;
    return reason instanceof Error ? reason.message : "the command was stopped";
  }
}

const KILL_ATTEMPTS = 3;

/** Kills a command's process; a dropped connection on the way (it happens under load) is retried. */
async function killProcess(process: Killable): Promise<void> {
  for (let attempt = 1; attempt <= KILL_ATTEMPTS; attempt++) {
    try {
      await process.kill();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}
