import type { WorkflowStep, WorkflowStepConfig } from "cloudflare:workers";
import type { JournalEntry } from "../runs/step-snapshots";
import { executeTool } from "../agent/tools";
import type { Pool } from "../objects/pool/pool";
import type { Config } from "../core/env";
import { CloneFailedError, CommandFailedError, CommitNotFoundError, decodeStepError, fromWireError, SandboxOperationError, unwrap } from "../core/errors";
import { log } from "../observability/log";
import { sandboxAccess } from "../sandbox/connection";
import { BRANCH_SCRIPT, CLONE_SCRIPT, cloneEnv, COMMIT_NOT_FOUND_EXIT, COMMIT_NOT_FOUND_MARK, EXCLUDE_PREPARED_SCRIPT, GIT_SHA, REPO_DIR } from "../sandbox/git";
import type { SandboxHandle } from "../sandbox/handle";
import { EnvdClient } from "../sandbox/envd-client";
import { ownCommandError } from "../sandbox/errors";
import { forkLeaseRequest, type SandboxHolder } from "../protocol/fork-params";
import { STEP_KINDS, stepConfig } from "./step-policies";
import type { StepBodyContext, StepRunner } from "./step-runner";
import { budgetRebuildStep, prepareStep, recoveryStep, STEP } from "./steps";
import { CAPACITY_EVENT } from "../protocol/events";

/** The health probe's command (its step allows two). */
const HEALTH_TIMEOUT_MS = 30_000;
/** Keeping the prepare commands' untracked files out of git. */
const EXCLUDE_TIMEOUT_MS = 2 * 60_000;
const MAX_CAPACITY_WAIT_MS = 30_000;
/** A waiter asks again after this without a notice (a safety net: the Pool renotifies lost notices). */
const CAPACITY_WAIT_TIMEOUT_MS = 6 * 3600_000;

/** What a fork did to its workspace, in order: replayed into a new sandbox when the old one is lost. */
export type { JournalEntry };

export interface ForkSandboxDeps {
  params: SandboxHolder;
  config: Config;
  step: WorkflowStep;
  steps: StepRunner;
  pool: DurableObjectStub<Pool>;
  instanceId: string;
  taskEnv: Record<string, string>;
}

/**
 * A fork's sandbox, replaceable. Steps that use it run through `step()`: when one finds the
 * sandbox gone (E2B's "sandbox not found", not a cancel), the fork releases that lease, acquires a
 * new sandbox, clones the same base commit and replays its journal — commands re-run, tool calls
 * re-executed in order without any model call — then runs the step again (`<name>-r<k>`). A second
 * loss within the same step fails it with `sandbox_gone`. Every decision here follows from step
 * results, so a replay of the instance takes the same path.
 */
export class ForkSandbox {
  readonly #d: ForkSandboxDeps;
  #leaseKey: string;
  #handle: SandboxHandle | undefined;
  #sandboxId = "";
  #baseSha: string | undefined;
  readonly #journal: JournalEntry[] = [];
  /** Sandbox seconds of leases released along the way (lost sandboxes). */
  #releasedSeconds = 0;
  recoveries = 0;

  constructor(deps: ForkSandboxDeps) {
    this.#d = deps;
    this.#leaseKey = deps.params.leaseKey;
  }

  get sandboxId(): string {
    return this.#sandboxId;
  }

  get leaseKey(): string {
    return this.#leaseKey;
  }

  get releasedSeconds(): number {
    return this.#releasedSeconds;
  }

  /** A client of the current sandbox, from its handle (no control-plane call; older checkpoints connect). */
  async envd(): Promise<EnvdClient> {
    const access = sandboxAccess(this.#d.config);
    return this.#handle ? EnvdClient.forHandle(access, this.#handle) : EnvdClient.open(access, this.#sandboxId);
  }

  /**
   * Acquires the fork's sandbox (or, in a recovery, its replacement), waiting durably for capacity:
   * two steps per turn offered however long the wait. Returns when the sandbox was acquired.
   */
  async acquire(prefix = "", opts: { quiet?: boolean } = {}): Promise<{ acquiredAt: number }> {
    const { steps, pool, params, config, step, instanceId } = this.#d;
    const request = { ...forkLeaseRequest(params, instanceId), key: this.#leaseKey };
    for (let wait = 0; ; wait++) {
      const acquired = await steps.run(`${prefix}${STEP.acquireSandbox}`, stepConfig("acquire", config.RETRY_POLICIES), async ({ report }) => {
        const result = unwrap(await pool.acquire(request));
        // A quiet acquire (the fork's verification sandbox) is not the fork's sandbox: not reported as it.
        if (result.status === "acquired") {
          if (!opts.quiet) report({ kind: "sandbox", sandboxId: result.sandboxId });
        } else if (result.reason === "capacity") report({ kind: "queued", position: result.position ?? 0 });
        return result;
      });
      if (acquired.status === "acquired") {
        this.#sandboxId = acquired.sandboxId;
        this.#handle = acquired.handle;
        return { acquiredAt: acquired.acquiredAt };
      }
      const name = `${prefix}${STEP.waitForCapacity}-${wait + 1}`;
      if (acquired.reason === "capacity") await step.waitForEvent(name, { type: CAPACITY_EVENT, timeout: CAPACITY_WAIT_TIMEOUT_MS }).catch(() => undefined);
      else await step.sleep(name, Math.min(Math.max(acquired.retryAfterMs, 250), MAX_CAPACITY_WAIT_MS));
    }
  }

  /** Checks that envd answers and runs a command. */
  health(): Promise<{ ok: boolean }> {
    return this.step(STEP.healthCheck, stepConfig("health", this.#d.config.RETRY_POLICIES), () => this.#probe());
  }

  /** Clones the repo onto the work branch; the base commit is kept for a recovery's clone. */
  async clone(timeoutMs: number): Promise<{ baseSha: string }> {
    const result = await this.step(STEP.clone, stepConfig("clone", this.#d.config.RETRY_POLICIES, timeoutMs), ({ remainingMs }) => this.#clone(remainingMs));
    this.#baseSha = result.baseSha;
    return result;
  }

  /** Runs a run's prepare commands, a step each (`prepare-<i>`); a non-zero exit fails the step. Journaled. */
  async prepare(commands: string[], timeoutMs: number): Promise<void> {
    for (const [i, command] of commands.entries()) {
      await this.step(prepareStep(i), stepConfig("command", this.#d.config.RETRY_POLICIES, timeoutMs), async ({ remainingMs }) => {
        const session = await this.envd();
        const exec = await session.exec(command, { cwd: REPO_DIR, timeoutMs: remainingMs, envs: this.#d.taskEnv });
        if (exec.exitCode !== 0) throw new CommandFailedError(command, exec.exitCode);
        return { exitCode: exec.exitCode };
      });
      this.record({ kind: "command", command });
    }
    await this.step(STEP.prepareExclude, stepConfig("command", this.#d.config.RETRY_POLICIES, timeoutMs), async () => {
      const exec = await (await this.envd()).exec(EXCLUDE_PREPARED_SCRIPT, { cwd: REPO_DIR, timeoutMs: EXCLUDE_TIMEOUT_MS });
      if (exec.exitCode !== 0) throw new CommandFailedError(EXCLUDE_PREPARED_SCRIPT, exec.exitCode);
      return { excluded: true };
    });
    this.record({ kind: "command", command: EXCLUDE_PREPARED_SCRIPT });
  }

  /**
   * Takes over a workspace forked from a run's prepared sandbox: checks out the fork's own work
   * branch at the prepared commit (no clone). The prepare commands go into the journal, so a
   * replacement for a lost sandbox clones that commit and runs them again.
   */
  adoptPrepared(commands: string[], baseSha: string): Promise<{ baseSha: string }> {
    const journal: JournalEntry[] = [...commands, EXCLUDE_PREPARED_SCRIPT].map((command) => ({ kind: "command", command }));
    return this.#adopt("the prepared workspace", baseSha, journal);
  }

  /**
   * Takes over a workspace forked from another fork (a branch): checks out this fork's work branch
   * where the parent stood, its changes kept; the parent's journal comes first in this one's.
   */
  adoptBranch(state: { baseSha: string; journal: JournalEntry[] }): Promise<{ baseSha: string }> {
    return this.#adopt(`fork ${this.#d.params.n}'s branched workspace`, state.baseSha, state.journal);
  }

  async #adopt(what: string, baseSha: string, journal: JournalEntry[]): Promise<{ baseSha: string }> {
    const p = this.#d.params;
    const result = await this.step(STEP.branch, stepConfig("adopt", this.#d.config.RETRY_POLICIES), async () => {
      const session = await this.envd();
      const exec = await session.exec(BRANCH_SCRIPT, { timeoutMs: STEP_KINDS.adopt.timeoutMs, envs: cloneEnv({ repo: p.repo, baseBranch: p.baseBranch, workBranch: p.workBranch }) });
      if (exec.exitCode !== 0) throw new CloneFailedError(`Checking out ${p.workBranch} in ${what} failed: ${exec.stderrTail.trim() || `exit ${exec.exitCode}`}`);
      return { baseSha };
    });
    this.#baseSha = result.baseSha;
    this.#journal.push(...journal);
    return result;
  }

  /**
   * Forks another holder's sandbox (a kept one: a branch of an ended fork) under this fork's
   * lease, waiting while the live cap is full; `acquire` then finds it.
   */
  async forkFrom(sourceLeaseKey: string): Promise<void> {
    const { steps, pool, params, config, step, instanceId } = this.#d;
    const request = { ...forkLeaseRequest(params, instanceId), key: this.#leaseKey };
    for (let wait = 1; ; wait++) {
      const forked = await steps.run(`${STEP.branchSandbox}-${wait}`, stepConfig("acquire", config.RETRY_POLICIES), async () => {
        const answer = await pool.forkSandbox(sourceLeaseKey, [request]);
        if (answer.ok) return { forked: true, retryAfterMs: 0 };
        if (answer.error.code === "rate_limited") return { forked: false, retryAfterMs: Number(answer.error.details?.retryAfterSeconds ?? 2) * 1000 };
        throw fromWireError(answer.error);
      });
      if (forked.forked) return;
      await step.sleep(`${STEP.branchSandbox}-wait-${wait}`, Math.min(Math.max(forked.retryAfterMs, 250), MAX_CAPACITY_WAIT_MS));
    }
  }

  /**
   * A continuation instance takes over the fork's sandbox as it stood (lease, base commit, journal,
   * recoveries): `acquire` then finds the lease's sandbox, with no clone.
   */
  resumeFrom(state: { leaseKey: string; baseSha: string; journal: JournalEntry[]; recoveries: number; releasedSeconds: number }): void {
    this.#leaseKey = state.leaseKey;
    this.#baseSha = state.baseSha;
    this.#journal.push(...state.journal);
    this.recoveries = state.recoveries;
    this.#releasedSeconds = state.releasedSeconds;
  }

  /** Where this fork's work started (its clone's commit). */
  get baseSha(): string | undefined {
    return this.#baseSha;
  }

  /** The journal's first `length` entries (all by default): what a branch taken now starts from. */
  journal(length = this.#journal.length): JournalEntry[] {
    return this.#journal.slice(0, length);
  }

  get journalLength(): number {
    return this.#journal.length;
  }

  /** Records what changed the workspace (after its step succeeded), for replay into a replacement. */
  record(entry: JournalEntry): void {
    this.#journal.push(entry);
  }

  /** A step that uses the sandbox, run again in a replacement if the sandbox is lost during it. */
  async step<T extends Rpc.Serializable<T>>(
    name: string,
    config: WorkflowStepConfig,
    body: (ctx: StepBodyContext) => Promise<T>,
    options?: { gated: boolean; budget?: boolean },
  ): Promise<T> {
    try {
      return await this.#d.steps.run(name, config, body, options);
    } catch (err) {
      if (decodeStepError(err).code !== "sandbox_gone") throw err;
      await this.#recover(name);
      return this.#d.steps.run(`${name}-r${this.recoveries}`, config, body, options);
    }
  }

  /** Releases the lost sandbox's lease, acquires a new sandbox, and restores the workspace in it. */
  async #recover(during: string): Promise<void> {
    const { steps, pool, params, config } = this.#d;
    const k = ++this.recoveries;
    log("warn", "fork.sandbox_lost", { runId: params.runId, fork: params.n, step: during, sandboxId: this.#sandboxId, recovery: k });
    const lost = this.#leaseKey;
    const released = await steps.run(`${recoveryStep(k)}-release`, stepConfig("cleanup", config.RETRY_POLICIES), async () => unwrap(await pool.release(lost)), { gated: true, budget: false });
    this.#releasedSeconds += released.aliveSeconds;
    this.#leaseKey = `${params.leaseKey}~${k}`;
    await this.acquire(`${recoveryStep(k)}-`);
    await this.#restore(`${recoveryStep(k)}-restore`);
  }

  /**
   * A fork continued after a budget stop ended its instance (its sandbox released then): a new
   * sandbox under the lease `<lease>~c<k>` (`resume-<k>-acquire-sandbox`), then, once `acquired`
   * was told when (the fork's time runs on from there), the workspace restored from the journal
   * as a recovery restores it (`resume-<k>-restore`: no model call).
   */
  async rebuild(k: number, acquired: (acquiredAt: number) => void): Promise<void> {
    this.#leaseKey = `${this.#d.params.leaseKey}~c${k}`;
    const { acquiredAt } = await this.acquire(`${budgetRebuildStep(k)}-`);
    acquired(acquiredAt);
    await this.#restore(`${budgetRebuildStep(k)}-restore`);
  }

  /** Clones the base commit into the current sandbox and replays the journal: commands re-run, tool calls re-executed. */
  async #restore(name: string): Promise<void> {
    const { steps, config } = this.#d;
    const journal = [...this.#journal];
    await steps.run(name, stepConfig("restore", config.RETRY_POLICIES), async ({ remainingMs }) => {
      await this.cloneAt(remainingMs, this.#baseSha);
      await this.#replay(journal, remainingMs);
      return { replayed: journal.length };
    });
  }

  /** Re-runs journal entries in order: commands again, tool calls re-executed (no model call). */
  async #replay(entries: JournalEntry[], remainingMs: number): Promise<void> {
    const session = await this.envd();
    for (const entry of entries) {
      if (entry.kind === "command") await session.exec(entry.command, { cwd: REPO_DIR, timeoutMs: remainingMs, envs: this.#d.taskEnv });
      else await executeTool(session, entry.call, { remainingMs, envs: this.#d.taskEnv });
    }
  }

  /**
   * A branch at an earlier step of another fork (its sandbox not used, perhaps gone): in one step,
   * that fork's base cloned here, `replay` re-run, then `lay` (files from its step snapshots). The
   * other fork's journal up to that step comes first in this one's.
   */
  async rebuildBranch(state: { baseSha: string; journal: JournalEntry[] }, replay: JournalEntry[], lay: (session: EnvdClient) => Promise<unknown>): Promise<{ baseSha: string }> {
    const result = await this.step(STEP.branchRebuild, stepConfig("restore", this.#d.config.RETRY_POLICIES), async ({ remainingMs }) => {
      const cloned = await this.cloneAt(remainingMs, state.baseSha || undefined);
      await this.#replay(replay, remainingMs);
      await lay(await this.envd());
      return { baseSha: cloned.baseSha, replayed: replay.length };
    });
    this.#baseSha = result.baseSha;
    this.#journal.push(...state.journal);
    return { baseSha: result.baseSha };
  }

  /** Probes the sandbox and clones the base (at `baseSha` when given) inside a step's body. */
  async cloneAt(timeoutMs: number, baseSha?: string): Promise<{ baseSha: string }> {
    await this.#probe();
    return this.#clone(timeoutMs, baseSha);
  }

  async #probe(): Promise<{ ok: boolean }> {
    const session = await this.envd();
    const probe = await session.exec("echo ok", { timeoutMs: HEALTH_TIMEOUT_MS });
    if (probe.exitCode !== 0 || probe.stdoutTail.trim() !== "ok") throw ownCommandError(probe, "health check", () => new SandboxOperationError(`Health check failed: ${probe.stderrTail || probe.stdoutTail}`));
    return { ok: true };
  }

  /** Clones at `baseSha`, else at the holder's `commit` (a run's), else at the branch's head. */
  async #clone(timeoutMs: number, baseSha?: string): Promise<{ baseSha: string }> {
    const p = this.#d.params;
    const session = await this.envd();
    const at = baseSha ?? p.commit;
    const result = await session.exec(CLONE_SCRIPT, { timeoutMs, envs: cloneEnv({ repo: p.repo, baseBranch: p.baseBranch, workBranch: p.workBranch, baseSha: at }) });
    if (at && result.exitCode === COMMIT_NOT_FOUND_EXIT && result.stderrTail.includes(COMMIT_NOT_FOUND_MARK)) throw new CommitNotFoundError(at, p.baseBranch);
    const sha = result.stdoutTail.trim().split("\n").pop() ?? "";
    if (result.exitCode !== 0 || !GIT_SHA.test(sha)) throw new CloneFailedError(`Cloning ${p.repo} (${p.baseBranch}) failed: ${result.stderrTail.trim() || `exit ${result.exitCode}`}`);
    return { baseSha: sha };
  }
}
