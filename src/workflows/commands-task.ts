import type { CommandResult } from "../api/runs";
import { CommandFailedError, ForkTimeoutError } from "../core/errors";
import { REPO_DIR } from "../sandbox/git";
import type { ForkContext } from "./fork-context";
import { stepConfig } from "./step-policies";
import { commandStep } from "./steps";
import { stallMs } from "../protocol/fork-params";
import { forkLiveOutput } from "./live-output";

/**
 * A commands task: one step per command, in the clone; the first non-zero exit ends the fork. A
 * branched fork runs the commands its parent had not run yet. Before each command the fork may be branched.
 */
export async function runCommandsTask(ctx: ForkContext, commands: string[], results: CommandResult[]): Promise<void> {
  const { params, config, steps } = ctx;
  const from = ctx.branchState?.turn ?? 0;
  for (const [index, command] of commands.entries()) {
    if (index < from) continue;
    ctx.branching.position = { turn: index };
    await ctx.branching.at(commandStep(index));
    // Near the instance's step limit the fork goes on in a new instance, from this command.
    await ctx.continuation.at({ turn: index });
    const result = await ctx.sandbox.step(commandStep(index), stepConfig("command", config.RETRY_POLICIES, params.timeoutSeconds * 1000), async ({ remainingMs, report, signal }) => {
      const session = await ctx.envd();
      const live = forkLiveOutput(ctx, commandStep(index));
      let exec;
      try {
        exec = await session.exec(command, { cwd: REPO_DIR, timeoutMs: remainingMs, envs: ctx.taskEnv, stallMs: stallMs(params), signal, ...(live ? { onOutput: live.push } : {}) });
      } finally {
        await live?.close();
      }
      const commandResult: CommandResult = { command, ...exec };
      report({ kind: "command", index, result: commandResult });
      // Stopped while it ran (cancelled, or the budget spent): the step ends with that reason.
      if (exec.stopped) signal.throwIfAborted();
      // The fork's deadline is the command's deadline: a command it stopped timed the fork out.
      if (exec.exitCode !== 0 && steps.remainingMs() <= 0) throw new ForkTimeoutError(params.timeoutSeconds);
      return commandResult;
    });
    results.push(result);
    if (result.exitCode !== 0) throw new CommandFailedError(command, result.exitCode);
    ctx.sandbox.record({ kind: "command", command });
  }
  ctx.branching.position = { turn: commands.length };
}
