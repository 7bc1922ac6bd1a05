import type { ForkTranscript } from "../agent/conversation";
import { resolveModel } from "../agent/models";
import { TERMINAL_FORK_STATUSES, type RunView } from "../api/runs";
import type { SessionView } from "../api/sessions";
import { DEFAULT_IDLE_SECONDS } from "../api/sessions";
import { ArtifactStore, transcriptKey } from "../artifacts/store";
import type { Env } from "../core/env";
import { ConflictError, NotFoundError, unwrap } from "../core/errors";
import { log } from "../observability/log";
import { newSessionId, sessionLeaseKey } from "../protocol/session-ids";
import { sessionSandboxTtl } from "../protocol/session-job";
import { historyOfExchanges, type SessionHistory, type SessionRecord } from "../objects/session/session-store";
import { POOL_NAME } from "../protocol/events";
import { remainingUsd } from "../objects/session/fork-plan";
import { forkOrigin } from "./session-origin";

/**
 * A session continuing fork n of a run (POST /v1/runs/:id/forks/:n/session): it takes over the
 * fork's kept sandbox (runs with keepSandboxes; paused until the first message) and, for an agent
 * fork, starts from its conversation: one turn per exchange (a branched fork's parent's first). Its
 * budget is what the run had left of its own, and it records what a lost sandbox is rebuilt from
 * (session-origin.ts). A sandbox is taken over once.
 */
export async function sessionFromFork(env: Env, run: RunView, n: number): Promise<SessionView> {
  const fork = run.forks.find((f) => f.n === n);
  if (!fork) throw new NotFoundError("fork", `${run.id}/${n}`);
  if (!TERMINAL_FORK_STATUSES.includes(fork.status)) throw new ConflictError("fork_running", `Fork ${n} has not ended yet (${fork.status}).`);
  const kept = unwrap(await env.ORCHESTRATOR.getByName(run.id).keptSandbox(n));
  if (!kept) throw new ConflictError("sandbox_not_kept", `Fork ${n}'s sandbox was not kept: start the run with keepSandboxes: true.`);

  const task = run.request.task;
  const model = "prompt" in task ? (task.model ?? resolveModel()) : resolveModel();
  const id = newSessionId();
  const pool = env.POOL.getByName(POOL_NAME);
  const { sandboxId } = unwrap(
    await pool.adopt(kept.leaseKey, { key: sessionLeaseKey(id), runId: id, fork: 0, template: run.sandbox.templateId, timeoutSeconds: sessionSandboxTtl(DEFAULT_IDLE_SECONDS), holder: "session" }),
  );
  try {
    const transcript = "prompt" in task ? await new ArtifactStore(env.ARTIFACTS).getJson<ForkTranscript>(transcriptKey(run.id, n)) : null;
    const history: SessionHistory = transcript
      ? historyOfExchanges([...(transcript.history ?? []), { prompt: transcript.prompt, turns: transcript.turns }], {
          model,
          status: fork.status === "succeeded" ? "succeeded" : "failed",
          stopReason: fork.agent?.stopReason ?? null,
          summary: fork.agent?.summary ?? null,
          toolCalls: fork.agent?.toolCalls ?? 0,
          tokens: fork.agent?.tokens ?? { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
          costUsd: fork.costUsd.llm,
          startedAt: fork.startedAt,
          finishedAt: fork.finishedAt,
        })
      : { turns: [], transcript: [] };
    const now = new Date().toISOString();
    const record: SessionRecord = {
      id,
      title: `Run ${run.id} fork ${n}`,
      status: "paused",
      repo: run.request.repo,
      branch: run.request.branch,
      workBranch: fork.branch,
      model,
      system: null,
      idleSeconds: DEFAULT_IDLE_SECONDS,
      // What the run had left of its budget (none if it had none).
      budgetUsd: remainingUsd(run.request.budgetUsd, run.totals.costUsd.total),
      sandbox: run.sandbox,
      leaseKey: sessionLeaseKey(id),
      sandboxId,
      sandboxState: "paused",
      sandboxMs: 0,
      runningSince: null,
      idleSince: null,
      ...(await forkOrigin(env, run, fork, id, history.turns.length)),
      run: { id: run.id, fork: n },
      createdAt: now,
      updatedAt: now,
    };
    return unwrap(await env.SESSION.getByName(id).createFork({ record, history }));
  } catch (err) {
    // The sandbox was taken over for a session that does not exist: it must not live on.
    log("warn", "session.from_fork_failed", { runId: run.id, fork: n, sessionId: id });
    await pool.release(sessionLeaseKey(id));
    throw err;
  }
}
