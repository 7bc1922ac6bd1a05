/**
 * The `forkyard` CLI against the real Worker: the local sandbox server and `wrangler dev` are
 * started once, and the CLI runs as a child process, exactly as a user runs it. The tests of this
 * file run in order (vitest's default) and share the stack.
 */
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_E2B_API_KEY, ROOT, startSandboxServer, startWorker, workerVars, type StackProcess } from "../../scripts/local-stack.ts";
import { startScriptedAnthropic, type ScriptedAnthropic, type ScriptedReply } from "../support/anthropic-server.ts";
import { TEST_ANTHROPIC_API_KEY } from "../support/constants.ts";
import { createTestRepo } from "../support/test-repo.ts";
import { editTurn } from "../support/agent-turns.ts";

const TOKEN = "cli-test-token";
const CLI = join(ROOT, "cli", "forkyard.mjs");

let sandbox: StackProcess | undefined;
let anthropic: ScriptedAnthropic | undefined;
let worker: StackProcess | undefined;
let tmp: string;
let repoRoot: string;
let repo: string;


interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `forkyard <args>`; `onStdout` sees output as it arrives. */
function cli(args: string[], opts: { token?: string; input?: string; onStdout?: (text: string, child: ReturnType<typeof spawn>) => void } = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, FORKYARD_URL: worker!.url, FORKYARD_TOKEN: opts.token ?? TOKEN };
  delete env.FORCE_COLOR;
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env, stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
  if (opts.input !== undefined) child.stdin!.end(opts.input);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => {
    stdout += d.toString();
    opts.onStdout?.(stdout, child);
  });
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((res) => child.on("close", (code) => res({ code, stdout, stderr })));
}

const parse = <T = Record<string, unknown>>(r: CliResult): T => {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  }
};

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "forkyard-cli-"));
  // Not under /tmp: isolated sandboxes get a private /tmp, so they could not clone from there.
  const base = resolve(ROOT, ".test-data");
  mkdirSync(base, { recursive: true });
  repoRoot = mkdtempSync(join(base, "cli-"));
  // Exposed to sandboxes, whose commands run as an unprivileged user: readable by others.
  chmodSync(repoRoot, 0o755);
  repo = createTestRepo(join(repoRoot, "repo"));
  sandbox = await startSandboxServer({ dataDir: join(tmp, "sandboxes"), apiKey: LOCAL_E2B_API_KEY, exposePaths: [repoRoot], quiet: true });
  anthropic = await startScriptedAnthropic({ apiKey: TEST_ANTHROPIC_API_KEY });
  const env = { FORKYARD_API_TOKENS: TOKEN, ANTHROPIC_API_KEY: TEST_ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL: anthropic.url };
  worker = await startWorker({
    stateDir: join(tmp, "state"),
    vars: { ...workerVars({ backend: "local", sandboxUrl: sandbox.url, env }), RECONCILE_INTERVAL_SECONDS: "1" },
    quiet: true,
  });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await sandbox?.stop();
  await anthropic?.close();
  rmSync(tmp, { recursive: true, force: true });
  rmSync(repoRoot, { recursive: true, force: true });
}, 30_000);

describe("forkyard CLI against the local stack", () => {
  let firstRun = "";
  /** A run whose fork 1 changed README.md and added out/app.txt. */
  let changedRun = "";

  it("fork --json waits for the run and prints the completed RunView (exit 0)", async () => {
    const r = await cli(["fork", repo, "--command", "echo hi", "-f", "2", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const view = parse<{ id: string; status: string; forks: { status: string }[] }>(r);
    expect(view.status).toBe("completed");
    expect(view.forks.map((f) => f.status)).toEqual(["succeeded", "succeeded"]);
    firstRun = view.id;
  });

  it("piped, fork prints plain progress lines and a summary", async () => {
    const r = await cli(["fork", repo, "--command", "echo plain", "-f", "2"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain("\x1b[");
    expect(r.stdout).toMatch(/^run \w+: 2 forks of .*@main$/m);
    expect(r.stdout).toMatch(/^fork 1: running/m);
    expect(r.stdout).toMatch(/^fork 2: succeeded/m);
    expect(r.stdout).toMatch(/FORK\s+STATUS\s+STEP\s+ATTEMPTS\s+ELAPSED\s+DIFF\s+CHECK\s+COST\s+ERROR/);
    expect(r.stdout).toMatch(/^run \w+ · completed · 2\/2 succeeded · \$/m);
    expect(r.stdout.trimEnd().split("\n").at(-1)).toMatch(/^winner: fork [12] · no check$/);
  });

  it("artifacts lists and downloads a fork's files (sha256 checked); diff prints its patch", async () => {
    const made = await cli(["fork", repo, "--command", "mkdir -p out && printf 'built\\n' > out/app.txt && echo more >> README.md", "--artifact", "out/**", "--json"]);
    expect(made.code, made.stderr).toBe(0);
    const id = parse<{ id: string }>(made).id;
    changedRun = id;
    const dir = join(tmp, "downloaded");
    const listed = await cli(["artifacts", id, "--fork", "1", "--out", dir]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^out\/app\.txt\s+6\s+[0-9a-f]{16}/m);
    expect(readFileSync(join(dir, "out", "app.txt"), "utf8")).toBe("built\n");
    const diff = await cli(["diff", id, "--fork", "1"]);
    expect(diff.code, diff.stderr).toBe(0);
    expect(diff.stdout).toContain("diff --git a/README.md b/README.md");
    expect(diff.stdout).toContain("+more");
    const none = await cli(["diff", firstRun, "--fork", "1"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("not_found");
  });

  it("pick prints the command that fetches a fork's work (not on GitHub): run in a clone, it makes the fork's branch with its changes", async () => {
    const picked = await cli(["pick", changedRun, "--fork", "1"]);
    expect(picked.code, picked.stderr).toBe(0);
    const command = picked.stdout.trim();
    expect(command).toContain(`git fetch ${repo} main && git switch -c forkyard/${changedRun}/1 FETCH_HEAD`);
    const clone = join(tmp, "pick-clone");
    execFileSync("git", ["clone", "--quiet", repo, clone]);
    const identity = { GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@e", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@e" };
    execFileSync("sh", ["-c", command], { cwd: clone, env: { ...process.env, ...identity, FORKYARD_TOKEN: TOKEN }, stdio: "pipe" });
    const git = (...args: string[]) => execFileSync("git", args, { cwd: clone, encoding: "utf8" }).trim();
    expect(git("branch", "--show-current")).toBe(`forkyard/${changedRun}/1`);
    expect(git("log", "-1", "--format=%s")).toBe(`forkyard: run ${changedRun} fork 1`);
    expect(git("status", "--porcelain")).toBe("");
    expect(readFileSync(join(clone, "README.md"), "utf8")).toMatch(/more\n$/);
    expect(readFileSync(join(clone, "out", "app.txt"), "utf8")).toBe("built\n");

    const json = parse<{ n: number; fetch: string; patch: string; pullRequest?: unknown }>(await cli(["pick", changedRun, "--fork", "1", "--json"]));
    expect(json).toEqual({ n: 1, branch: `forkyard/${changedRun}/1`, fetch: command, patch: `${worker!.url}/v1/runs/${changedRun}/forks/1/patch` });
    const nothing = await cli(["pick", firstRun, "--fork", "1"]);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain("nothing_to_pick");
  });

  it("session new / send --follow / chat / fork / show / rm: a conversation with a durable agent", async () => {
    const created = await cli(["session", "new", repo, "--title", "cli session", "--json"]);
    expect(created.code, created.stderr).toBe(0);
    const { id } = parse<{ id: string }>(created);
    anthropic!.setScript([
      { content: [{ type: "tool_use", name: "str_replace_based_edit_tool", input: { command: "create", path: "notes.txt", file_text: "from the cli\n" } }] },
      { content: [{ type: "text", text: "Wrote notes.txt for you." }] },
      { content: [{ type: "tool_use", name: "bash", input: { command: "cat notes.txt" } }] },
      { content: [{ type: "text", text: "It says: from the cli." }] },
    ]);
    const sent = await cli(["session", "send", id, "Write notes.txt", "--follow"]);
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toContain("⚙ str_replace_based_edit_tool create notes.txt");
    expect(sent.stdout).toContain("Wrote notes.txt for you.");

    const chat = await cli(["chat", id], { input: "What is in notes.txt?\n" });
    expect(chat.code, chat.stderr).toBe(0);
    expect(chat.stdout).toContain("⚙ bash cat notes.txt");
    expect(chat.stdout).toContain("→ from the cli");
    expect(chat.stdout).toContain("It says: from the cli.");

    const shown = await cli(["session", "show", id]);
    expect(shown.stdout).toMatch(/#1 succeeded/);
    expect(shown.stdout).toMatch(/#2 succeeded/);
    const forked = await cli(["session", "fork", id, "-n", "2", "--json"]);
    expect(forked.code, forked.stderr).toBe(0);
    const children = parse<{ sessions: { id: string; turns: unknown[] }[] }>(forked).sessions;
    expect(children.map((s) => s.turns.length)).toEqual([2, 2]);
    for (const s of [id, ...children.map((c) => c.id)]) expect((await cli(["session", "rm", s, "--json"])).code).toBe(0);
    const listed = parse<{ sessions: { id: string; status: string }[] }>(await cli(["session", "list", "--status", "destroyed", "--json"]));
    expect(listed.sessions.map((s) => s.id)).toEqual(expect.arrayContaining([id, ...children.map((c) => c.id)]));
  });

  it("--stop-when-passed stops at the first fork whose check passes (exit 0); compare shows the forks best first and the winner", async () => {
    const r = await cli(["fork", repo, "--command", 'if [ "$FORKYARD_FORK" = 1 ]; then sleep 60; fi; echo ok > done.txt', "-f", "2", "--check", "test -s done.txt", "--stop-when-passed", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const view = parse<{ id: string; winner: number; forks: { status: string }[] }>(r);
    expect(view.winner).toBe(2);
    expect(view.forks.map((f) => f.status)).toEqual(["cancelled", "succeeded"]);
    const compared = await cli(["compare", view.id]);
    expect(compared.code, compared.stderr).toBe(0);
    expect(compared.stdout).toMatch(/RANK\s+FORK\s+STATUS\s+CHECK\s+SCORE\s+DIFF\s+COST\s+BRANCH/);
    expect(compared.stdout).toMatch(/^1\s+2 ⭐\s+succeeded\s+pass/m);
    expect(compared.stdout).toMatch(/^-\s+1\s+cancelled/m);
    expect(compared.stdout).toContain(`winner: fork 2 · forkyard diff ${view.id} --fork 2`);
    anthropic!.setScript([{ content: [{ type: "text", text: '{"score": 7, "reason": "does the job"}' }] }]);
    const judged = await cli(["judge", view.id, "--rubric", "small is beautiful"]);
    expect(judged.code, judged.stderr).toBe(0);
    expect(judged.stdout).toContain("fork 2: 7/10 — does the job");
    expect(judged.stdout).toMatch(/^1\s+2 ⭐\s+succeeded\s+pass\s+7\/10/m);
  });

  it("branch forks a running fork: the new forks run the rest of its commands from its workspace", async () => {
    const started = parse<{ id: string }>(await cli(["fork", repo, "--command", "echo one > a.txt", "sleep 3", "cat a.txt", "--no-wait", "--json"]));
    const running = async () => {
      const res = await fetch(`${worker!.url}/v1/runs/${started.id}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
      const view = (await res.json()) as { forks: { steps: { name: string; status: string }[] }[] };
      return view.forks[0]!.steps.some((s) => s.name === "command-2" && s.status === "running");
    };
    for (let i = 0; i < 100 && !(await running()); i++) await new Promise((r) => setTimeout(r, 100));
    const branched = await cli(["branch", started.id, "--fork", "1", "-n", "2"]);
    expect(branched.code, branched.stderr).toBe(0);
    expect(branched.stdout).toContain("forks 2, 3 branched from fork 1");
    const status = await cli(["status", started.id, "--watch", "--json"]);
    const view = parse<{ forks: { n: number; status: string; parent?: { n: number; turn: number }; commands: { stdoutTail: string }[] }[] }>(status);
    expect(view.forks.map((f) => [f.n, f.status, f.parent?.turn])).toEqual([
      [1, "succeeded", undefined],
      [2, "succeeded", 2],
      [3, "succeeded", 2],
    ]);
    expect(view.forks[2]!.commands.map((c) => c.stdoutTail)).toEqual(["one\n"]);
  });

  it("a failing command exits 1", async () => {
    const r = await cli(["fork", repo, "--command", "echo out; exit 3", "--json"]);
    expect(r.code, r.stderr).toBe(1);
    const view = parse<{ status: string; forks: { status: string; error?: { code: string } }[] }>(r);
    expect(view.status).toBe("failed");
    expect(view.forks[0]?.error?.code).toBe("command_failed");
  });

  it("status, logs and list show the first run", async () => {
    const [status, logs, follow, list] = await Promise.all([
      cli(["status", firstRun]),
      cli(["logs", firstRun, "--fork", "2"]),
      cli(["logs", firstRun, "--follow"]),
      cli(["list", "--json", "--limit", "10"]),
    ]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(`run ${firstRun} · completed`);
    expect(status.stdout).toMatch(/^\s+1\s+succeeded/m);

    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/\$ echo hi\n\s+hi\n\s+exit 0/);
    expect(logs.stdout).not.toContain("fork 1 ");

    expect(follow.code, follow.stderr).toBe(0);
    expect(follow.stdout).toContain("fork 1 │ hi");
    expect(follow.stdout).toContain(`run ${firstRun}: completed`);

    expect(list.code, list.stderr).toBe(0);
    const page = parse<{ runs: { id: string; status: string }[] }>(list);
    expect(page.runs.find((run) => run.id === firstRun)?.status).toBe("completed");
  });

  it("logs --follow prints a live run's output as it comes, until the run ends", async () => {
    const started = parse<{ id: string }>(await cli(["fork", repo, "--command", "sleep 1", "echo followed", "--no-wait", "--json"]));
    const follow = await cli(["logs", started.id, "--follow", "--fork", "1"]);
    expect(follow.code, follow.stderr).toBe(0);
    expect(follow.stdout).toMatch(/\$ sleep 1\n(.*\n)*\$ echo followed\nfollowed\nexit 0/);
    expect(follow.stdout).toContain(`run ${started.id}: completed`);
  });

  it("Ctrl-C stops waiting (130); --no-wait returns at once; cancel ends the run (status exits 3)", async () => {
    const watched = await cli(["fork", repo, "--command", "sleep 30"], {
      onStdout: (text, child) => {
        if (/fork 1: running command-1/.test(text)) child.kill("SIGINT");
      },
    });
    expect(watched.code).toBe(130);
    const id = /^run (\w+):/m.exec(watched.stdout)?.[1];
    expect(watched.stderr).toContain(`forkyard cancel ${id}`);

    // Returns at once: the run it prints is still running (its forks sleep 30 s).
    const started = await cli(["fork", repo, "--command", "sleep 30", "-f", "2", "--no-wait", "--json"]);
    expect(started.code, started.stderr).toBe(0);
    const other = parse<{ id: string; status: string }>(started);
    expect(other.status).toBe("running");

    const forkCancel = await cli(["cancel", other.id, "--fork", "2", "--json"]);
    expect(forkCancel.code, forkCancel.stderr).toBe(0);
    expect(parse<{ forks: { status: string }[] }>(forkCancel).forks[1]?.status).toBe("cancelled");

    await Promise.all(
      [id!, other.id].map(async (runId) => {
        const cancel = await cli(["cancel", runId]);
        expect(cancel.code, cancel.stderr).toBe(0);
        const status = await cli(["status", runId, "--json"]);
        expect(status.code).toBe(3);
        expect(parse(status).status).toBe("cancelled");
      }),
    );
  });

  it("an agent run over budget stops the wait (exit 1); `budget` raises it; status shows what the agent did", async () => {
    // The first model call costs about $0.24 of the $0.3 budget, so the second one does not fit.
    const expensive = editTurn({ input_tokens: 80_000, output_tokens: 100, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
    const summary: ScriptedReply = {
      content: [{ type: "text", text: "Created hello.txt with a greeting." }],
      usage: { input_tokens: 400, output_tokens: 30, cache_creation_input_tokens: 0, cache_read_input_tokens: 2000 },
    };
    anthropic!.setScript([expensive, summary]);

    const stopped = await cli(["fork", repo, "-p", "Add hello.txt", "-m", "sonnet", "--max-turns", "5", "--budget", "0.3"]);
    expect(stopped.code, stopped.stderr).toBe(1);
    expect(stopped.stdout).toMatch(/over budget: spent \$0\.\d+ of \$0\.3000; raising the budget resumes the run/);
    expect(stopped.stdout).toMatch(/agents:\n\s+fork 1\s+claude-\S+ · 1 turn · 1 tool call so far · model \$0\.\d+\n/);
    const id = /^run (\w+):/m.exec(stopped.stdout)?.[1];
    expect(id).toBeTruthy();

    // Raise only once the fork waits for budget (its sandbox paused).
    for (let i = 0; ; i++) {
      const view = parse<{ forks: { steps: { name: string; status: string }[] }[] }>(await cli(["status", id!, "--json"]));
      if (view.forks[0]?.steps.some((s) => s.name === "budget-wait-2-1" && s.status === "succeeded")) break;
      if (i > 60) throw new Error("the fork never waited for budget");
      await new Promise((r) => setTimeout(r, 500));
    }
    const [refused, raised] = [await cli(["budget", id!, "0.2"]), await cli(["budget", id!, "5"])];
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^error: invalid_input: .*\(field: budgetUsd\)$/m);
    expect(raised.code, raised.stderr).toBe(0);
    expect(raised.stdout).toMatch(new RegExp(`^run ${id}: budget \\$5\\.00, spent \\$0\\.\\d+ · 1 fork waiting for budget continue · running$`, "m"));

    const watched = await cli(["status", id!, "--watch"]);
    expect(watched.code, watched.stderr).toBe(0);
    expect(watched.stdout).toMatch(/agents:\n\s+fork 1\s+claude-\S+ · 2 turns · 1 tool call · tokens 80.4k in \/ 130 out \(cache 2k read, 0 written\) · model \$0\.\d+\n/);
    expect(watched.stdout).toContain("Created hello.txt with a greeting.");

    const [status, logs] = await Promise.all([cli(["status", id!]), cli(["logs", id!])]);
    expect(status.stdout).toContain("prompt: Add hello.txt · model claude-");
    expect(status.stdout).toContain("max 5 turns");
    expect(status.stdout).toMatch(/^agents$/m);
    expect(status.stdout).toMatch(/^\s+Created hello.txt with a greeting.$/m);
    expect(logs.stdout).toMatch(/agent: claude-\S+ · 2 turns · 1 tool call · tokens/);
    expect(logs.stdout).toMatch(/^\s+Created hello.txt with a greeting.$/m);
  });

  it("cleanup --json reports what the reaper killed", async () => {
    const r = await cli(["cleanup", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const result = parse<{ count: number; killed: unknown[] }>(r);
    expect(result.killed).toHaveLength(result.count);
  });

  it("bad input exits 2 naming the API's field; a wrong token exits 2 with unauthorized", async () => {
    const [bad, unauthorized, missing] = await Promise.all([
      cli(["fork", repo, "--command", "echo", "-f", "0"]),
      cli(["list"], { token: "wrong-token" }),
      cli(["status", "rdoesnotexist000000000"]),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: invalid_input: .*\(field: forks\)$/m);

    expect(unauthorized.code).toBe(2);
    expect(unauthorized.stderr).toContain("error: unauthorized:");
    expect(unauthorized.stdout + unauthorized.stderr).not.toContain("wrong-token");

    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("error: not_found:");
  });
});
