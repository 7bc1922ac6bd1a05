import { judgesWithModel, TERMINAL_RUN_STATUSES, type RunStatus } from "../../api/runs";
import { exportForkResults, upsertRunSummary } from "../../d1-index/run-index";
import { errorFields, log } from "../../observability/log";
import { reportInstanceId } from "../../protocol/instance-ids";
import { launchGitHubReport } from "../../protocol/report-launch";
import type { RunBranching } from "./branching";
import type { RunContext } from "./run-context";
import type { RunJudging } from "./run-judging";

export const isTerminalRun = (status: RunStatus) => TERMINAL_RUN_STATUSES.includes(status);

/**
 * The run's status: each change recorded, announced and indexed; the run's end once every fork
 * has ended (completed when one succeeded); a judging started by judge.llm; the report to GitHub.
 */
export class RunStatusMachine {
  readonly #run: RunContext;
  readonly #branching: RunBranching;
  readonly #judging: RunJudging;

  constructor(run: RunContext, branching: RunBranching, judging: RunJudging) {
    this.#run = run;
    this.#branching = branching;
    this.#judging = judging;
  }

  /** Ends the run once every fork has ended. */
  async maybeFinish(): Promise<void> {
    const { store } = this.#run;
    const run = this.#run.run();
    if (isTerminalRun(run.status) || store.countUnfinished() > 0) return;
    if (run.status === "budget_exceeded") {
      // Every fork ended but the run waits for a budget raise: a GitHub run reports now.
      await this.reportToGitHub();
      return;
    }
    await this.set(store.countForks("succeeded") > 0 ? "completed" : "failed");
  }

  /** A run's end is indexed at once (unless the caller does it: `indexNow: false`), other changes soon. */
  async set(status: RunStatus, { indexNow = isTerminalRun(status) } = {}): Promise<void> {
    const run = this.#run.run();
    if (run.status === status) return;
    this.#run.store.setRunStatus(status, new Date().toISOString());
    this.#run.event(isTerminalRun(status) ? "run.finished" : "run.status", null, { status });
    log("info", "run.status", { runId: run.id, status });
    if (indexNow) await this.#run.index.now();
    else this.#run.index.soon();
    // A judged run (judge.llm) reports to GitHub once its judging ended: the report ranks with the scores.
    let judging = false;
    // An adaptive run judged after its waves (minScore) has its judging already.
    if (status === "completed" && run.request.judge && judgesWithModel(run.request.judge) && !run.waves?.judging) {
      judging = await this.#judging.start(run.request.judge).then(
        () => true,
        (err) => (log("warn", "orchestrator.judging_not_started", { runId: run.id, ...errorFields(err) }), false),
      );
    }
    if (isTerminalRun(status) && !judging) await this.reportToGitHub();
  }

  /**
   * A GitHub run reports when it ends: once, and once more each time it ends again after forks
   * were branched from it or merged (their own report instance; the summary comment is updated in place).
   */
  async reportToGitHub(): Promise<void> {
    const run = this.#run.run();
    if (!run.request.github) return;
    const branches = this.#branching.count() + this.#run.store.countMerges();
    await launchGitHubReport(this.#run.env, run.id, branches === 0 ? reportInstanceId(run.id) : `${reportInstanceId(run.id)}-branch-${branches}`);
  }

  /** Writes the run's summary and its newly ended forks to the D1 index (through IndexSync). */
  async writeIndex(): Promise<void> {
    const { store } = this.#run;
    const run = this.#run.run();
    store.touchRun(new Date().toISOString());
    await upsertRunSummary(this.#run.env.DB, { ...this.#run.run(), totals: store.totals() }, run.requestHash, run.idempotencyKey);
    const ended = store.unexportedForks();
    await exportForkResults(this.#run.env.DB, run.id, ended);
    store.markExported(ended.map((f) => f.n));
  }
}
