import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import type { Context } from "../context.ts";
import { EXIT } from "../outcome.ts";
import { renderTable } from "../render/table.ts";

/**
 * `artifacts <run> --fork n [--out dir]`: lists the files fork n stored (and what it skipped);
 * with --out, downloads them under dir keeping their paths, checking each one's sha256.
 */
export async function artifactsCommand(ctx: Context, id: string, opts: { fork: number; out?: string }): Promise<number> {
  const { out } = ctx;
  const list = await ctx.client.listArtifacts(id, opts.fork);
  if (opts.out) {
    const root = resolve(opts.out);
    for (const artifact of list.artifacts) {
      const target = resolve(join(root, artifact.path));
      // Paths come from the API; none may land outside the chosen directory.
      if (!target.startsWith(root + sep)) throw new Error(`refusing to write ${artifact.path} outside ${root}`);
      const bytes = await ctx.client.artifact(id, opts.fork, artifact.path);
      const digest = createHash("sha256").update(bytes).digest("hex");
      if (digest !== artifact.sha256) throw new Error(`${artifact.path}: sha256 ${digest} does not match the stored ${artifact.sha256}`);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, bytes);
    }
  }
  if (out.json) {
    out.data({ ...list, ...(opts.out ? { downloadedTo: resolve(opts.out) } : {}) });
    return EXIT.ok;
  }
  if (list.artifacts.length === 0) out.line(`Fork ${opts.fork} of ${id} stored no files.`);
  else for (const line of renderTable([{ header: "PATH" }, { header: "BYTES", align: "right" }, { header: "SHA256" }], list.artifacts.map((a) => [a.path, String(a.bytes), a.sha256.slice(0, 16)]), out.c)) out.line(line);
  for (const s of list.skipped) out.line(out.c.yellow(`skipped ${s.path}: ${s.reason.replace(/_/g, " ")}`));
  if (opts.out && list.artifacts.length > 0) out.line(out.c.dim(`downloaded ${list.artifacts.length} file${list.artifacts.length === 1 ? "" : "s"} to ${resolve(opts.out)} (sha256 checked)`));
  return EXIT.ok;
}

/** `diff <run> --fork n`: the fork's patch, colored in a terminal (`git apply` takes it as printed with --no-color or in a pipe). */
export async function diffCommand(ctx: Context, id: string, opts: { fork: number }): Promise<number> {
  const patch = await ctx.client.patch(id, opts.fork);
  const c = ctx.out.c;
  const color = (line: string): string => {
    if (line.startsWith("diff --git") || line.startsWith("index ") || line.startsWith("+++ ") || line.startsWith("--- ")) return c.bold(line);
    if (line.startsWith("@@")) return c.cyan(line);
    if (line.startsWith("+")) return c.green(line);
    if (line.startsWith("-")) return c.red(line);
    return line;
  };
  ctx.out.stdout.write(patch.endsWith("\n") ? patch.split("\n").slice(0, -1).map(color).join("\n") + "\n" : patch.split("\n").map(color).join("\n"));
  return EXIT.ok;
}
