import type { Env } from "../../core/env";
import type { SessionView } from "../../api/sessions";
import { ConflictError, ForkyardError, unwrap, type WireError } from "../../core/errors";
import { errorFields, log } from "../../observability/log";
import { POOL_NAME } from "../../protocol/events";
import { sessionLeaseKey, sessionWorkBranch } from "../../protocol/session-ids";
import { sessionSandboxTtl, type RebuildPlan, type RebuildReport } from "../../protocol/session-job";
import type { SandboxHandle } from "../../sandbox/handle";
import type { PendingFork, SessionRecord, SessionStore } from "./session-store";
import { SessionWorkspace } from "./session-workspace";
import { takeSessionWork, type SessionWork } from "./session-work";
import { describeDiff } from "../../sandbox/manifest-diff";
import { EXCLUDE_PREPARED_SCRIPT } from "../../sandbox/git";
import { ArtifactStore, sessionOriginPatchKey } from "../../artifacts/store";

/** A Pool answer saying the sandbox no longer exists (its lease ended, or the backend does not know it). */
function isLost(error: WireError): boolean {
  return error.code === "lease_not_active" || error.details?.notFound === true;
}

/**
 * A session's sandbox, held through the Pool under one lease for the session's life: paused when
 * idle (not billed, files kept), resumed by the next turn, forked, released. Operations run one at
 * a time (a pause from the alarm and a turn's resume never interleave). (Not the envd client a
 * step talks to the sandbox with: that is EnvdClient, src/sandbox/session.ts.)
 */
export class SessionLease {
  readonly #env: Env;
  readonly #store: SessionStore;
  readonly #event: (type: string, turn: number | null, data: Record<string, unknown>) => void;
  #ops: Promise<unknown> = Promise.resolve();

  constructor(env: Env, store: SessionStore, event: (type: string, turn: number | null, data: Record<string, unknown>) => void) {
    this.#env = env;
    this.#store = store;
    this.#event = event;
  }

  pool() {
    return this.#env.POOL.getByName(POOL_NAME);
  }

  /** Runs `op` after the operations before it. */
  serial<T>(op: () => Promise<T>): Promise<T> {
    const next = this.#ops.then(op, op);
    this.#ops = next.catch(() => undefined);
    return next;
  }

  async pause(): Promise<void> {
    await this.serial(async () => {
      const r = this.#record();
      if (r.sandboxState !== "running") return;
      const recorded = await this.#recordWorkspace(r);
      await this.#takeWork(r);
      const suspended = await this.pool().suspend(r.leaseKey);
      // Lost already: nothing to pause; the next resume finds it gone and the turn rebuilds it.
      if (!suspended.ok && isLost(suspended.error)) return this.#markGone();
      unwrap(suspended);
      // A snapshot taken between turns is one a rebuild starts from (mid-turn, the turn's calls so far are in it).
      const between = !this.#store.runningTurn();
      this.#store.update((rec) => {
        rec.sandboxMs = this.#store.sandboxMs(rec, Date.now());
        rec.runningSince = null;
        rec.sandboxState = "paused";
        if (recorded) rec.verifyOnResume = true;
        else delete rec.verifyOnResume;
        if (recorded && between) rec.snapshot = { turn: this.#store.lastFinishedTurn(), commit: recorded.commit, complete: recorded.complete };
        else delete rec.snapshot;
      });
      this.#event("sandbox.paused", null, { sandboxId: r.sandboxId });
      log("info", "session.sandbox_paused", { sessionId: r.id, sandboxId: r.sandboxId });
    });
  }

  async resume(): Promise<SandboxHandle> {
    return this.serial(async () => {
      const r = this.#record();
      const resumed = await this.pool().resume(r.leaseKey, sessionSandboxTtl(r.idleSeconds));
      if (!resumed.ok && isLost(resumed.error)) {
        this.#markGone();
        throw new ConflictError("sandbox_gone", "The session's sandbox no longer exists.");
      }
      const { handle } = unwrap(resumed);
      if (r.sandboxState === "paused") {
        this.#store.update((rec) => {
          rec.sandboxState = "running";
          rec.runningSince = Date.now();
        });
        this.#event("sandbox.resumed", null, { sandboxId: r.sandboxId });
      }
      // Cleared once verified: a resume that failed midway (a step run again) verifies again.
      if (r.verifyOnResume) {
        await this.#verify(r, handle);
        this.#store.update((rec) => delete rec.verifyOnResume);
      }
      return handle;
    });
  }

  /**
   * The workspace before a pause (session-workspace.ts): its manifest and changed files into R2.
   * A workspace that cannot be recorded is paused anyway, and its resume is not verified.
   */
  async #recordWorkspace(r: SessionRecord): Promise<{ commit: string | null; complete: boolean } | null> {
    try {
      const { handle } = unwrap(await this.pool().resume(r.leaseKey));
      const recorded = await new SessionWorkspace(this.#env, r.id).record(handle);
      log("info", "session.workspace_recorded", { sessionId: r.id, sandboxId: r.sandboxId, files: recorded.files, stored: recorded.stored, truncated: recorded.truncated });
      return recorded;
    } catch (err) {
      log("warn", "session.workspace_not_recorded", { sessionId: r.id, sandboxId: r.sandboxId, ...errorFields(err) });
      return null;
    }
  }

  /**
   * The session's work (GET …/patch, …/pick): taken now when the sandbox runs with no turn (it may
   * have changed since the last pause), else as the last pause took it (nothing changes while paused).
   */
  async work(): Promise<SessionWork | null> {
    return this.serial(async () => {
      const r = this.#record();
      if (r.sandboxState === "running" && !this.#store.runningTurn()) await this.#takeWork(r);
      return this.#record().work ?? null;
    });
  }

  /** Takes the session's diff and patch (session-work.ts) into its record; a failure keeps the last one. */
  async #takeWork(r: SessionRecord): Promise<void> {
    if (!r.baseSha || r.sandboxState !== "running") return;
    try {
      const { handle } = unwrap(await this.pool().resume(r.leaseKey));
      const work = await takeSessionWork(this.#env, r.id, handle, r.baseSha, this.#store.lastFinishedTurn());
      this.#store.update((rec) => (rec.work = work));
    } catch (err) {
      log("warn", "session.work_not_taken", { sessionId: r.id, sandboxId: r.sandboxId, ...errorFields(err) });
    }
  }

  /**
   * Resumes the sandbox for turn n or, when it is lost, answers how the turn rebuilds it (issue 24,
   * item 2): from the last snapshot taken between turns when it is complete and at the session's
   * base commit, else from the origin of a session that began as a clone; later turns' tool calls
   * replayed. A lost sandbox that cannot be rebuilt stays `sandbox_gone`.
   */
  async resumeOrRebuild(n: number): Promise<{ handle: SandboxHandle } | { rebuild: RebuildPlan }> {
    try {
      return { handle: await this.resume() };
    } catch (err) {
      if (!(err instanceof ForkyardError) || err.code !== "sandbox_gone") throw err;
      const plan = this.#rebuildPlan(n - 1);
      if (!plan) throw err;
      this.#event("sandbox.lost", n, { sandboxId: this.#record().sandboxId, rebuildFrom: plan.fromSnapshot ? "snapshot" : "origin", replay: plan.replay.length, ...(plan.setup ? { setup: plan.setup.length } : {}) });
      return { rebuild: plan };
    }
  }

  /**
   * Tool step `step` of turn n found the sandbox gone (issue 24, item 2): the lost sandbox is billed
   * up to now, and the plan replays the turn's own finished tool calls after the earlier turns'.
   * Repeatable (the plan is the same until the rebuild ends). No plan: `sandbox_gone`.
   */
  async lostDuringTurn(n: number, step: string): Promise<RebuildPlan> {
    return this.serial(async () => {
      const r = this.#record();
      if (r.sandboxState === "running" || r.sandboxState === "paused") this.#markGone();
      const plan = this.#rebuildPlan(n);
      if (!plan) throw new ConflictError("sandbox_gone", "The session's sandbox was lost during the turn, and the session has nothing to rebuild its workspace from.", { step });
      this.#event("sandbox.lost", n, { sandboxId: r.sandboxId, step, rebuildFrom: plan.fromSnapshot ? "snapshot" : "origin", replay: plan.replay.length, ...(plan.setup ? { setup: plan.setup.length } : {}) });
      log("warn", "session.sandbox_lost", { sessionId: r.id, sandboxId: r.sandboxId, turn: n, step });
      return { ...plan, during: step };
    });
  }

  /** Whether a lost sandbox can be rebuilt (there is something to rebuild it from). */
  rebuildable(): boolean {
    return this.#rebuildPlan(0) !== null;
  }

  /**
   * How to rebuild with turns 1..upTo's tool calls (upTo = n - 1 at turn n's start, n during it):
   * from the last snapshot taken between turns when it is complete and at the base commit, else from
   * the origin — a plain session's clone, a fork of a session's parent's (its turns are imported),
   * a run's fork's clone (or prepared) commit, commands and, for Claude Code, verified patch
   * (`origin`). A run's fork continued without a recorded base commit has none: its complete
   * snapshot's commit serves, else it is not rebuilt.
   */
  #rebuildPlan(upTo: number): RebuildPlan | null {
    const r = this.#record();
    const snap = r.snapshot;
    const baseSha = r.baseSha ?? (r.run && snap?.complete ? snap.commit : null);
    if (!baseSha) return null;
    const fromSnapshot = !!snap && snap.complete && snap.commit === baseSha;
    if (!fromSnapshot && r.run && !r.origin) return null;
    const prepare = r.origin?.prepare.length ? [...r.origin.prepare, EXCLUDE_PREPARED_SCRIPT] : [];
    const setup = [...prepare, ...(fromSnapshot ? [] : (r.origin?.commands ?? []))];
    const patch = fromSnapshot ? undefined : r.origin?.patch;
    const k = (r.rebuilds ?? 0) + 1;
    return {
      k,
      lostLeaseKey: r.leaseKey,
      leaseKey: `${sessionLeaseKey(r.id)}~${k}`,
      baseSha,
      fromSnapshot,
      templateId: r.sandbox.templateId,
      timeoutSeconds: sessionSandboxTtl(r.idleSeconds),
      replay: this.#store.toolCalls(Math.max(fromSnapshot ? snap!.turn : 0, r.origin?.replayAfter ?? 0), upTo),
      ...(setup.length > 0 ? { setup } : {}),
      ...(patch ? { patch } : {}),
    };
  }

  /** A rebuild's snapshot step: the snapshot laid on the new sandbox's clone, and verified. */
  restoreSnapshot(handle: SandboxHandle): Promise<{ files: number; deleted: number; verified: boolean }> {
    return new SessionWorkspace(this.#env, this.#record().id).restore(handle);
  }

  /** The rebuilt sandbox is the session's now (once: a repeated report changes nothing). */
  async rebuilt(report: RebuildReport): Promise<SandboxHandle> {
    return this.serial(async () => {
      const { handle } = unwrap(await this.pool().resume(report.leaseKey));
      if (this.#record().leaseKey === report.leaseKey) return handle;
      this.#store.update((rec) => {
        rec.leaseKey = report.leaseKey;
        rec.sandboxId = report.sandboxId;
        rec.sandboxState = "running";
        rec.runningSince = Date.now();
        rec.rebuilds = report.k;
        delete rec.verifyOnResume;
      });
      const { differences } = report;
      this.#event("session.rebuilt", null, { sandboxId: report.sandboxId, from: report.from, replayed: report.replayed, differences: { count: differences.length, calls: differences.slice(0, 20) } });
      log("warn", "session.sandbox_rebuilt", { sessionId: this.#record().id, sandboxId: report.sandboxId, from: report.from, replayed: report.replayed, differences: differences.length });
      return handle;
    });
  }

  /** After a resume: the workspace compared with its manifest, repaired (`session.repaired`), or lost. */
  async #verify(r: SessionRecord, handle: SandboxHandle): Promise<void> {
    try {
      const outcome = await new SessionWorkspace(this.#env, r.id).verify(handle);
      if (outcome.intact) return;
      this.#event("session.repaired", null, { sandboxId: r.sandboxId, ...describeDiff(outcome.diff), restored: outcome.restored });
      log("warn", "session.workspace_repaired", { sessionId: r.id, sandboxId: r.sandboxId, missing: outcome.diff.missing.length, changed: outcome.diff.changed.length });
    } catch (err) {
      if (!(err instanceof ConflictError) || err.code !== "sandbox_gone") throw err;
      this.#event("session.repair_failed", null, { sandboxId: r.sandboxId, error: { code: err.code, message: err.message, details: err.details ?? {} } });
      this.#markGone();
      await this.pool().release(r.leaseKey);
      throw err;
    }
  }

  /** The session is destroyed: its workspace snapshot goes too. */
  async dropWorkspace(): Promise<void> {
    const r = this.#record();
    await new SessionWorkspace(this.#env, r.id).drop().catch((err) => log("warn", "session.workspace_drop_failed", { sessionId: r.id, ...errorFields(err) }));
  }

  /**
   * Forks the session into the new sessions `children` (E2B's sandbox fork, through the Pool): each
   * gets the history of turns 1..upTo (the last one as far as it got, for a fork at a step boundary
   * of a running turn), its copy of the workspace, its own work branch, its title and its budget.
   * Repeatable with the same ids (the Pool forks a lease once; a session is created once).
   */
  async forkSession(r: SessionRecord, children: PendingFork[], upTo: number): Promise<SessionView[]> {
    const ttl = sessionSandboxTtl(r.idleSeconds);
    const leases = children.map(({ id }) => ({ key: sessionLeaseKey(id), runId: id, fork: 0, template: r.sandbox.templateId, timeoutSeconds: ttl, holder: "session" as const }));
    const forked = await this.serial(async () => unwrap(await this.pool().forkSandbox(r.leaseKey, leases)));
    const now = new Date().toISOString();
    const history = this.#store.exportHistory(upTo, now);
    return Promise.all(
      children.map(async ({ id, title, budgetUsd }, i) => {
        const record: SessionRecord = {
          ...structuredClone(r),
          id,
          title,
          status: "idle",
          // Its own branch, checked out (the workspace as it is) by its next turn's first steps.
          workBranch: sessionWorkBranch(id),
          switchBranch: true,
          budgetUsd,
          leaseKey: leases[i]!.key,
          sandboxId: forked[i]!.sandboxId,
          sandboxState: "running",
          sandboxMs: 0,
          runningSince: Date.now(),
          idleSince: Date.now(),
          parent: { sessionId: r.id, turn: upTo },
          createdAt: now,
          updatedAt: now,
        };
        delete record.error;
        delete record.cancelling;
        delete record.pendingForks;
        delete record.verifyOnResume;
        // The parent's snapshot is under the parent's id: a rebuild of the new session starts from its origin.
        delete record.snapshot;
        try {
          // Its origin's patch (a Claude Code fork's): the new session keeps its own copy, which outlives the parent.
          if (r.origin?.patch) record.origin = { ...r.origin, patch: await this.#copyOriginPatch(r.origin.patch, id) };
          return unwrap(await this.#env.SESSION.getByName(id).createFork({ record, history }));
        } catch (err) {
          // Its sandbox was forked for a session that does not exist: it must not live on (a
          // session's lease is never reaped for age).
          await this.pool().release(record.leaseKey);
          throw err;
        }
      }),
    );
  }

  /**
   * Whether the session's sandbox is lost (asked after an operation on it failed in a way that does
   * not say, e.g. a fork of it answered 404): resuming it finds out, and marks it gone when it is.
   */
  async lost(): Promise<boolean> {
    try {
      await this.resume();
      return false;
    } catch (err) {
      if (err instanceof ForkyardError && err.code === "sandbox_gone") return true;
      throw err;
    }
  }

  /** The sandbox is lost: billed up to now, and `gone` (the next turn, or the running one, rebuilds it). */
  #markGone(): void {
    this.#store.update((rec) => {
      rec.sandboxMs = this.#store.sandboxMs(rec, Date.now());
      rec.runningSince = null;
      rec.sandboxState = "gone";
    });
  }

  /** A copy of an origin's patch under session `id` (none to copy: the key stays, and a rebuild reports the patch missing). */
  async #copyOriginPatch(key: string, id: string): Promise<string> {
    const copied = await new ArtifactStore(this.#env.ARTIFACTS).copy(key, sessionOriginPatchKey(id));
    return copied ? sessionOriginPatchKey(id) : key;
  }

  #record(): SessionRecord {
    return this.#store.record()!;
  }
}
