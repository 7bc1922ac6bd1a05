/**
 * The dashboard (GET /) in a real browser against the real local stack: Debian's chromium driven
 * by playwright-core, the local sandbox server and the Worker under `wrangler dev`. It enters the
 * token, starts a run from the page's form, watches it complete live (no reload), shows a running
 * command's output live, cancels a fork and a second run from their buttons, filters the runs list, talks to a session (send, read the
 * reply, fork, destroy), draws a run's forks on a shared clock, compares the forks of a run (ranking,
 * a file tree, each file of both forks side by side, a direct diff of one against the other, check
 * logs, take, branch), shows an agent fork's transcript, follows an eval to its end (results, chart, CSV),
 * renders /docs, and saves screenshots under
 * test-output/. Skipped when /usr/bin/chromium is missing (`apt-get install chromium`; .ci/run does).
 */
import { accessSync, chmodSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_API_TOKEN, LOCAL_E2B_API_KEY, ROOT, startSandboxServer, startWorker, workerVars, type StackProcess } from "../../scripts/local-stack.ts";
import { createTestRepo } from "../support/test-repo.ts";
import { createEvalRepos } from "../support/eval-repos.ts";
import { bundledEvalTasks } from "../support/eval-suite.ts";
import { wilson } from "../../src/evals/metrics.ts";
import type { EvalResults, EvalView } from "../../src/api/evals.ts";
import { startScriptedAnthropic, type ScriptedAnthropic } from "../support/anthropic-server.ts";
import { TEST_ANTHROPIC_API_KEY } from "../support/constants.ts";

const CHROMIUM = "/usr/bin/chromium";
/** Present and runnable (a binary masked by a bind of /dev/null counts as missing). */
const hasChromium = (() => {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return statSync(CHROMIUM).isFile();
  } catch {
    return false;
  }
})();
const OUTPUT = join(ROOT, "test-output");
/** What a fork may write (its model's text, its commands' output): the page must show it as text. */
const HOSTILE_HTML = "<img src=x onerror=window.__xss=1>";

let sandbox: StackProcess | undefined;
let worker: StackProcess | undefined;
let anthropic: ScriptedAnthropic | undefined;
let context: BrowserContext | undefined;
let page: Page;
let base: string;
let repo: string;
const pageErrors: string[] = [];
const requestUrls: string[] = [];


async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`${worker!.url}${path}`, {
    ...init,
    headers: { Authorization: `Bearer ${LOCAL_API_TOKEN}`, "Content-Type": "application/json", ...init.headers },
  });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Starts a run from the page's form and returns its id (from the URL the page navigates to). */
async function startRunFromForm(opts: { forks: number; maxConcurrent?: number; title?: string; commands: string[] }): Promise<string> {
  await page.getByRole("link", { name: "New run", exact: true }).first().click();
  await page.getByRole("heading", { name: "Start a run" }).waitFor();
  await page.getByLabel("Repository").fill(repo);
  await page.getByLabel("Forks", { exact: true }).fill(String(opts.forks));
  await page.getByLabel("Max concurrent").fill(String(opts.maxConcurrent ?? opts.forks));
  if (opts.title) await page.getByLabel("Run title (optional)").fill(opts.title);
  await page.getByLabel("Commands", { exact: true }).fill(opts.commands.join("\n"));
  await page.getByRole("button", { name: "Start run" }).click();
  await page.waitForURL(/#\/runs\/[a-z0-9]+$/);
  return decodeURIComponent(new URL(page.url()).hash.split("/").at(-1)!);
}

const forkStatuses = () =>
  page.$$eval("article.fork", (els) => els.map((el) => `${(el as HTMLElement).dataset.fork}:${(el as HTMLElement).dataset.status}`));

beforeAll(async () => {
  if (!hasChromium) return;
  // Not under /tmp: isolated sandboxes get a private /tmp, so they could not clone from there.
  const testData = resolve(ROOT, ".test-data");
  mkdirSync(testData, { recursive: true });
  mkdirSync(OUTPUT, { recursive: true });
  base = mkdtempSync(join(testData, "dashboard-"));
  // Exposed to sandboxes, whose commands run as an unprivileged user: readable by others.
  chmodSync(base, 0o755);
  repo = createTestRepo(join(base, "repo"));
  createEvalRepos(join(base, "evals"));
  const started = Date.now();
  [sandbox, context] = await Promise.all([
    startSandboxServer({ dataDir: join(base, "sandboxes"), apiKey: LOCAL_E2B_API_KEY, exposePaths: [base], quiet: true }),
    chromium.launchPersistentContext(join(base, "chromium-profile"), {
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      viewport: { width: 1280, height: 900 },
    }),
  ]);
  anthropic = await startScriptedAnthropic({ apiKey: TEST_ANTHROPIC_API_KEY });
  const model = { ANTHROPIC_API_KEY: TEST_ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL: anthropic.url };
  worker = await startWorker({
    stateDir: join(base, "state"),
    vars: { ...workerVars({ backend: "local", sandboxUrl: sandbox.url, env: model }), RECONCILE_INTERVAL_SECONDS: "1", LOG_LEVEL: "warn" },
    quiet: true,
  });
  console.log(`dashboard test: stack up in ${Date.now() - started} ms`);
  page = context.pages()[0] ?? (await context.newPage());
  // Bounds, not clocks: generous, so a loaded machine (a CI neighbour) slows the test without failing it.
  page.setDefaultTimeout(60_000);
  page.on("pageerror", (err) => pageErrors.push(err.message));
  page.on("console", (msg) => {
    if (msg.type() === "error" && !/Failed to load resource/.test(msg.text())) pageErrors.push(msg.text());
  });
  page.on("request", (req) => requestUrls.push(req.url()));
  page.on("dialog", (dialog) => void dialog.accept());
}, 120_000);

afterAll(async () => {
  await context?.close();
  await worker?.stop();
  await sandbox?.stop();
  await anthropic?.close();
  if (base) rmSync(base, { recursive: true, force: true });
}, 30_000);

if (!hasChromium) console.warn(`dashboard browser test skipped: ${CHROMIUM} is missing or not runnable (apt-get install chromium)`);
const suiteName = hasChromium
  ? "dashboard in chromium against the local stack"
  : `dashboard in chromium — SKIPPED: ${CHROMIUM} is missing or not runnable (apt-get install chromium)`;

describe.skipIf(!hasChromium)(suiteName, () => {
  let firstRun = "";
  let secondRun = "";

  it("serves the page and its assets publicly, with a strict CSP and cache headers", async () => {
    const res = await fetch(`${worker!.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
    const csp = res.headers.get("Content-Security-Policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain("unsafe");
    const html = await res.text();
    const script = /src="(\/dashboard\/app\.js\?v=[0-9a-f]+)"/.exec(html)?.[1];
    const style = /href="(\/dashboard\/app\.css\?v=[0-9a-f]+)"/.exec(html)?.[1];
    expect(script && style).toBeTruthy();
    const js = await fetch(`${worker!.url}${script}`);
    expect(js.headers.get("Content-Type")).toMatch(/^text\/javascript/);
    expect(js.headers.get("Cache-Control")).toContain("immutable");
    const etag = js.headers.get("ETag")!;
    expect((await fetch(`${worker!.url}/dashboard/app.js`, { headers: { "If-None-Match": etag } })).status).toBe(304);
    expect((await fetch(`${worker!.url}${style}`)).headers.get("Content-Type")).toMatch(/^text\/css/);
  });

  it("asks for the token, keeps it in localStorage, and lists runs", async () => {
    await page.goto(`${worker!.url}/`);
    await page.getByRole("heading", { name: "Connect to Forkyard" }).waitFor();
    await page.getByLabel("API token").fill("wrong-token");
    await page.getByRole("button", { name: "Save token" }).click();
    await page.getByText("The API rejected the token").waitFor();
    await page.getByLabel("API token").fill(LOCAL_API_TOKEN);
    await page.getByRole("button", { name: "Save token" }).click();
    await page.getByRole("heading", { name: "Runs" }).waitFor();
    await page.getByText("No runs yet.").waitFor();
    expect(await page.evaluate(() => localStorage.getItem("forkyard.token"))).toBe(LOCAL_API_TOKEN);
  });

  it("starts a run from the form and shows its forks complete live, without a reload", async () => {
    await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
    const started = Date.now();
    firstRun = await startRunFromForm({ forks: 3, commands: ["sleep 1 && echo fork $FORKYARD_FORK && echo changed-$FORKYARD_FORK > fork.txt", "echo done-$FORKYARD_FORK >&2"] });
    await page.locator("#run-status").waitFor();
    // While it runs, the page shows it live; then every fork succeeds and the run completes.
    await page.locator('#run-status[data-run-status="completed"]').waitFor({ timeout: 90_000 });
    await page.waitForFunction(() => document.querySelectorAll('article.fork[data-status="succeeded"]').length === 3);
    console.log(`dashboard test: run of 3 forks completed on the page ${Date.now() - started} ms after the form was opened`);
    expect(await forkStatuses()).toEqual(["1:succeeded", "2:succeeded", "3:succeeded"]);
    expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);

    // The event stream fed the page: the event log shows each fork finishing and the run ending.
    const log = page.locator("details.events li");
    expect(await log.filter({ hasText: "Finished: succeeded" }).count()).toBe(3);
    expect(await log.filter({ hasText: "Run finished: completed" }).count()).toBe(1);
    expect(requestUrls.some((u) => u.endsWith(`/v1/runs/${firstRun}/events`))).toBe(true);

    // A step timeline, step chips with durations, output tails, totals.
    const fork2 = page.locator('article.fork[data-fork="2"]');
    expect(await fork2.locator(".timeline .seg").count()).toBeGreaterThanOrEqual(8);
    expect(await fork2.locator(".steps li", { hasText: "clone" }).count()).toBe(1);
    // Every fork's steps on the run's shared clock: one row per fork, its steps where they ran.
    const clock = page.locator("details.clock");
    expect(await clock.evaluate((d) => (d as HTMLDetailsElement).open)).toBe(true);
    expect(await clock.locator(".clock-row").count()).toBe(3);
    await clock.locator('.clock-row[data-fork="2"] .clock-seg[data-step="clone"]').waitFor();
    expect(await clock.locator(".clock-tick").count()).toBeGreaterThanOrEqual(2);
    await fork2.locator("pre.tail", { hasText: "fork 2" }).waitFor();
    await fork2.locator("pre.tail.stderr", { hasText: "done-2" }).waitFor();
    // The fork's patch, fetched with the token when opened, shows as a readable diff.
    await fork2.locator("summary", { hasText: "Patch" }).click();
    await fork2.locator("pre.diff .d-file", { hasText: "diff --git a/fork.txt b/fork.txt" }).waitFor();
    await fork2.locator("pre.diff .d-add", { hasText: "+changed-2" }).waitFor();
    await page.locator(".stat", { hasText: "Succeeded" }).locator(".value", { hasText: "3" }).waitFor();
    await page.locator(".stat", { hasText: "Cost" }).locator(".value", { hasText: "$" }).waitFor();
    await page.locator(".live", { hasText: "Finished" }).waitFor();
    // No action buttons on a finished run.
    expect(await page.getByRole("button", { name: "Cancel run" }).count()).toBe(0);
    // The ranking summary: the fork to take, then each ranked fork (all three succeeded) with what its rank rests on.
    const ranking = page.locator(".ranking-summary");
    await ranking.locator(".winner", { hasText: /Take Fork \d — 3 forks ranked of 3\./ }).waitFor();
    expect(await ranking.locator("li").count()).toBe(3);
    await ranking.getByRole("link", { name: "Compare all forks" }).waitFor();

    await page.locator(".toast").first().waitFor({ state: "detached" }); // a clean screenshot
    await page.screenshot({ path: join(OUTPUT, "dashboard-run.png"), fullPage: true });
  });

  it("cancels a fork and then a second, long run from their buttons", async () => {
    const second = await startRunFromForm({ forks: 7, maxConcurrent: 2, title: "A long <b>sleeper</b>", commands: [`echo live-$FORKYARD_FORK '${HOSTILE_HTML}'; sleep 120`] });
    secondRun = second;
    expect(second).not.toBe(firstRun);
    // The running command's output shows live in its card (command.output), as text.
    const liveOut = page.locator('article.fork[data-fork="1"] .live-output pre.live-text');
    await liveOut.filter({ hasText: `live-1 ${HOSTILE_HTML}` }).waitFor();
    expect(await page.locator('article.fork[data-fork="1"] .live-output img').count()).toBe(0);
    await page.waitForFunction(() => document.querySelectorAll('article.fork[data-status="running"] .steps li').length > 0);
    // Forks after the first five are one line each; "Show" opens a fork's full card.
    expect(await page.locator("article.fork").count()).toBe(5);
    expect(await page.locator("article.fork-line").evaluateAll((els) => els.map((el) => (el as HTMLElement).dataset.fork))).toEqual(["6", "7"]);
    await page.getByRole("button", { name: "Show fork 7" }).click();
    await page.locator('article.fork[data-fork="7"]').waitFor();
    expect(await page.locator("article.fork-line").count()).toBe(1);
    await page.locator("article.fork .facts", { hasText: "Current step" }).first().waitFor();
    await page.locator(".live", { hasText: "Live" }).waitFor();
    await page.screenshot({ path: join(OUTPUT, "dashboard-running.png") });
    await page.locator('article.fork[data-fork="1"]').getByRole("button", { name: "Cancel fork 1" }).click();
    await page.locator('article.fork[data-fork="1"][data-status="cancelled"]').waitFor();
    await page.getByRole("button", { name: "Cancel run" }).click();
    await page.locator('#run-status[data-run-status="cancelled"]').waitFor();
    await page.waitForFunction(() => document.querySelectorAll('article.fork[data-status="cancelled"], article.fork-line[data-status="cancelled"]').length === 7);
    const view = await api<{ status: string; forks: { status: string }[] }>(`/v1/runs/${second}`);
    expect(view.status).toBe("cancelled");
    expect(view.forks.map((f) => f.status)).toEqual(Array(7).fill("cancelled"));
  });

  it("lists both runs with their titles, filters by status, text and repository, and works at a narrow width", async () => {
    await page.getByRole("link", { name: "Runs", exact: true }).first().click();
    await page.locator(`tr[data-run="${firstRun}"]`).waitFor();
    expect(await page.locator("tbody tr").count()).toBe(2);
    // A title given (its markup is text), and one taken from the task's first line.
    expect(await page.locator(`tr[data-run="${secondRun}"] .run-title a.title`).textContent()).toBe("A long <b>sleeper</b>");
    expect(await page.locator(`tr[data-run="${firstRun}"] .run-title a.title`).textContent()).toBe("sleep 1 && echo fork $FORKYARD_FORK && echo changed-$FORKYARD_FORK > fork.txt");
    expect(await page.locator("tbody b").count()).toBe(0);
    await page.getByLabel("Search titles and tasks").fill("SLEEPER");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForFunction(() => location.hash === "#/?q=SLEEPER");
    await page.waitForFunction(() => document.querySelectorAll("tbody tr").length === 1);
    await page.locator(`tr[data-run="${secondRun}"]`).waitFor();
    await page.getByLabel("Only this repository").fill(repo + "-elsewhere");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.getByText("No runs match").waitFor();
    await page.getByLabel("Search titles and tasks").fill("");
    await page.getByLabel("Only this repository").fill(repo);
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForFunction(() => document.querySelectorAll("tbody tr").length === 2);
    await page.getByRole("link", { name: "Clear" }).click();
    await page.waitForFunction(() => location.hash === "#/");
    await page.locator(`tr[data-run="${firstRun}"]`).waitFor();
    await page.getByLabel("Filter by status").selectOption("cancelled");
    await page.waitForFunction(() => location.hash === "#/?status=cancelled");
    await page.waitForFunction(() => document.querySelectorAll("tbody tr").length === 1);
    expect(await page.locator(`tr[data-run="${firstRun}"]`).count()).toBe(0);
    await page.getByLabel("Filter by status").selectOption("");
    await page.locator(`tr[data-run="${firstRun}"]`).waitFor();
    await page.screenshot({ path: join(OUTPUT, "dashboard-runs.png") });

    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${worker!.url}/#/runs/${firstRun}`);
    await page.reload(); // a fresh load: the token comes back from localStorage
    await page.locator('#run-status[data-run-status="completed"]').waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(OUTPUT, "dashboard-run-narrow.png"), fullPage: true });
    await page.emulateMedia({ colorScheme: "dark" });
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.waitForTimeout(300); // timeline labels are re-fitted shortly after a resize
    await page.screenshot({ path: join(OUTPUT, "dashboard-run-dark.png") });
  });

  it("deletes an ended run from its page: back to the runs list, without it; the API answers 404 run_deleted", async () => {
    await page.goto(`${worker!.url}/#/runs/${secondRun}`);
    await page.locator('#run-status[data-run-status="cancelled"]').waitFor();
    await page.getByRole("button", { name: "Delete run" }).click();
    await page.waitForFunction(() => location.hash === "#/");
    await page.locator(`tr[data-run="${firstRun}"]`).waitFor();
    expect(await page.locator(`tr[data-run="${secondRun}"]`).count()).toBe(0);
    await expect(api(`/v1/runs/${secondRun}`)).rejects.toThrow(/HTTP 404 .*run_deleted/);
  });

  it("talks to a session: sends a message, shows the reply and its tool call, forks it, destroys both", async () => {
    anthropic!.setScript([
      { content: [{ type: "tool_use", name: "bash", input: { command: "echo from-the-sandbox | tee hello.txt" } }] },
      { content: [{ type: "text", text: "The sandbox says hello." }] },
    ]);
    const { id } = await api<{ id: string }>("/v1/sessions", { method: "POST", body: JSON.stringify({ repo, title: "Dashboard session" }), headers: { "Content-Type": "application/json" } });
    await page.getByRole("link", { name: "Sessions", exact: true }).click();
    await page.locator(`tr[data-session="${id}"]`).waitFor();
    await page.getByRole("link", { name: "Dashboard session" }).click();
    await page.getByRole("heading", { name: /Dashboard session/ }).waitFor();
    await page.getByLabel("Message").fill("Say hello from the sandbox");
    await page.getByRole("button", { name: "Send" }).click();
    await page.locator(".msg.assistant", { hasText: "The sandbox says hello." }).waitFor();
    await page.locator(".msg.assistant", { hasText: "⚙ bash echo from-the-sandbox" }).waitFor();
    await page.locator(".msg.tool summary", { hasText: "from-the-sandbox" }).waitFor();
    // Its turns: status, tool calls, cost and duration.
    await page.locator(".turns-box summary", { hasText: "Turns (1)" }).click();
    const turn = page.locator('table.turns tr[data-turn="1"][data-status="succeeded"]');
    await turn.waitFor();
    expect(await turn.locator("td").allTextContents()).toEqual(["1", expect.stringMatching(/succeeded/i), expect.any(String), "1", expect.stringMatching(/^\$/), expect.stringMatching(/\d/), "end_turn"]);
    // Its work can leave: "Take it" answers the command that takes it into a clone.
    await page.locator(".work").getByRole("button", { name: "Take it" }).click();
    await page.locator(".work .picked pre", { hasText: "git apply --3way" }).waitFor();
    await page.screenshot({ path: join(OUTPUT, "dashboard-session.png"), fullPage: true });
    await page.getByRole("button", { name: "Fork" }).click();
    await page.waitForFunction((parent) => location.hash.startsWith("#/sessions/") && !location.hash.endsWith(parent), id);
    await page.locator(".msg.assistant", { hasText: "The sandbox says hello." }).waitFor();
    const child = decodeURIComponent(new URL(page.url()).hash.split("/").at(-1)!);
    // The child links its parent, and the turn it was forked after.
    await page.locator(".origin", { hasText: "after turn 1" }).getByRole("link", { name: id }).waitFor();
    for (const s of [child, id]) {
      await page.goto(`${worker!.url}/#/sessions/${s}`);
      await page.getByRole("button", { name: "Destroy" }).click();
      await page.locator(".badge.s-destroyed").first().waitFor();
    }
    const views = await Promise.all([id, child].map((s) => api<{ status: string }>(`/v1/sessions/${s}`)));
    expect(views.map((v) => v.status)).toEqual(["destroyed", "destroyed"]);
  });

  it("compares the forks of an ended run: ranking with the winner, two patches side by side, take and branch", async () => {
    await page.emulateMedia({ colorScheme: "light" });
    // Fork-dependent changes; fork 1 fails the check, so fork 2 (passed, smaller diff than 3) wins.
    const created = await api<{ id: string }>("/v1/runs", {
      method: "POST",
      body: JSON.stringify({ repo, forks: 3, maxConcurrent: 3, task: { commands: ["echo changed-$FORKYARD_FORK > fork.txt && seq 1 $FORKYARD_FORK >> fork.txt"] }, check: `echo '${HOSTILE_HTML}' checked-$FORKYARD_FORK; test "$FORKYARD_FORK" != 1` }),
    });
    await page.goto(`${worker!.url}/#/runs/${created.id}`);
    await page.locator('#run-status[data-run-status="completed"]').waitFor({ timeout: 90_000 });
    // The check's log, like a GitHub check: open where it failed, folded where it passed; its output (HTML the fork's
    // code printed) is text.
    const failedCheck = page.locator('article.fork[data-fork="1"] details.check-log[data-check="failed"]');
    await failedCheck.locator("pre.tail", { hasText: `${HOSTILE_HTML} checked-1` }).waitFor();
    expect(await failedCheck.evaluate((d) => (d as HTMLDetailsElement).open)).toBe(true);
    expect(await failedCheck.locator("summary").textContent()).toMatch(/✗ Check failed\$ echo .*exit 1/);
    const passedCheck = page.locator('article.fork[data-fork="2"] details.check-log[data-check="passed"]');
    expect(await passedCheck.evaluate((d) => (d as HTMLDetailsElement).open)).toBe(false);
    await passedCheck.locator("summary").click();
    await passedCheck.locator("pre.tail", { hasText: "checked-2" }).waitFor();
    expect(await page.locator("article.fork img").count()).toBe(0);
    // The run page builds its header again when the ranking arrives, which may be just after the
    // status: a click that lands while the link is being replaced is lost, so it is clicked again.
    const compareUrl = new RegExp(`#/runs/${created.id}/compare$`);
    for (let attempt = 1; !compareUrl.test(page.url()); attempt++) {
      await page.getByRole("link", { name: "Compare forks" }).click();
      await page.waitForURL(compareUrl, { timeout: 3000 }).catch((err: unknown) => {
        if (attempt >= 5) throw err;
      });
    }

    const rows = page.locator("table.ranking tbody tr");
    await rows.first().waitFor();
    expect(await rows.evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.fork))).toEqual(["2", "3", "1"]);
    const winner = page.locator('table.ranking tr[data-winner="true"]');
    expect(await winner.getAttribute("data-fork")).toBe("2");
    await winner.locator(".winner-mark", { hasText: "Winner" }).waitFor();
    await winner.locator(".reasons li", { hasText: "check passed" }).waitFor();
    await page.locator('table.ranking tr[data-fork="1"] .reasons li', { hasText: "check failed" }).waitFor();
    // Fork 1 succeeded (its API status) but its check failed: its badge says so, not a green "succeeded".
    expect(await page.locator('table.ranking tr[data-fork="1"] .badge').getAttribute("class")).toBe("badge s-check_failed");
    expect(await page.locator('table.ranking tr[data-fork="2"] .badge').getAttribute("class")).toBe("badge s-succeeded");

    await page.getByLabel("Left fork").selectOption("1");
    await page.getByLabel("Right fork").selectOption("3");
    const left = page.locator('.split .pane[data-fork="1"]');
    const right = page.locator('.split .pane[data-fork="3"]');
    // The files like a pull request: a file tree with what each fork did, then the file of both forks lined up.
    await page.locator('.file-tree li.tree-file[data-path="fork.txt"] .tag', { hasText: "A added" }).waitFor();
    await page.locator('.file-tree li.tree-file[data-path="fork.txt"] .tag', { hasText: "B added" }).waitFor();
    const fileRow = page.locator('.file-row[data-path="fork.txt"]');
    const [leftFile, rightFile] = [fileRow.locator(".pane").nth(0), fileRow.locator(".pane").nth(1)];
    await leftFile.locator(".ndiff-line.d-add", { hasText: "+changed-1" }).waitFor();
    // The compare page shows each side's check log too: fork 1's failed check open, fork 3's passed one folded.
    expect(await left.locator('details.check-log[data-check="failed"]').evaluate((d) => (d as HTMLDetailsElement).open)).toBe(true);
    await left.locator("details.check-log pre.tail", { hasText: `${HOSTILE_HTML} checked-1` }).waitFor();
    expect(await right.locator('details.check-log[data-check="passed"]').evaluate((d) => (d as HTMLDetailsElement).open)).toBe(false);
    await rightFile.locator(".ndiff-line.d-add", { hasText: "+changed-3" }).waitFor();
    // Each line with its old and new numbers: fork 3's file is new, its first line is new line 1.
    expect(await rightFile.locator(".ndiff-line.d-add").first().locator(".ln").allTextContents()).toEqual(["", "1"]);
    expect(await leftFile.textContent()).not.toContain("changed-3");
    expect(await rightFile.textContent()).not.toContain("changed-1");
    // No git header noise: no index, ---, +++ lines.
    expect(await fileRow.textContent()).not.toMatch(/index [0-9a-f]{7}|\+\+\+ b\/|--- \/dev\/null/);
    const [fa, fb] = [(await leftFile.boundingBox())!, (await rightFile.boundingBox())!];
    expect(fa.x + fa.width).toBeLessThanOrEqual(fb.x);
    // A direct diff of fork 1's file against fork 3's.
    await page.getByRole("button", { name: "Fork 1 → fork 3" }).click();
    const direct = page.locator('.file-row[data-path="fork.txt"][data-status="differs"]');
    await direct.locator(".ndiff-line.d-del", { hasText: "-changed-1" }).waitFor();
    await direct.locator(".ndiff-line.d-add", { hasText: "+changed-3" }).waitFor();
    expect(await direct.locator(".ndiff-line.d-add").count()).toBe(3);
    await page.screenshot({ path: join(OUTPUT, "dashboard-compare-direct.png"), fullPage: true });
    await page.getByRole("button", { name: "Side by side" }).click();
    await leftFile.locator(".ndiff-line.d-add", { hasText: "+changed-1" }).waitFor();
    const [a, b] = [(await left.boundingBox())!, (await right.boundingBox())!];
    expect(a.x + a.width).toBeLessThanOrEqual(b.x); // side by side, left then right
    expect(Math.abs(a.y - b.y)).toBeLessThan(2);
    await left.getByRole("link", { name: /Full patch/ }).waitFor();

    // Take fork 1: its PR or its fetch command — or, where the endpoint is not deployed yet, the API's error.
    await left.getByRole("button", { name: "Take fork 1" }).click();
    const outcome = left.locator(".picked, .action-result .alert").first();
    await outcome.waitFor();
    const text = (await outcome.textContent()) ?? "";
    if (await outcome.evaluate((el) => el.classList.contains("picked"))) expect(text).toMatch(/git fetch|Pull request/);
    else expect(text).toMatch(/\S/);
    // Branch fork 3 into two new forks: the new run's link, or the API's error.
    await right.getByText("Branch this fork").click();
    await right.getByLabel("New forks (1–20)").fill("2");
    await right.getByRole("button", { name: "Start branches" }).click();
    await right.locator(".branch-form .action-result > *").first().waitFor();
    console.log(`dashboard test: compare page — pick answered "${text.trim()}"`);
    await page.evaluate(() => window.scrollTo(0, 0)); // the sticky top bar where it belongs in a full-page shot
    await page.screenshot({ path: join(OUTPUT, "dashboard-compare.png"), fullPage: true });
  });

  it("keeps the compare page of a running run current: forks that end are ranked and the winner shown, no refresh click", async () => {
    const created = await api<{ id: string }>("/v1/runs", {
      method: "POST",
      body: JSON.stringify({ repo, forks: 2, maxConcurrent: 2, task: { commands: ["sleep 2 && echo live-$FORKYARD_FORK > live.txt"] }, check: 'test "$FORKYARD_FORK" = 2' }),
    });
    await page.goto(`${worker!.url}/#/runs/${created.id}/compare`);
    await page.locator(".title-row", { hasText: "No winner yet." }).waitFor();
    // Fork 2 passes its check, fork 1 does not: the page shows it once the run ends, read again on its events.
    await page.locator('table.ranking tr[data-winner="true"][data-fork="2"]').waitFor({ timeout: 90_000 });
    await page.locator(".title-row", { hasText: "Winner: fork 2" }).waitFor();
    await page.locator('.file-row[data-path="live.txt"] .ndiff-line.d-add', { hasText: "+live-2" }).waitFor();
  });

  it("shows an agent fork's transcript: messages as text, tool outputs folded, an edit as a diff", async () => {
    anthropic!.setScript([
      { content: [{ type: "text", text: `Looking around. ${HOSTILE_HTML}` }, { type: "tool_use", name: "bash", input: { command: `echo '${HOSTILE_HTML}'` } }] },
      { content: [{ type: "tool_use", name: "str_replace_based_edit_tool", input: { command: "create", path: "hello.txt", file_text: "hello from the agent\n" } }] },
      { content: [{ type: "text", text: "Added hello.txt." }] },
    ]);
    const created = await api<{ id: string }>("/v1/runs", { method: "POST", body: JSON.stringify({ repo, task: { prompt: "Add hello.txt" }, check: "grep -q agent hello.txt" }) });
    await page.goto(`${worker!.url}/#/runs/${created.id}`);
    await page.locator('#run-status[data-run-status="completed"]').waitFor({ timeout: 90_000 });
    const fork = page.locator('article.fork[data-fork="1"]');
    await fork.locator("details.transcript-box summary").click();
    const transcript = fork.locator(".transcript");
    await transcript.locator(".t-user .t-text", { hasText: "Add hello.txt" }).waitFor();
    await transcript.locator(".t-assistant .t-text", { hasText: `Looking around. ${HOSTILE_HTML}` }).waitFor();
    await transcript.locator(".t-assistant .t-text", { hasText: "Added hello.txt." }).waitFor();
    const bash = transcript.locator('details.t-tool[data-tool="bash"]');
    expect(await bash.locator("summary code").textContent()).toBe(`$ echo '${HOSTILE_HTML}'`);
    expect(await bash.evaluate((d) => (d as HTMLDetailsElement).open)).toBe(false);
    await bash.locator("summary").click();
    await bash.locator("pre.tail", { hasText: `${HOSTILE_HTML}\n[exit code: 0]` }).waitFor();
    const edit = transcript.locator('details.t-tool[data-tool="edit"]');
    expect(await edit.locator("summary code").textContent()).toBe("✎ create hello.txt");
    await edit.locator("summary").click();
    await edit.locator("pre.diff .d-add", { hasText: "+hello from the agent" }).waitFor();
    // Fork-written HTML stayed text: no element was made of it, and its handler never ran.
    expect(await page.locator("article.fork img").count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    await fork.locator('details.check-log[data-check="passed"]').waitFor();
    await page.evaluate(() => window.scrollTo(0, 0)); // the sticky top bar where it belongs in a full-page shot
    await page.screenshot({ path: join(OUTPUT, "dashboard-transcript.png"), fullPage: true });
  });

  it("shows an eval live: progress, results per config with their intervals, a chart with a line over N, CSV, links to its runs", async () => {
    // The bundled `answer` task; fork 1 writes 42 (hidden check passes), fork 2 "41" (visible check only).
    const answer = 'if [ "$FORKYARD_FORK" = 1 ]; then echo 42 > answer.txt; else printf "41\\n.\\n" > answer.txt; fi';
    anthropic!.setScript([1, 2, 3].map(() => ({ content: [{ type: "tool_use" as const, name: "bash", input: { command: answer } }], when: { includes: "ultimate question", excludes: "tool_use_id" } })));
    await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
    const started = await api<EvalView>("/v1/evals", {
      method: "POST",
      body: JSON.stringify({ name: "N=1 vs N=2", tasks: bundledEvalTasks(join(base, "evals"), ["answer"]), configs: [{ name: "solo", model: "sonnet", forks: 1 }, { name: "pair", model: "sonnet", forks: 2 }], maxConcurrent: 2 }),
    });
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Evals" }).click();
    await page.locator(`tr[data-eval="${started.id}"]`).getByRole("link", { name: "N=1 vs N=2" }).click();
    await page.locator('#eval-status[data-eval-status="running"]').waitFor();
    // Live: the page follows the eval to its end without a reload.
    await page.locator('#eval-status[data-eval-status="completed"]').waitFor({ timeout: 90_000 });
    await page.locator('.eval-progress[data-settled="2"][data-runs="2"]').waitFor();
    expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
    expect(requestUrls.some((u) => u.endsWith(`/v1/evals/${started.id}/events`))).toBe(true);

    // The figures, worked by hand: solo's one fork passes (1 of 1); pair's fork 1 passes and fork 2
    // does not (pass@1 ½, oracle 1), and the ranking takes fork 1 (the smaller diff).
    const ci = (p: number, n: number) => { const w = wilson(p, n); return `${Math.round(w.low! * 100)} %–${Math.round(w.high! * 100)} %`; };
    const cell = async (config: string, figure: string) => (await page.locator(`table.eval-results tr[data-config="${config}"] td[data-figure="${figure}"]`).innerText()).replace(/\s+/g, " ").trim();
    expect(await cell("solo", "tasks")).toBe("1 · 1 solved");
    expect(await cell("solo", "passAt1")).toBe(`100 % ${ci(1, 1)}`);
    expect(await cell("solo", "selectedPass")).toBe(`100 % ${ci(1, 1)}`);
    expect(await cell("pair", "n")).toBe("2");
    expect(await cell("pair", "passAt1")).toBe(`50 % ${ci(0.5, 1)}`);
    expect(await cell("pair", "oraclePassAtN")).toBe(`100 % ${ci(1, 1)}`);
    expect(await cell("pair", "selectedPass")).toBe(`100 % ${ci(1, 1)}`);
    expect(await cell("pair", "selectorAccuracy")).toBe(`100 % ${ci(1, 1)}`);
    expect(await cell("pair", "judgeAuc")).toBe("–");
    const results = await api<EvalResults>(`/v1/evals/${started.id}/results`);
    const pair = results.configs.find((c) => c.config === "pair")!;
    expect(await cell("pair", "costPerSolvedTaskUsd")).toMatch(/^\$\d/);
    expect(pair.costPerSolvedTaskUsd).toBeGreaterThan(0);

    // The charts: both configs share a model, so each chart has one series, a line with a point per config (N = 1, 2).
    for (const chart of ["pass", "cost"]) {
      const svg = page.locator(`svg[data-chart="${chart}"]`);
      expect(await svg.locator("g.series").count()).toBe(1);
      expect(await svg.locator("g.series").getAttribute("data-series")).toBe("sonnet");
      expect(await svg.locator("g.series g.point").evaluateAll((els) => els.map((el) => `${(el as SVGElement).dataset.point}@${(el as SVGElement).dataset.n}`))).toEqual(["solo@1", "pair@2"]);
      expect(await svg.locator("g.series polyline").count()).toBe(1);
      expect(await svg.locator("title").first().textContent()).toMatch(/against N$/);
      expect(await svg.locator("desc").textContent()).toContain("sonnet: solo (N = 1)");
    }
    // Error bars on the pass rates, none on the costs (the API gives no interval there).
    expect(await page.locator('svg[data-chart="pass"] line.error-bar').count()).toBe(2);
    expect(await page.locator('svg[data-chart="cost"] line.error-bar').count()).toBe(0);
    await page.getByLabel("Pass rate").selectOption("passAt1");
    await page.locator('svg[data-chart="pass"] desc', { hasText: "pair (N = 2): 50 %" }).waitFor({ state: "attached" });

    // Each task × config links its run; the CSV downloads with the token.
    const runLinks = await page.locator("table.eval-tasks a").evaluateAll((els) => els.map((el) => el.getAttribute("href")));
    expect(runLinks.sort()).toEqual(results.tasks.map((t) => `#/runs/${t.runId}`).sort());
    const [csv] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download CSV" }).click()]);
    expect(csv.suggestedFilename()).toBe(`eval-${started.id}.csv`);
    expect(readFileSync((await csv.path())!, "utf8").split("\n").slice(0, 3).map((l) => l.split(",")[0])).toEqual(["config", "solo", "pair"]);
    await page.locator(".toast").first().waitFor({ state: "detached" }).catch(() => undefined);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(OUTPUT, "dashboard-eval.png"), fullPage: true });
    // At a phone's width the page does not scroll sideways (the wide results table scrolls in its card).
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(OUTPUT, "dashboard-eval-narrow.png"), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it("serves /docs, linked from the dashboard: Swagger UI from this origin lists the operations", async () => {
    const before = requestUrls.length;
    await page.goto(`${worker!.url}/`);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "API docs" }).click();
    await page.waitForURL(`${worker!.url}/docs`);
    await page.locator(".opblock").first().waitFor();
    expect(await page.locator(".opblock").count()).toBeGreaterThan(20);
    await page.locator(".opblock-summary-path", { hasText: "/v1/runs/{id}/compare" }).first().waitFor();
    const origin = new URL(worker!.url).origin;
    expect(requestUrls.slice(before).filter((u) => !u.startsWith(origin) && !u.startsWith("data:"))).toEqual([]);
    await page.screenshot({ path: join(OUTPUT, "docs.png") });
  });

  it("never put the token in a URL, and the page raised no errors (CSP included)", () => {
    expect(requestUrls.length).toBeGreaterThan(0);
    expect(requestUrls.filter((u) => u.includes(LOCAL_API_TOKEN))).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
