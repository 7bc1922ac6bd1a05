import { homedir } from "node:os";
import { resolve } from "node:path";
import type { Context } from "../context.ts";
import { UsageError } from "../errors.ts";
import { EXIT } from "../outcome.ts";
import type { CreateRunBody } from "../types.ts";
import { watchRun } from "./watch.ts";

export interface ForkOptions {
  title?: string;
  prompt?: string;
  command?: string[];
  branch?: string;
  commit?: string;
  forks?: number;
  model?: string;
  maxTurns?: number;
  maxTokens?: number;
  maxConcurrent?: number;
  timeout?: number;
  budget?: number;
  check?: string;
  artifact?: string[];
  protect?: string[];
  template?: string;
  branchPrefix?: string;
  metadata?: Record<string, string>;
  idempotencyKey?: string;
  stopWhenPassed?: boolean;
  snapshots?: boolean;
  wait?: boolean;
  json?: boolean;
}

/** A URL (`https://…`, `file://…`) or scp-style (`git@host:path`) repo is sent as is; anything else is a local path. */
export function resolveRepo(repo: string, cwd: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(repo) || /^[^/\s]+@[^/:\s]+:/.test(repo)) return repo;
  if (repo === "~" || repo.startsWith("~/")) return resolve(homedir(), repo.slice(2));
  return resolve(cwd, repo);
}

/** Maps `fork` arguments to the POST /v1/runs body; only the API judges ranges. */
export function buildCreateRunBody(repo: string, opts: ForkOptions, cwd: string): CreateRunBody {
  const commands = opts.command ?? [];
  if (opts.prompt !== undefined && commands.length > 0) throw new UsageError("give either --prompt or --command, not both.");
  if (opts.prompt === undefined && commands.length === 0) throw new UsageError("give the task: --prompt <text> or --command <cmd...>.");
  if (opts.prompt === undefined && (opts.model !== undefined || opts.maxTurns !== undefined || opts.maxTokens !== undefined)) throw new UsageError("--model, --max-turns and --max-tokens go with --prompt.");

  const task: CreateRunBody["task"] =
    opts.prompt !== undefined
      ? { prompt: opts.prompt, ...(opts.model !== undefined && { model: opts.model }), ...(opts.maxTurns !== undefined && { maxTurns: opts.maxTurns }), ...(opts.maxTokens !== undefined && { maxTokens: opts.maxTokens }) }
      : { commands };
  const body: CreateRunBody = { repo: resolveRepo(repo, cwd), task };
  if (opts.title !== undefined) body.title = opts.title;
  if (opts.branch !== undefined) body.branch = opts.branch;
  if (opts.commit !== undefined) body.commit = opts.commit;
  if (opts.forks !== undefined) body.forks = opts.forks;
  if (opts.maxConcurrent !== undefined) body.maxConcurrent = opts.maxConcurrent;
  if (opts.timeout !== undefined) body.timeoutSeconds = opts.timeout;
  if (opts.budget !== undefined) body.budgetUsd = opts.budget;
  if (opts.check !== undefined) body.check = opts.check;
  if (opts.stopWhenPassed) body.stopWhen = "first_check_pass";
  if (opts.snapshots) body.snapshots = "steps";
  if (opts.artifact?.length) body.artifacts = opts.artifact;
  if (opts.protect?.length) body.protectedPaths = opts.protect;
  if (opts.template !== undefined) body.template = opts.template;
  if (opts.branchPrefix !== undefined) body.branchPrefix = opts.branchPrefix;
  if (opts.metadata !== undefined) body.metadata = opts.metadata;
  return body;
}

export async function forkCommand(ctx: Context, repo: string, opts: ForkOptions): Promise<number> {
  const body = buildCreateRunBody(repo, opts, ctx.io.cwd);
  const created = await ctx.client.createRun(body, { idempotencyKey: opts.idempotencyKey });
  const { out } = ctx;
  if (opts.wait === false) {
    if (out.json) out.data(created);
    else out.line(`run ${created.id} started: ${created.forks} fork${created.forks === 1 ? "" : "s"}. Watch it: forkyard status ${created.id} --watch`);
    return EXIT.ok;
  }
  out.line(`run ${out.c.bold(created.id)}: ${created.forks} fork${created.forks === 1 ? "" : "s"} of ${body.repo}@${body.branch ?? "main"}`);
  return watchRun(ctx, created.id);
}
