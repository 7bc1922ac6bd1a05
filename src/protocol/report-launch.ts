import type { Env } from "../core/env";
import { errorFields, log } from "../observability/log";
import { createInstanceOnce } from "./create-instance";
import { reportInstanceId } from "./instance-ids";

/**
 * Starts a run's report (from the Orchestrator, when a GitHub run ends). The fixed instance id
 * makes a second launch a no-op ("already exists").
 */
export async function launchGitHubReport(env: Env, runId: string, instanceId = reportInstanceId(runId)): Promise<void> {
  try {
    if (await createInstanceOnce(env.GITHUB_REPORT_WORKFLOW, instanceId, { runId })) log("info", "github.report_launched", { runId, instanceId });
  } catch (err) {
    log("error", "github.report_launch_failed", { runId, ...errorFields(err) });
  }
}

/**
 * Reports a run again after a pick (src/actions/pick.ts), so its summary comment shows the pick: a
 * new instance per pick (named by its time), once the run's own report is done — before that,
 * the run's report reads the pick itself, and two reports at once could both post the comment.
 */
export async function reportPick(env: Env, runId: string, pickedAt: string): Promise<void> {
  const done = await env.GITHUB_REPORT_WORKFLOW.get(reportInstanceId(runId)).then(
    async (instance) => (await instance.status()).status === "complete",
    () => false,
  );
  if (done) await launchGitHubReport(env, runId, `${reportInstanceId(runId)}-pick-${Date.parse(pickedAt)}`);
}
