import type { AgentTask, AgentView } from "../api/runs";
import { CLAUDE_CODE_SCRIPT, parseClaudeCodeStream } from "../agent/claude-code";
import { BudgetExceededError, ForkyardError } from "../core/errors";
import { modelProxyUrl } from "../model-proxy/address";
import { mintProxyToken } from "../model-proxy/token";
import { log } from "../observability/log";
import { REPO_DIR } from "../sandbox/git";
import type { ForkContext } from "./fork-context";
import { stepConfig } from "./step-policies";
import { STEP } from "./steps";
import { claudeCodeRecords } from "../runs/claude-code-transcript";

/** Output kept from the CLI: enough for its final `result` line. */
const STREAM_TAIL_CHARS = 256 * 1024;
/** A token outlives the step's deadline by this much (the lease's release revokes it sooner). */
const TOKEN_GRACE_SECONDS = 60;

/**
 * The `claude-code` runtime: one step runs the Claude Code CLI in the sandbox (a coarse
 * checkpoint: a crash re-runs the whole CLI session). No model key enters the sandbox: the CLI's
 * ANTHROPIC_BASE_URL is the Worker's model proxy (src/model-proxy/) and its "key" a per-fork token
 * bound to this run, this fork and its current sandbox lease, expiring with the step. The proxy
 * reserves each call's worst case against the run's budget, refuses a call the budget cannot
 * cover (402 `budget_exceeded`), meters what each call used and books it on the fork: that is
 * what the fork is billed. The cost the CLI reports is advisory (logged, never booked).
 */
export async function runClaudeCodeTask(ctx: ForkContext, task: AgentTask & { model: string }): Promise<AgentView> {
  const { params: p, config, steps, orchestrator } = ctx;
  const maxTurns = task.maxTurns ?? config.AGENT_MAX_TURNS;
  return steps.run(STEP.claudeCode, stepConfig("claudeCode", config.RETRY_POLICIES, p.timeoutSeconds * 1000), async ({ remainingMs, signal }) => {
    const baseUrl = modelProxyUrl(config, p.runId);
    const token = await mintProxyToken(config, { run: p.runId, fork: p.n, lease: ctx.sandbox.leaseKey, exp: Math.ceil((Date.now() + remainingMs) / 1000) + TOKEN_GRACE_SECONDS });
    const session = await ctx.envd();
    const envs: Record<string, string> = {
      ...ctx.taskEnv,
      FORKYARD_CLAUDE: config.CLAUDE_CODE_COMMAND,
      FORKYARD_PROMPT: task.prompt,
      FORKYARD_MODEL: task.model,
      FORKYARD_MAX_TURNS: String(maxTurns),
      ANTHROPIC_BASE_URL: baseUrl,
      ANTHROPIC_API_KEY: token,
    };
    const exec = await session.exec(CLAUDE_CODE_SCRIPT, { cwd: REPO_DIR, timeoutMs: remainingMs, envs, tailChars: STREAM_TAIL_CHARS, signal });
    const parsed = parseClaudeCodeStream(exec.stdoutTail, task.model);
    // What the CLI did, as far as its stream's tail shows it, enters the fork's transcript however it ended.
    await orchestrator.recordTranscript(p.n, claudeCodeRecords(STEP.claudeCode, task.prompt, exec.stdoutTail));
    // Stopped while it ran (cancelled, or the sandbox time spent the budget).
    if (exec.stopped) signal.throwIfAborted();
    if (!parsed || parsed.isError) {
      // The proxy's refusal reaches the CLI as an API error (402, code budget_exceeded), which it prints.
      if (`${exec.stdoutTail}\n${exec.stderrTail}`.includes("budget_exceeded")) {
        throw new BudgetExceededError("Claude Code was stopped: the model proxy refused a call the run's budget could not cover.");
      }
      if (!parsed) {
        const detail = (exec.stderrTail || exec.stdoutTail).trim().slice(-500);
        throw new ForkyardError("claude_code_failed", `Claude Code exited with code ${exec.exitCode} without a result: ${detail}`, { status: 502 });
      }
    }
    const { isError, reportedCostUsd, ...view } = parsed;
    log("info", "claude_code.reported_cost", { runId: p.runId, fork: p.n, reportedCostUsd });
    if (isError) throw new ForkyardError("claude_code_failed", `Claude Code ended with ${view.stopReason}: ${view.summary.slice(0, 500)}`, { status: 502 });
    return view;
  });
}
