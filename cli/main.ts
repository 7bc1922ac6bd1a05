/** The `forkyard` command-line program: a client of the Forkyard HTTP API. */
import { Argument, Command, Option } from "commander";
import { artifactsCommand, diffCommand } from "./commands/artifacts.ts";
import { budgetCommand } from "./commands/budget.ts";
import { deleteCommand } from "./commands/delete.ts";
import { chatCommand } from "./commands/chat.ts";
import { compareCommand, judgeCommand } from "./commands/compare.ts";
import { branchCommand } from "./commands/branch.ts";
import { mergeCommand } from "./commands/merge.ts";
import { sessionControlCommand, sessionDequeueCommand, sessionForkCommand, sessionListCommand, sessionNewCommand, sessionSendCommand, sessionShowCommand } from "./commands/session.ts";
import { cleanupCommand } from "./commands/cleanup.ts";
import { evalCommand, evalRmCommand, type EvalOptions } from "./commands/eval.ts";
import { controlCommand } from "./commands/control.ts";
import { forkCommand, type ForkOptions } from "./commands/fork.ts";
import { listCommand, type ListOptions } from "./commands/list.ts";
import { logsCommand } from "./commands/logs.ts";
import { forkTranscriptCommand } from "./commands/fork-transcript.ts";
import { pickCommand } from "./commands/pick.ts";
import { statusCommand } from "./commands/status.ts";
import { DEFAULT_URL } from "./config.ts";
import { createContext, type Context } from "./context.ts";
import { reportError } from "./errors.ts";
import { processIo, type Io } from "./io.ts";
import { EXIT } from "./outcome.ts";
import { collectKeyValue, parseNumber, parsePositiveInt } from "./options.ts";
import { Output } from "./output.ts";
import { RUN_STATUSES, SESSION_STATUSES } from "./types.ts";

const EXIT_CODES_HELP = `
Environment:
  FORKYARD_URL    API base URL (default ${DEFAULT_URL}, what \`npm start\` serves)
  FORKYARD_TOKEN  API bearer token (default: the local stack's token)

Exit codes:
  0 run completed and every fork succeeded (or the command succeeded)
  1 some forks failed, or the run failed / exceeded its budget
  2 usage or API error
  3 run cancelled
  130 interrupted (Ctrl-C) while waiting; the run keeps going`;

/** Builds the program; each action stores its exit code in `result`. */
export function createProgram(io: Io, result: { code: number }): Command {
  const program = new Command("forkyard");
  program
    .description("Run N forks of a task on a git repository, each in its own sandbox, through the Forkyard API.")
    .option("--url <url>", "API base URL (env FORKYARD_URL)")
    .option("--token <token>", "API bearer token (env FORKYARD_TOKEN)")
    .configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) })
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .addHelpText("after", EXIT_CODES_HELP);

  /** Wraps a command body: builds its context from the global and local flags, records its exit code. */
  const action =
    <A extends unknown[]>(run: (ctx: Context, ...args: A) => Promise<number>) =>
    async (...args: unknown[]) => {
      const command = args[args.length - 1] as Command;
      const flags = command.optsWithGlobals<{ url?: string; token?: string; json?: boolean }>();
      result.code = await run(createContext(io, flags), ...(args.slice(0, -1) as A));
    };
  const json = () => new Option("--json", "print machine-readable JSON only");

  program
    .command("fork")
    .description("start a run of N forks of a task on a repository, and wait for it")
    .argument("<repo>", "https git URL, or a local path (local stack)")
    .option("-p, --prompt <text>", "agent task: the prompt")
    .option("--title <title>", "the run's title, as lists show it (default: the task's first line)")
    .option("--command <cmd...>", "commands task: one or more shell commands, run in order")
    .option("-b, --branch <branch>", "base branch", "main")
    .option("--commit <sha>", "start every fork at this commit of the branch (a full SHA)")
    .option("-f, --forks <n>", "number of forks (1-100)", parseNumber, 1)
    .option("-m, --model <model>", "agent model (with --prompt)")
    .option("--max-turns <n>", "agent turn limit (with --prompt)", parseNumber)
    .option("--max-tokens <n>", "output tokens one model call may write (with --prompt; default 16000): what each call reserves of a budget", parseNumber)
    .option("--max-concurrent <n>", "forks running at once (1-50)", parseNumber, 5)
    .option("-t, --timeout <seconds>", "timeout per fork, in seconds", parseNumber)
    .option("--budget <usd>", "budget of the whole run, in USD", parseNumber)
    .option("--check <cmd>", "command run after the task; its exit code is the fork's check")
    .option("--artifact <glob...>", "files to keep from each fork (globs relative to the clone, e.g. 'dist/**')")
    .option("--protect <glob...>", "paths restored from the base before each fork's commit and check (e.g. 'tests/**')")
    .option("--template <name>", "sandbox template")
    .option("--branch-prefix <prefix>", "prefix of the forks' work branches")
    .option("--metadata <key=value...>", "metadata of the run", collectKeyValue)
    .option("--idempotency-key <key>", "same key, same run: retrying the command does not start a second run")
    .option("--stop-when-passed", "stop at the first fork whose check passes (cancels the others; needs --check)")
    .option("--snapshots", "store what changed at each step of each fork, so `branch --at-step` can start before any earlier step")
    .option("--wait", "wait for the run to end, showing live progress (default)")
    .option("--no-wait", "print the run id and return at once")
    .addOption(json())
    .action(action((ctx, repo: string, opts: ForkOptions) => forkCommand(ctx, repo, opts)));

  program
    .command("status")
    .description("show a run and each of its forks")
    .argument("<run>", "run id")
    .option("-w, --watch", "redraw until the run ends")
    .addOption(json())
    .action(action((ctx, id: string, opts: { watch?: boolean }) => statusCommand(ctx, id, opts)));

  program
    .command("list")
    .description("list runs, newest first")
    .addOption(new Option("--status <status>", "only runs with this status").choices(RUN_STATUSES))
    .option("--repo <repo>", "only runs of this repository (https git URL, or a local path: `.` is this folder)")
    .option("-s, --search <text>", "only runs whose title or task contains this text")
    .option("--limit <n>", "runs per page (1-100)", parseNumber)
    .option("--cursor <cursor>", "the next page, as printed by the previous one")
    .addOption(json())
    .action(action((ctx, opts: ListOptions) => listCommand(ctx, opts)));

  for (const verb of ["pause", "resume"] as const) {
    program
      .command(verb)
      .description(verb === "pause" ? "stop launching forks (running ones finish)" : "launch forks again")
      .argument("<run>", "run id")
      .addOption(json())
      .action(action((ctx, id: string) => controlCommand(ctx, verb, id)));
  }

  program
    .command("cancel")
    .description("cancel a run (its sandboxes are released), or one fork of it")
    .argument("<run>", "run id")
    .option("--fork <n>", "cancel only fork n", parsePositiveInt)
    .addOption(json())
    .action(action((ctx, id: string, opts: { fork?: number }) => controlCommand(ctx, "cancel", id, opts)));

  program
    .command("delete")
    .description("delete an ended run for good: its forks, events, patches, artifacts and instances (cancel a running one first)")
    .argument("<run>", "run id")
    .addOption(json())
    .action(action((ctx, id: string) => deleteCommand(ctx, id)));

  program
    .command("budget")
    .description("raise a run's budget; forks stopped for budget continue")
    .argument("<run>", "run id")
    .argument("<usd>", "the run's new budget, in USD (more than the current one)", parseNumber)
    .addOption(json())
    .action(action((ctx, id: string, usd: number) => budgetCommand(ctx, id, usd)));

  program
    .command("cleanup")
    .description("kill orphaned sandboxes now (the reaper) and list them")
    .addOption(json())
    .action(action((ctx) => cleanupCommand(ctx)));

  program
    .command("logs")
    .description("each fork's steps and command outputs")
    .argument("<run>", "run id")
    .option("--fork <n>", "only fork n", parsePositiveInt)
    .option("-f, --follow", "keep printing new lines until the run ends")
    .option("--transcript", "with --fork n: what the fork's agent did (prompt, messages, commands, edits and their output)")
    .addOption(json())
    .action(action((ctx, id: string, opts: { fork?: number; follow?: boolean; transcript?: boolean }) => (opts.transcript ? forkTranscriptCommand(ctx, id, opts.fork, opts.follow === true) : logsCommand(ctx, id, opts))));

  program
    .command("artifacts")
    .description("the files a fork stored (the run's artifacts globs); --out downloads them, sha256 checked")
    .argument("<run>", "run id")
    .requiredOption("--fork <n>", "fork number", parsePositiveInt)
    .option("-o, --out <dir>", "download into this directory, keeping paths")
    .addOption(json())
    .action(action((ctx, id: string, opts: { fork: number; out?: string }) => artifactsCommand(ctx, id, opts)));

  program
    .command("diff")
    .description("a fork's patch against its base commit (colored in a terminal; pipe it to git apply)")
    .argument("<run>", "run id")
    .requiredOption("--fork <n>", "fork number", parsePositiveInt)
    .action(action((ctx, id: string, opts: { fork: number }) => diffCommand(ctx, id, opts)));

  program
    .command("compare")
    .description("the forks side by side, best first (check, score, diff, cost) and the winner; with <a> <b>: fork a's files against fork b's")
    .argument("<run>", "run id")
    .argument("[a]", "fork a: diff its work against fork b's", parsePositiveInt)
    .argument("[b]", "fork b", parsePositiveInt)
    .addOption(json())
    .action(action((ctx, id: string, a: number | undefined, b: number | undefined) => compareCommand(ctx, id, a, b)));

  const evalCmd = program
    .command("eval")
    .description("run an eval suite (JSON { name?, tasks, configs? } or JSONL of tasks) and print pass@1, oracle, selected pass and cost per solved task per config")
    .argument("<suite>", "suite file: tasks { id, repo, ref?, commit?, prompt, prepare?, check?, hiddenCheck, hiddenPatch? } (docs/evals.md), or SWE-bench-style JSONL with --swe-bench-template")
    .option("-c, --config <name:model:N...>", "a config (repeatable), e.g. n1:sonnet:1 n4:sonnet:4")
    .option("--name <name>", "the eval's name (default: the file's, else its path)")
    .option("--max-concurrent <n>", "runs in flight at once (1-50)", parseNumber)
    .option("--budget <usd>", "one budget for the whole eval, in USD", parseNumber)
    .option("--swe-bench-template <file>", "the suite is SWE-bench-style JSONL; this JSON file maps each repo to { url?, ref?, prepare?, check?, test: \"… {tests}\" } (docs/evals.md)")
    .option("--no-wait", "start it and print its id")
    .addOption(json())
    .action(action((ctx, file: string, opts: EvalOptions) => evalCommand(ctx, file, opts)));
  evalCmd
    .command("rm")
    .description("delete an ended eval (cancel a running one first); its runs stay, under RUN_RETENTION_DAYS")
    .argument("<eval>", "eval id")
    .addOption(json())
    .action(action((ctx, id: string) => evalRmCommand(ctx, id)));

  program
    .command("branch")
    .description("new forks from a fork's workspace and conversation as they are now (at its next step boundary)")
    .argument("<run>", "run id")
    .requiredOption("--fork <n>", "the fork to branch", parsePositiveInt)
    .option("-n, --count <count>", "how many new forks (1-20)", parsePositiveInt, 1)
    .option("-p, --prompt <prompt>", "what the new forks do next (agent tasks); without it they continue the fork's task")
    .option("--at-step <step>", "start where the fork stood before this earlier step: model-<k> (its k-th model call) or command-<k> (with --snapshots any fork, running or ended; without, a commands fork or an ended agent fork)")
    .option("-m, --model <model>", "another model for the new forks' agent (with --at-step)")
    .addOption(json())
    .action(action((ctx, id: string, opts: { fork: number; count: number; prompt?: string; atStep?: string; model?: string }) => branchCommand(ctx, id, opts)));

  program
    .command("merge")
    .description("a new fork, from the base, whose agent combines the chosen forks' patches; its view says what of each survived")
    .argument("<run>", "run id")
    .addArgument(new Argument("<forks...>", "the forks to combine (2-8, each ended with a patch)").argParser((v: string, previous: number[] = []) => [...previous, parsePositiveInt(v)]))
    .option("-p, --prompt <prompt>", "what the merge should favour, after the run's task")
    .option("-m, --model <model>", "the merge fork's model (default: the run's)")
    .addOption(json())
    .action(action((ctx, id: string, forks: number[], opts: { prompt?: string; model?: string }) => mergeCommand(ctx, id, forks, opts)));

  program
    .command("judge")
    .description("have a model score each fork that succeeded (0-10, with a reason), then compare")
    .argument("<run>", "run id")
    .option("-m, --model <model>", "the judge's model (default: the run's)")
    .option("--rubric <text>", "what matters, in your words")
    .option("--tournament", "then pairwise matches, each pair judged in both orders, which rank the forks")
    .addOption(json())
    .action(action((ctx, id: string, opts: { model?: string; rubric?: string; tournament?: boolean }) => judgeCommand(ctx, id, opts)));

  program
    .command("pick")
    .description("take fork n: prints its pull request's URL (runs on GitHub), else the command that fetches its work into a clone")
    .argument("<run>", "run id")
    .requiredOption("--fork <n>", "fork number", parsePositiveInt)
    .addOption(json())
    .action(action((ctx, id: string, opts: { fork: number }) => pickCommand(ctx, id, opts)));

  const session = program.command("session").description("durable multi-turn agents on a repository (see also `chat`)");
  session
    .command("new")
    .description("start a session on a repository (its sandbox is set up at once)")
    .argument("<repo>", "https git URL, or a local path (local stack)")
    .option("-m, --model <model>", "the agent's model")
    .option("--title <title>", "a title")
    .option("-b, --branch <branch>", "base branch", "main")
    .option("--idle <seconds>", "pause the sandbox after this long with nothing to do", parseNumber)
    .option("--budget <usd>", "budget of the whole session, in USD", parseNumber)
    .addOption(json())
    .action(action((ctx, repo: string, opts: { model?: string; title?: string; branch?: string; idle?: number; budget?: number }) => sessionNewCommand(ctx, repo, opts)));
  session
    .command("send")
    .description("send a message: a turn, queued behind a running one")
    .argument("<session>", "session id")
    .argument("<prompt>", "the message")
    .option("-f, --follow", "print the turn as it runs, until it ends")
    .option("-m, --model <model>", "switch the model from this turn on")
    .addOption(json())
    .action(action((ctx, id: string, prompt: string, opts: { follow?: boolean; model?: string }) => sessionSendCommand(ctx, id, prompt, opts)));
  session
    .command("list")
    .description("list sessions, newest first")
    .addOption(new Option("--status <status>", "only sessions with this status").choices(SESSION_STATUSES))
    .option("--limit <n>", "sessions per page (1-100)", parseNumber)
    .option("--cursor <cursor>", "the next page, as printed by the previous one")
    .addOption(json())
    .action(action((ctx, opts: { status?: string; limit?: number; cursor?: string }) => sessionListCommand(ctx, opts)));
  session
    .command("show")
    .description("a session: status, sandbox, costs and every turn")
    .argument("<session>", "session id")
    .addOption(json())
    .action(action((ctx, id: string) => sessionShowCommand(ctx, id)));
  session
    .command("fork")
    .description("new sessions with this one's history and a copy of its workspace")
    .argument("<session>", "session id")
    .option("-n, --count <n>", "how many (1-10)", parsePositiveInt, 1)
    .option("--title <title>", "their title (each gets \"(fork i of n)\" when there are several)")
    .option("--budget <usd>", "each new session's budget, in USD (default: the parent's remaining budget split evenly)", parseNumber)
    .addOption(json())
    .action(action((ctx, id: string, opts: { count: number; title?: string; budget?: number }) => sessionForkCommand(ctx, id, opts)));
  session
    .command("dequeue")
    .description("remove a message still queued (it never runs)")
    .argument("<session>", "session id")
    .argument("<turn>", "the turn `send` printed", parsePositiveInt)
    .addOption(json())
    .action(action((ctx, id: string, turn: number) => sessionDequeueCommand(ctx, id, turn)));
  for (const [verb, description] of [
    ["pause", "pause the sandbox now (not billed; the next message resumes it)"],
    ["cancel", "stop the running turn at its next step (queued messages stay)"],
    ["rm", "destroy the session: its sandbox is killed, the transcript stays (--purge: delete it for good)"],
  ] as const) {
    const cmd = session.command(verb).description(description).argument("<session>", "session id").addOption(json());
    if (verb === "rm") cmd.option("--purge", "delete the session for good: its transcript, snapshots and index row too");
    cmd.action(action((ctx, id: string, opts: { purge?: boolean }) => sessionControlCommand(ctx, verb, id, opts)));
  }

  program
    .command("chat")
    .description("talk to a session: each line is a message, its turn streams back (Ctrl-D leaves)")
    .argument("<session>", "session id")
    .action(action((ctx, id: string) => chatCommand(ctx, id)));

  return program;
}

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const result = { code: EXIT.ok as number };
  const program = createProgram(io, result);
  try {
    await program.parseAsync(argv);
    return result.code;
  } catch (err) {
    return reportError(err, new Output(io, false));
  }
}
