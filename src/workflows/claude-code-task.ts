import type { AgentTask, AgentView } from "../api/runs";
import { CLAUDE_CODE_SCRIPT, parseClaudeCodeStream } from "../agent/claude-code";
import { expectedCallCostUsd, parseModelPrices, usageCostUsd } from "../agent/pricing";
import { ForkyardError, unwrap } from "../errors";
import { REPO_DIR } from "../sandbox/git";
import { SandboxSession } from "../sandbox/session";
import type { ForkContext } from "./fork-context";
import { stepConfig } from "./retry-policies";
import { STEP } from "./steps";

/** Output kept from the CLI: enough for its final `result` line. */
const STREAM_TAIL_CHARS = 256 * 1024;

/**
 * The `claude-code` runtime: one step runs the Claude Code CLI in the sandbox (a coarse
 * checkpoint: a crash re-runs the whole CLI session). The budget is asked for one model call up
 * front; the session's cost is recorded when it ends.
 */
export async function runClaudeCodeTask(ctx: ForkContext, task: AgentTask & { model: string }): Promise<AgentView> {
  const { params: p, config, steps, orchestrator } = ctx;
  const prices = parseModelPrices(config.MODEL_PRICES);
  const maxTurns = task.maxTurns ?? config.AGENT_MAX_TURNS;
  const result = await steps.run(STEP.claudeCode, stepConfig("model", config.RETRY_POLICIES, p.timeoutSeconds * 1000), async ({ attempt, remainingMs }) => {
    const ledgerKey = `fork:${p.n}:${STEP.claudeCode}:${attempt}`;
    unwrap(await orchestrator.reserveModelCall(p.n, ledgerKey, expectedCallCostUsd(task.model, { inputTokensEstimate: 20_000, maxTokens: 16_000 }, prices)));
    const session = await SandboxSession.open(ctx.connection(), ctx.sandboxId);
    const envs: Record<string, string> = {
      ...ctx.taskEnv,
      FORKYARD_CLAUDE: config.CLAUDE_CODE_COMMAND,
      FORKYARD_PROMPT: task.prompt,
      FORKYARD_MODEL: task.model,
      FORKYARD_MAX_TURNS: String(maxTurns),
      ANTHROPIC_API_KEY: config.ANTHROPIC_API_KEY ?? "",
    };
    if (config.ANTHROPIC_BASE_URL) envs.ANTHROPIC_BASE_URL = config.ANTHROPIC_BASE_URL;
    const exec = await session.exec(CLAUDE_CODE_SCRIPT, { cwd: REPO_DIR, timeoutMs: remainingMs, envs, tailChars: STREAM_TAIL_CHARS });
    const parsed = parseClaudeCodeStream(exec.stdoutTail, task.model);
    if (!parsed) {
      const detail = (exec.stderrTail || exec.stdoutTail).trim().slice(-500);
      throw new ForkyardError("claude_code_failed", `Claude Code exited with code ${exec.exitCode} without a result: ${detail}`, { status: 502 });
    }
    const { isError, reportedCostUsd, ...view } = parsed;
    await orchestrator.recordModelCost(p.n, ledgerKey, reportedCostUsd ?? usageCostUsd(task.model, view.tokens, prices));
    if (isError) throw new ForkyardError("claude_code_failed", `Claude Code ended with ${view.stopReason}: ${view.summary.slice(0, 500)}`, { status: 502 });
    return view;
  });
  return result;
}
