import { NonRetryableError } from "cloudflare:workflows";
import type { WorkflowStep, WorkflowStepConfig } from "cloudflare:workers";
import { BudgetExceededError, encodeStepError, ForkCancelledError, ForkTimeoutError, ForkyardError, StalledError, toWireError } from "../core/errors";
import { log } from "../observability/log";
import type { Orchestrator } from "../objects/orchestrator/orchestrator";
import type { StepFinding, StepRecord, StepReport } from "../protocol/step-reports";

/** What a tracker answers a step's start: `proceed` false once the job was cancelled. */
export interface StepGate {
  proceed: boolean;
  budgetSpent: boolean;
  /** A branch of this fork waits to be taken at its next step boundary (fork-branching.ts). */
  branch?: boolean;
}

/** Where a durable job's steps are reported: a run's Orchestrator (for one fork) or a Session. */
export interface StepTracker {
  /** Asked before a gated step's body. */
  stepStarted(name: string, attempt: number): Promise<StepGate>;
  /** Told at a step's end; may answer that a branch waits. */
  stepFinished(name: string, report: StepReport): Promise<{ branch?: boolean } | void>;
  /**
   * Told every `heartbeatMs` while a step body runs: the instance is alive, however long the step.
   * An answer that the job was cancelled or its budget is spent aborts the body's `signal`.
   */
  heartbeat?(): Promise<Omit<StepGate, "branch"> | void>;
}

export interface StepRunnerContext {
  /** What the job's log lines carry: the run (or session) id and the fork (or turn) number. */
  runId: string;
  n: number;
  tracker: StepTracker;
  /** What the job is, in its errors: a run's fork (default) or a session's turn. */
  job?: { name: "fork" | "turn"; owner: "run" | "session" };
  /** How often a running step tells the tracker it is alive (with `tracker.heartbeat`). */
  heartbeatMs?: number;
}

/** A fork's steps, reported to its run's Orchestrator. */
export function forkTracker(orchestrator: DurableObjectStub<Orchestrator>, n: number): StepTracker {
  return {
    stepStarted: async (name, attempt) => orchestrator.stepStarted(n, name, attempt),
    stepFinished: async (name, report) => orchestrator.stepFinished(n, name, report),
    heartbeat: async () => orchestrator.forkAlive(n),
  };
}

export interface StepBodyContext {
  attempt: number;
  /** Milliseconds left before the fork's deadline (Infinity before the deadline is known). */
  remainingMs: number;
  /** Records a finding with the Orchestrator when this attempt ends (in the same call), ok or not. */
  report(finding: StepFinding): void;
  /**
   * This attempt's record, for a body whose one Orchestrator call records the step itself (with
   * `recordedByBody`): the step's end then costs no call of its own.
   */
  record(): StepRecord;
  /**
   * Aborted when a heartbeat's answer says the job must stop now (cancelled, or the budget spent by
   * the time this step has run), its reason the error to end the step with: a body running a long
   * command passes it on, so the command is stopped while it runs, not at the next step.
   */
  signal: AbortSignal;
}


/**
 * Runs fork steps as checkpointed Workflow steps with Forkyard's conventions: each attempt is
 * reported to its tracker (which may refuse it: cancelled run, fork or turn), the fork deadline is
 * enforced inside the step, and errors cross the step boundary as "<code>: <message>" — wrapped in
 * NonRetryableError when retrying cannot help.
 */
export class StepRunner {
  readonly #step: WorkflowStep;
  readonly #ctx: StepRunnerContext;
  #deadline = Number.POSITIVE_INFINITY;
  #timeoutSeconds = 0;
  /** Set when the tracker said a branch waits; taken at the next boundary (a replayed step says nothing). */
  #branchWaiting = false;
  /**
   * The last step replayed from its checkpoint since the last boundary, with no live step after it:
   * what its tracker answered is not known here (the runtime restarted after its body ran).
   */
  #replayedStep: string | undefined;

  constructor(step: WorkflowStep, ctx: StepRunnerContext) {
    this.#step = step;
    this.#ctx = ctx;
  }

  setDeadline(deadline: number, timeoutSeconds: number): void {
    this.#deadline = deadline;
    this.#timeoutSeconds = timeoutSeconds;
  }

  /** Time spent waiting for budget does not count against the fork's timeout. */
  extendDeadline(ms: number): void {
    this.#deadline += Math.max(0, ms);
  }

  remainingMs(): number {
    return this.#deadline - Date.now();
  }

  /**
   * Whether a branch of this fork waits, at a step boundary: a live step since the last call was
   * told so. When the last step before the boundary was replayed from its checkpoint, its answer is
   * lost: `ask` gets that step's name and answers what the tracker told it then (the owner's
   * record: a branch asked for before that step's report), so a replay decides every boundary as
   * the first execution did — never a branch asked for later, at a boundary passed before it.
   */
  async takeBranchSignal(ask?: (replayedStep: string) => Promise<boolean>): Promise<boolean> {
    const waiting = this.#branchWaiting;
    const replayed = this.#replayedStep;
    this.#branchWaiting = false;
    this.#replayedStep = undefined;
    if (waiting) return true;
    return replayed !== undefined && ask ? ask(replayed) : false;
  }

  #heardOf(answer: { branch?: boolean } | void): void {
    if (answer?.branch) this.#branchWaiting = true;
  }

  run<T extends Rpc.Serializable<T>>(
    name: string,
    config: WorkflowStepConfig,
    body: (ctx: StepBodyContext) => Promise<T>,
    /**
     * gated: asks the Orchestrator before the body (its start report answers) and is refused once
     * the fork is cancelled or timed out; budget: also once the budget is spent. An ungated step
     * (cleanup, and steps whose body is itself an Orchestrator call that decides) reports its start
     * with its end: one call to the Orchestrator, not two. recordedByBody: the body's Orchestrator
     * call records the step (see StepBodyContext.record); only a failure is reported here.
     */
    options: { gated: boolean; budget?: boolean; recordedByBody?: boolean } = { gated: true },
  ): Promise<T> {
    const { runId, n, tracker } = this.#ctx;
    let ran = false;
    const done = this.#step.do(name, config, async (stepCtx) => {
      ran = true;
      const attempt = stepCtx.attempt;
      const started = Date.now();
      const findings: StepFinding[] = [];
      try {
        if (options.gated) {
          const gate = await tracker.stepStarted(name, attempt);
          this.#heardOf(gate);
          const job = this.#ctx.job ?? { name: "fork", owner: "run" };
          if (!gate.proceed) throw new ForkCancelledError(`The ${job.name} was cancelled.`);
          if (gate.budgetSpent && options.budget !== false) throw new BudgetExceededError(`The ${job.owner}'s budget is spent (model calls and sandbox time).`);
          if (Date.now() >= this.#deadline) throw new ForkTimeoutError(this.#timeoutSeconds);
        }
        const stop = new AbortController();
        const beat = this.#heartbeat(stop);
        let value: T;
        try {
          value = await body({
            attempt,
            remainingMs: this.#deadline - Date.now(),
            report: (finding) => findings.push(finding),
            record: () => ({ name, attempt, startedAt: started }),
            signal: stop.signal,
          });
        } finally {
          clearInterval(beat);
        }
        const durationMs = Date.now() - started;
        if (!options.recordedByBody) this.#heardOf(await tracker.stepFinished(name, { attempt, ok: true, durationMs, findings, startedAt: started }));
        log("info", "step.finished", { runId, fork: n, step: name, attempt, durationMs });
        return value;
      } catch (caught) {
        // A stalled command gets one more attempt of its step, whatever the step's retry policy.
        const err = caught instanceof StalledError ? caught.forAttempt(attempt) : caught;
        const wire = toWireError(err);
        const durationMs = Date.now() - started;
        log("warn", "step.failed", { runId, fork: n, step: name, attempt, durationMs, errorCode: wire.code, errorMessage: wire.message });
        await tracker.stepFinished(name, { attempt, ok: false, durationMs, error: { code: wire.code, message: wire.message }, findings, startedAt: started }).catch(() => undefined);
        throw toStepError(err);
      }
    });
    return done.then((value) => {
      // A live step's own answer is what counts from here; a replayed one's is asked for at the boundary.
      this.#replayedStep = ran ? undefined : name;
      return value;
    });
  }

  /** Beats every `heartbeatMs` while a body runs; an answer to stop aborts `stop` with the error to end the step with. */
  #heartbeat(stop: AbortController): ReturnType<typeof setInterval> | undefined {
    const { tracker, heartbeatMs } = this.#ctx;
    if (!tracker.heartbeat || !heartbeatMs) return undefined;
    const job = this.#ctx.job ?? { name: "fork", owner: "run" };
    return setInterval(() => {
      void tracker.heartbeat!().then((answer) => {
        if (!answer || stop.signal.aborted) return;
        if (!answer.proceed) stop.abort(new ForkCancelledError(`The ${job.name} was cancelled.`));
        else if (answer.budgetSpent) stop.abort(new BudgetExceededError(`The ${job.owner}'s budget is spent (model calls and sandbox time): the running command was stopped.`));
      }, () => undefined);
    }, heartbeatMs);
  }
}

/**
 * An error as it leaves a step: "<code>: <message>" (decodeStepError reads it back), wrapped in
 * NonRetryableError when retrying cannot help (budget, cancellation, authentication, …).
 */
export function toStepError(err: unknown): Error {
  const wire = toWireError(err);
  const encoded = encodeStepError(err instanceof ForkyardError ? err : new ForkyardError(wire.code, wire.message, { status: wire.status, retryable: true }));
  return err instanceof ForkyardError && !err.retryable ? new NonRetryableError(encoded) : new Error(encoded);
}
