/**
 * Builds the Worker's static assets into dist/assets (Workers Static Assets, wrangler.toml
 * `[assets]`): the dashboard's client bundled from src/dashboard/client (esbuild), its stylesheet,
 * and the /docs page (Swagger UI from swagger-ui-dist, and its initializer from src/docs/client).
 *
 * Run by wrangler's `[build] command` (so `wrangler dev`, `npm start` and `wrangler deploy` build
 * first) and by vitest.config.ts (so `npm test` on a fresh clone needs no other step). A file is
 * written only when its content changed (atomically), and files no longer built are removed, so a
 * build while a running `wrangler dev` serves the folder never shows it a half-written file.
 */
import { build } from "esbuild";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const ASSETS_DIR = join(ROOT, "dist", "assets");
const SWAGGER_UI = join(ROOT, "node_modules", "swagger-ui-dist");

/** Browser bundles: [entry, output path under dist/assets without its extension]. */
const BUNDLES: [string, string][] = [
  ["src/dashboard/client/main.ts", "dashboard/app"],
  ["src/dashboard/client/app.css", "dashboard/app"],
  ["src/docs/client/swagger-init.ts", "docs/swagger-init"],
];

/** Files copied from swagger-ui-dist as they are (minus their source-map comment: the maps are not served). */
const SWAGGER_FILES = ["swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-bundle.js.LICENSE.txt"];

export async function buildAssets(): Promise<{ files: number; written: number; ms: number }> {
  const started = Date.now();
  const result = await build({
    entryPoints: BUNDLES.map(([entry, out]) => ({ in: join(ROOT, entry), out })),
    outdir: ASSETS_DIR,
    bundle: true,
    format: "iife",
    target: ["es2022", "chrome111", "firefox113", "safari16.2"],
    minify: true,
    legalComments: "none",
    write: false,
    logLevel: "warning",
  });
  const files = new Map<string, Uint8Array | string>(result.outputFiles.map((f) => [relative(ASSETS_DIR, f.path), f.contents]));
  for (const name of SWAGGER_FILES) {
    files.set(`docs/${name}`, readFileSync(join(SWAGGER_UI, name), "utf8").replace(/\n\/[/*]# sourceMappingURL=\S+\s*$/, "\n"));
  }
  let written = 0;
  for (const [path, contents] of files) if (writeIfChanged(join(ASSETS_DIR, path), contents)) written++;
  removeOthers(ASSETS_DIR, new Set(files.keys()));
  return { files: files.size, written, ms: Date.now() - started };
}

function writeIfChanged(path: string, contents: Uint8Array | string): boolean {
  const bytes = typeof contents === "string" ? Buffer.from(contents) : Buffer.from(contents);
  try {
    if (readFileSync(path).equals(bytes)) return false;
  } catch {
    // not there yet
  }
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, bytes);
  renameSync(temp, path);
  return true;
}

function removeOthers(dir: string, keep: Set<string>): void {
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isFile() && !keep.has(relative(dir, path)) && !entry.name.endsWith(".tmp")) rmSync(path);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { files, written, ms } = await buildAssets();
  console.log(`assets: ${files} files in ${relative(ROOT, ASSETS_DIR)} (${written} updated) in ${ms} ms`);
}
