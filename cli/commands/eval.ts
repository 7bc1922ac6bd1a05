import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { InvalidInputError } from "../../src/core/errors.ts";
import { sweBenchSuite } from "../../src/evals/swe-bench.ts";
import type { Context } from "../context.ts";
import { UsageError } from "../errors.ts";
import { EXIT } from "../outcome.ts";
import { colorStatus, formatDuration, formatUsd } from "../render/format.ts";
import { renderTable } from "../render/table.ts";
import type { ConfigResults, CreateEvalBody, EvalResults, EvalView } from "../types.ts";

export interface EvalOptions {
  config?: string[];
  name?: string;
  maxConcurrent?: number;
  budget?: number;
  wait?: boolean;
  /** The suite is SWE-bench-style JSONL; this file holds its per-repository templates. */
  sweBenchTemplate?: string;
}

/** How often the eval is read while it runs (FORKYARD_EVAL_POLL_MS overrides, for tests). */
const EVAL_POLL_MS = 2000;

type Body = Record<string, unknown> & { tasks?: unknown[]; configs?: unknown[] };

/** `name:model:N` → an eval config. */
export function parseConfigFlag(flag: string): { name: string; model: string; forks: number } {
  const m = /^([A-Za-z0-9._-]+):([^:]+):(\d+)$/.exec(flag);
  if (!m) throw new Error(`--config ${flag}: expected name:model:N (e.g. n4:sonnet:4)`);
  return { name: m[1]!, model: m[2]!, forks: Number(m[3]) };
}

/**
 * The POST /v1/evals body from a suite file — a JSON object (`{ name?, tasks, configs? }`), or
 * JSONL with one task per line — and the flags (`--config` adds configs; `--name`, `--max-concurrent`
 * and `--budget` override the file's).
 */
export function buildEvalBody(text: string, file: string, opts: EvalOptions): CreateEvalBody {
  const trimmed = text.trim();
  const whole = trimmed.includes("\n{") ? undefined : (JSON.parse(trimmed) as Body);
  const body: Body = whole && Array.isArray(whole.tasks) ? whole : { tasks: trimmed.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as unknown) };
  return withFlags(body, file, opts);
}

/**
 * The body from SWE-bench-style JSONL and the per-repository template file (`--swe-bench-template`;
 * src/evals/swe-bench.ts converts them): a bad line or template is a usage error naming it.
 */
export function buildSweBenchBody(jsonl: string, file: string, templateText: string, templateFile: string, opts: EvalOptions): CreateEvalBody {
  let templates: unknown;
  try {
    templates = JSON.parse(templateText);
  } catch (err) {
    throw new UsageError(`${templateFile}: not JSON (${(err as Error).message}).`);
  }
  try {
    return withFlags({ tasks: sweBenchSuite(jsonl, templates, { jsonl: file, templates: templateFile }) }, file, opts);
  } catch (err) {
    throw err instanceof InvalidInputError ? new UsageError(err.message) : err;
  }
}

/** `--config` adds configs; `--name`, `--max-concurrent` and `--budget` override the file's. */
function withFlags(body: Body, file: string, opts: EvalOptions): CreateEvalBody {
  const configs = [...(body.configs ?? []), ...(opts.config ?? []).map(parseConfigFlag)];
  return {
    ...body,
    name: opts.name ?? (body.name as string | undefined) ?? file,
    configs,
    ...(opts.maxConcurrent !== undefined ? { maxConcurrent: opts.maxConcurrent } : {}),
    ...(opts.budget !== undefined ? { budgetUsd: opts.budget } : {}),
  } as CreateEvalBody;
}

/** `eval <suite>`: starts an eval suite, shows its progress until it ends, then the figures per config. */
export async function evalCommand(ctx: Context, file: string, opts: EvalOptions): Promise<number> {
  const text = await readFile(resolve(ctx.io.cwd, file), "utf8");
  const template = opts.sweBenchTemplate;
  const body = template ? buildSweBenchBody(text, file, await readFile(resolve(ctx.io.cwd, template), "utf8"), template, opts) : buildEvalBody(text, file, opts);
  let view = await ctx.client.createEval(body);
  const { out } = ctx;
  if (!out.json) out.line(`eval ${view.id}: ${view.progress.runs} runs (${view.tasks.length} tasks × ${view.configs.length} configs)`);
  if (opts.wait === false) {
    if (out.json) out.data(view);
    return EXIT.ok;
  }
  let last = "";
  while (view.status === "running") {
    await new Promise((r) => setTimeout(r, Number(ctx.io.env.FORKYARD_EVAL_POLL_MS) || EVAL_POLL_MS));
    view = await ctx.client.getEval(view.id);
    const line = progressLine(view);
    if (!out.json && line !== last) out.line(line);
    last = line;
  }
  const results = await ctx.client.evalResults(view.id);
  if (out.json) {
    out.data(results);
  } else {
    out.line(`eval ${view.id}: ${colorStatus(view.status, out.c)} · spent ${formatUsd(view.spentUsd)}`);
    for (const line of resultsTable(results, out.c)) out.line(line);
  }
  return view.status === "completed" ? EXIT.ok : EXIT.failed;
}

/** `[#####-----] 5/10 runs done · 2 running · 1 checking · $0.42` */
export function progressLine(view: EvalView): string {
  const { runs, done, failed, skipped, running, checking } = view.progress;
  const ended = done + failed + skipped;
  const width = 20;
  const filled = runs ? Math.round((ended / runs) * width) : width;
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${ended}/${runs} runs done · ${running} running · ${checking} checking · ${formatUsd(view.spentUsd)}`;
}

const pct = (i: ConfigResults["passAt1"]) => (i.value === null ? "-" : `${(i.value * 100).toFixed(0)}% [${((i.low ?? 0) * 100).toFixed(0)}–${((i.high ?? 0) * 100).toFixed(0)}]`);

/** One row per config: the figures with their 95 % intervals (docs/evals.md). */
export function resultsTable(results: EvalResults, c: Parameters<typeof renderTable>[2]): string[] {
  const rows = results.configs.map((r) => [
    r.config,
    r.model,
    String(r.forks),
    `${r.solved}/${r.tasks}`,
    pct(r.passAt1),
    pct(r.oraclePassAtN),
    pct(r.selectedPass),
    pct(r.selectorAccuracy),
    r.judgeAuc.value === null ? "-" : r.judgeAuc.value.toFixed(2),
    r.costPerSolvedTaskUsd === null ? "-" : formatUsd(r.costPerSolvedTaskUsd),
    r.timePerSolvedTaskMs === null ? "-" : formatDuration(r.timePerSolvedTaskMs),
  ]);
  const columns = ["CONFIG", "MODEL", "N", "SOLVED", "PASS@1", "ORACLE", "SELECTED", "SEL. ACC.", "AUC", "$/SOLVED", "TIME/SOLVED"].map((header) => ({ header }));
  return renderTable(columns, rows, c);
}

/** `eval rm <id>`: deletes an ended eval (DELETE /v1/evals/:id; 409 while it runs: cancel it first). Its runs stay, under run retention. */
export async function evalRmCommand(ctx: Context, id: string): Promise<number> {
  const deleted = await ctx.client.deleteEval(id);
  if (ctx.out.json) ctx.out.data(deleted);
  else ctx.out.line(`eval ${deleted.id} deleted ${ctx.out.c.dim(`(${deleted.runsReleased} runs released to run retention)`)}`);
  return EXIT.ok;
}
