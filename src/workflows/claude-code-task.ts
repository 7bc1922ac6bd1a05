import type { AgentTask, AgentView } from "../api/runs";
import { CLAUDE_CODE_SCRIPT, parseClaudeCodeStream, StreamCostMeter } from "../agent/claude-code";
import { expectedCallCostUsd, parseModelPrices } from "../agent/pricing";
import { BudgetExceededError, ForkyardError, fromWireError, type Result } from "../core/errors";
import { REPO_DIR } from "../sandbox/git";
import type { ForkContext } from "./fork-context";
import { stepConfig } from "./step-policies";
import { STEP } from "./steps";
import { claudeCodeRecords } from "../runs/claude-code-transcript";

/** Output kept from the CLI: enough for its final `result` line. */
const STREAM_TAIL_CHARS = 256 * 1024;
/** A session reporting more than this is not believed (an overflowed or forged number). */
const MAX_SESSION_COST_USD = 10_000;

/**
 * The `claude-code` runtime: one step runs the Claude Code CLI in the sandbox (a coarse
 * checkpoint: a crash re-runs the whole CLI session). Its stream-json is read as it arrives: every
 * assistant message's usage is priced and the session's reservation grows with it, so the CLI is
 * stopped as soon as it would spend past the run's budget. At the end the CLI's reported cost is
 * booked — unless it is missing, negative or absurd, which fails the fork (the cost priced from
 * the stream is booked instead: never a credit). Its output, summary included, is scrubbed of
 * the model key like every sandbox output.
 */
export async function runClaudeCodeTask(ctx: ForkContext, task: AgentTask & { model: string }): Promise<AgentView> {
  const { params: p, config, steps, orchestrator } = ctx;
  const prices = parseModelPrices(config.MODEL_PRICES);
  const maxTurns = task.maxTurns ?? config.AGENT_MAX_TURNS;
  const nextCallUsd = expectedCallCostUsd(task.model, { inputTokensEstimate: 20_000, maxTokens: 16_000 }, prices);
  return steps.run(STEP.claudeCode, stepConfig("claudeCode", config.RETRY_POLICIES, p.timeoutSeconds * 1000), async ({ attempt, remainingMs }) => {
    const ledgerKey = `fork:${p.n}:${STEP.claudeCode}:${attempt}`;
    const reserve = async (usd: number): Promise<Result<void>> => orchestrator.reserveModelCall(p.n, ledgerKey, usd);
    const first = await reserve(nextCallUsd);
    if (!first.ok) throw fromWireError(first.error);

    const session = await ctx.envd();
    const envs: Record<string, string> = {
      ...ctx.taskEnv,
      FORKYARD_CLAUDE: config.CLAUDE_CODE_COMMAND,
      FORKYARD_PROMPT: task.prompt,
      FORKYARD_MODEL: task.model,
      FORKYARD_MAX_TURNS: String(maxTurns),
      ANTHROPIC_API_KEY: config.ANTHROPIC_API_KEY ?? "",
    };
    if (config.ANTHROPIC_BASE_URL) envs.ANTHROPIC_BASE_URL = config.ANTHROPIC_BASE_URL;

    // The session's spend so far, priced from the stream; each step up re-reserves (spent + next call).
    const meter = new StreamCostMeter(task.model, prices);
    let checks: Promise<void> = Promise.resolve();
    const stopped: { by: ForkyardError | null } = { by: null };
    const exec = await session.exec(CLAUDE_CODE_SCRIPT, {
      cwd: REPO_DIR,
      timeoutMs: remainingMs,
      envs,
      tailChars: STREAM_TAIL_CHARS,
      onStdout: (chunk, stop) => {
        if (!meter.push(chunk)) return;
        const usd = meter.usd + nextCallUsd;
        checks = checks.then(async () => {
          if (stopped.by) return;
          const fits = await reserve(usd);
          if (!fits.ok) {
            stopped.by = fromWireError(fits.error);
            stop();
          }
        });
      },
    });
    await checks;
    const spentUsd = meter.usd;
    const parsed = parseClaudeCodeStream(exec.stdoutTail, task.model);
    // What the CLI did, as far as its stream's tail shows it, enters the fork's transcript however it ended.
    await orchestrator.recordTranscript(p.n, claudeCodeRecords(STEP.claudeCode, task.prompt, exec.stdoutTail));
    if (stopped.by || exec.stopped) {
      await orchestrator.recordModelCost(p.n, ledgerKey, spentUsd);
      throw new BudgetExceededError(`Claude Code was stopped after spending about $${spentUsd.toFixed(4)}: the run's budget does not allow more.`);
    }
    if (!parsed) {
      await orchestrator.recordModelCost(p.n, ledgerKey, spentUsd);
      const detail = (exec.stderrTail || exec.stdoutTail).trim().slice(-500);
      throw new ForkyardError("claude_code_failed", `Claude Code exited with code ${exec.exitCode} without a result: ${detail}`, { status: 502 });
    }
    const { isError, reportedCostUsd, ...view } = parsed;
    const reported = reportedCostUsd;
    if (reported === null || !Number.isFinite(reported) || reported < 0 || reported > MAX_SESSION_COST_USD) {
      await orchestrator.recordModelCost(p.n, ledgerKey, spentUsd);
      throw new ForkyardError("claude_code_failed", `Claude Code reported ${reported === null ? "no" : "an invalid"} cost (${String(reported)}); the cost priced from its stream ($${spentUsd.toFixed(4)}) was booked.`, {
        status: 502,
        retryable: false,
      });
    }
    await orchestrator.recordModelCost(p.n, ledgerKey, reported);
    if (isError) throw new ForkyardError("claude_code_failed", `Claude Code ended with ${view.stopReason}: ${view.summary.slice(0, 500)}`, { status: 502 });
    return view;
  });
}
