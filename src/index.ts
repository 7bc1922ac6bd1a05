import { createApp } from "./app";
import { ArtifactStore } from "./artifacts/store";
import { loadConfig, type Env } from "./core/env";
import { errorFields, log } from "./observability/log";
import { runReaper } from "./actions/reaper";
import { pruneRuns } from "./actions/delete-run";
import { pruneSessions } from "./actions/delete-session";

export { Orchestrator } from "./objects/orchestrator/orchestrator";
export { Pool } from "./objects/pool/pool";
export { Session } from "./objects/session/session";
export { Evaluation } from "./objects/eval/evaluation";
export { EvalCheckWorkflow } from "./workflows/eval-check-workflow";
export { ForkWorkflow } from "./workflows/fork-workflow";
export { GitHubReportWorkflow } from "./workflows/github-report-workflow";
export { SessionTurnWorkflow } from "./workflows/session-turn-workflow";
export { JudgeWorkflow } from "./workflows/judge-workflow";
export { PrepareWorkflow } from "./workflows/prepare-workflow";

const app = createApp();

export default {
  fetch: app.fetch,
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(runReaper(env).catch((err) => log("error", "reaper.failed", errorFields(err))));
    ctx.waitUntil(pruneRuns(env).catch((err) => log("error", "runs.prune_failed", errorFields(err))));
    ctx.waitUntil(pruneSessions(env).catch((err) => log("error", "sessions.prune_failed", errorFields(err))));
    const retentionMs = loadConfig(env).ARTIFACT_RETENTION_DAYS * 86_400_000;
    ctx.waitUntil(new ArtifactStore(env.ARTIFACTS).prune(new Date(Date.now() - retentionMs)).catch((err) => log("error", "artifacts.prune_failed", errorFields(err))));
  },
} satisfies ExportedHandler<Env>;
