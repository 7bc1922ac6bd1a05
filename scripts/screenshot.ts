/**
 * `npm run screenshot`: the README's picture, made the same way every time. Starts the local stack
 * on a throw-away state (sandbox server and `wrangler dev`, free ports), makes a repository with
 * plain `git init`, runs six forks of commands (three at a time, so the shared clock shows queued
 * time; one fails its check), opens the run page in headless Chromium (/usr/bin/chromium, driven
 * by playwright-core) and saves docs/screenshot.png (and docs/screenshot-compare.png, the compare
 * page). Then an eval of the bundled suite (test/support/eval-suite.ts: four tasks, N = 1, 2 and 4,
 * the scripted model answering as `npm run bench`'s eval does) and its page with the charts:
 * docs/screenshot-eval.png. Needs chromium: `apt-get install chromium`. Everything it started is
 * stopped at the end.
 */
import { execFileSync } from "node:child_process";
import { accessSync, constants, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Page } from "playwright-core";
import { forkyardClient, waitForTerminal } from "./api-client.ts";
import { solve } from "../bench/eval-suite.ts";
import { startScriptedAnthropic, type ScriptedAnthropic } from "../test/support/anthropic-server.ts";
import { createEvalRepos } from "../test/support/eval-repos.ts";
import { bundledEvalTasks } from "../test/support/eval-suite.ts";
import { LOCAL_API_TOKEN, LOCAL_E2B_API_KEY, ROOT, runCheck, scratchDir, startSandboxServer, startWorker, workerVars, type StackProcess } from "./local-stack.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const OUT = join(ROOT, "docs", "screenshot.png");
const OUT_COMPARE = join(ROOT, "docs", "screenshot-compare.png");
const OUT_EVAL = join(ROOT, "docs", "screenshot-eval.png");
const MODEL_KEY = "sk-ant-screenshot-0000";

const stack: StackProcess[] = [];
/** The scripted model the eval's agents call. */
let model: ScriptedAnthropic | undefined;
const base = scratchDir("screenshot");

/** A small repository with a test that fork 4 breaks. */
function makeRepo(dir: string): string {
  const git = (...args: string[]) => execFileSync("git", args, { cwd: dir, stdio: "pipe" });
  execFileSync("mkdir", ["-p", dir]);
  git("init", "--quiet");
  git("config", "user.email", "demo@example.com");
  git("config", "user.name", "Demo");
  writeFileSync(join(dir, "README.md"), "# pager\n\nSplits a list into pages.\n");
  writeFileSync(join(dir, "pager.sh"), '#!/bin/sh\n# pages N SIZE: how many pages N items fill\necho $(( ($1 + $2) / $2 ))\n');
  const expect = (n: number, size: number, pages: number) => `[ "$(sh pager.sh ${n} ${size})" = ${pages} ] || { echo "pages ${n} ${size}: expected ${pages}, got $(sh pager.sh ${n} ${size})"; exit 1; }\n`;
  writeFileSync(join(dir, "test.sh"), "#!/bin/sh\n" + expect(10, 5, 2) + expect(11, 5, 3) + 'echo "all tests passed"\n');
  git("add", "-A");
  git("commit", "--quiet", "-m", "pager with an off-by-one");
  return dir;
}

async function main(): Promise<boolean> {
  accessSync(CHROMIUM, constants.X_OK);
  const repo = makeRepo(join(base, "pager"));
  const suite = createEvalRepos(join(base, "evals"));
  const anthropic = await startScriptedAnthropic({ apiKey: MODEL_KEY });
  model = anthropic;
  anthropic.setScript(Array.from({ length: 200 }, () => solve));
  const sandbox = await startSandboxServer({ dataDir: join(base, "sandboxes"), apiKey: LOCAL_E2B_API_KEY, exposePaths: [base], quiet: true });
  stack.push(sandbox);
  const worker = await startWorker({ stateDir: join(base, "state"), vars: { ...workerVars({ backend: "local", sandboxUrl: sandbox.url, env: { ANTHROPIC_API_KEY: MODEL_KEY, ANTHROPIC_BASE_URL: anthropic.url } }), LOG_LEVEL: "warn" }, quiet: true });
  stack.push(worker);
  const client = forkyardClient(worker.url, LOCAL_API_TOKEN);
  // Six attempts at the fix, three at a time; fork 4 gets it wrong.
  const fix = [
    `sleep $((FORKYARD_FORK % 3)) && if [ "$FORKYARD_FORK" = 4 ]; then sed -i 's| + [$]2)|)|' pager.sh; else sed -i 's|+ [$]2)|+ $2 - 1)|' pager.sh; fi`,
    'echo "fork $FORKYARD_FORK: fixed the rounding in pager.sh" | tee -a NOTES.md',
  ];
  const { id } = await client.createRun({ repo, title: "Fix the off-by-one in pager.sh", forks: 6, maxConcurrent: 3, task: { commands: fix }, check: "sh test.sh" });
  const view = await waitForTerminal(client, id, 120_000);
  console.log(`screenshot: run ${id} ${view.status}`);

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--headless", "--disable-gpu"] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1500 }, colorScheme: "light" });
    // The token, as the token form would keep it, before the page's own script reads it.
    await page.addInitScript((token) => localStorage.setItem("forkyard.token", token), LOCAL_API_TOKEN);
    await page.goto(`${worker.url}/#/runs/${id}`);
    await page.locator("#run-status").waitFor();
    await page.locator("details.clock .clock-row").first().waitFor();
    await page.locator(".live", { hasText: "Finished" }).waitFor();
    await page.screenshot({ path: OUT, fullPage: false });
    await page.goto(`${worker.url}/#/runs/${id}/compare`);
    await page.locator(".file-row .ndiff-line").first().waitFor();
    // The winner against the fork whose check failed.
    await page.getByLabel("Right fork").selectOption("4");
    await page.locator('.split .pane[data-fork="4"]').waitFor();
    await page.setViewportSize({ width: 1280, height: 1100 });
    await page.locator(".pickers").evaluate((el) => el.scrollIntoView({ block: "start" }));
    await page.screenshot({ path: OUT_COMPARE, fullPage: false });
    await evalShot(page, client, suite, worker.url);
  } finally {
    await browser.close();
  }
  console.log(`screenshot: wrote ${OUT}, ${OUT_COMPARE} and ${OUT_EVAL}`);
  return true;
}

/** The bundled suite under N = 1, 2 and 4, then its eval page: the charts and the results. */
async function evalShot(page: Page, client: ReturnType<typeof forkyardClient>, suite: string, url: string): Promise<void> {
  const configs = [1, 2, 4].map((n) => ({ name: `n${n}`, model: "sonnet", forks: n }));
  const { id } = await client.createEval({ name: "Bundled suite: N = 1, 2, 4", tasks: bundledEvalTasks(suite), configs, maxConcurrent: 4 });
  const started = Date.now();
  for (let view = await client.getEval(id); view.status === "running"; view = await client.getEval(id)) {
    if (Date.now() - started > 600_000) throw new Error(`eval ${id}: not done after 10 minutes`);
    await new Promise((r) => setTimeout(r, 500));
  }
  console.log(`screenshot: eval ${id} ended after ${Math.round((Date.now() - started) / 1000)} s`);
  await page.setViewportSize({ width: 1280, height: 1250 });
  await page.goto(`${url}/#/evals/${id}`);
  await page.locator('svg[data-chart="pass"] g.point').first().waitFor();
  await page.locator(".live", { hasText: "Finished" }).waitFor();
  await page.screenshot({ path: OUT_EVAL, fullPage: false });
}

await runCheck("screenshot", main, async () => {
  for (const p of stack.reverse()) await p.stop();
  await model?.close();
  rmSync(base, { recursive: true, force: true });
});
