/**
 * Runs the server-facing tests of E2B's own JS SDK suite (`packages/js-sdk/tests` of e2b-dev/E2B)
 * unedited against the local sandbox server, and prints passed / failed / skipped per file.
 *
 *   node scripts/e2b-sdk-tests.ts <path to an e2b-dev/E2B checkout or bare clone> [--commit <sha>]
 *     [--files <prefix>[,<prefix>...]]   (only the server-facing files starting with a prefix,
 *                                          e.g. --files tests/sandbox/pty; or E2B_SDK_FILES)
 *   (or E2B_SDK_REPO=<path>; get one with `git clone https://github.com/e2b-dev/E2B`)
 *
 * Nothing of E2B's code enters this repository: the pinned commit's `packages/js-sdk` is
 * extracted (`git archive`) to a temp folder, its runtime dependencies and vitest are installed
 * from the npm registry (once per commit, in `<tmp>/e2b-sdk-deps-<commit>`, linked in), and the
 * suite runs on the SDK's own source at that commit (the tests import `../src`). Files that need
 * the internet, Docker image builds or E2B's cloud, single tests that need real root or E2B's
 * edge, and the SDK-only files (no server: mocked fetch, pure helpers), are left out, each with
 * its reason below.
 * Failures by test go to `<temp>/failures.txt` (and E2B_SDK_FAILURES=<file>), the temp folder is
 * removed unless E2B_SDK_KEEP=1.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LOCAL_E2B_API_KEY, startSandboxServer } from "./local-stack.ts";

/** e2b-dev/E2B at this commit: packages/js-sdk is the `e2b` SDK 2.45.0. */
export const PINNED_COMMIT = "b8029973aa7da5f741f7bb1a9f833b38a0885438";
/** The vitest major the SDK's suite is written for (its devDependency ^4.1.10). */
const VITEST = "4.1.12";

/** Server-facing test files run, relative to packages/js-sdk. */
export const SERVER_FACING = [
  "tests/api/info.test.ts", "tests/api/kill.test.ts", "tests/api/list.test.ts", "tests/api/snapshot.test.ts",
  "tests/sandbox/commands/connect.test.ts", "tests/sandbox/commands/envVars.test.ts", "tests/sandbox/commands/kill.test.ts",
  "tests/sandbox/commands/list.test.ts", "tests/sandbox/commands/run.test.ts", "tests/sandbox/commands/sandboxKilledDuringRun.test.ts",
  "tests/sandbox/commands/sendStdin.test.ts", "tests/sandbox/configPropagation.test.ts", "tests/sandbox/connect.test.ts",
  "tests/sandbox/create.test.ts", "tests/sandbox/files/contentEncoding.test.ts", "tests/sandbox/files/exists.test.ts",
  "tests/sandbox/files/info.test.ts", "tests/sandbox/files/list.test.ts", "tests/sandbox/files/makeDir.test.ts",
  "tests/sandbox/files/metadata.test.ts", "tests/sandbox/files/read.test.ts", "tests/sandbox/files/remove.test.ts",
  "tests/sandbox/files/rename.test.ts", "tests/sandbox/files/signing.test.ts", "tests/sandbox/files/watch.test.ts",
  "tests/sandbox/files/write.test.ts", "tests/sandbox/fork.test.ts", "tests/sandbox/git/add.test.ts",
  "tests/sandbox/git/branches.test.ts", "tests/sandbox/git/clone.test.ts", "tests/sandbox/git/commit.test.ts",
  "tests/sandbox/git/config.test.ts", "tests/sandbox/git/dangerouslyAuthenticate.test.ts", "tests/sandbox/git/init.test.ts",
  "tests/sandbox/git/remote.test.ts", "tests/sandbox/git/reset.test.ts", "tests/sandbox/git/restore.test.ts",
  "tests/sandbox/git/status.test.ts", "tests/sandbox/git/sync.test.ts", "tests/sandbox/kill.test.ts",
  "tests/sandbox/lifecyclePayload.test.ts", "tests/sandbox/metrics.test.ts", "tests/sandbox/pty/kill.test.ts",
  "tests/sandbox/pty/ptyConnect.test.ts", "tests/sandbox/pty/ptyCreate.test.ts", "tests/sandbox/pty/resize.test.ts",
  "tests/sandbox/pty/sendInput.test.ts", "tests/sandbox/secure.test.ts", "tests/sandbox/snapshot-api.test.ts",
  "tests/sandbox/snapshot.test.ts", "tests/sandbox/timeout.test.ts", "tests/template/exists.test.ts", "tests/template/build.test.ts",
];

/**
 * Why port URLs are left out: `getHost(port)` is `<port>-<id>.<E2B_DOMAIN>` and these tests fetch it
 * as `https://` — port 443, a wildcard DNS name and a publicly trusted certificate, which E2B's
 * edge provides. The SDK has no setting that puts port URLs on `sandboxUrl` (only `debug`, which
 * makes them `http://localhost:<port>` and skips most of the suite); serving them would mean
 * changing the test machine's resolver and trust store, not the server.
 */
const PORT_URLS = "E2B's cloud DNS/TLS: fetches https://<port>-<sandbox id>.<domain> (wildcard DNS, port 443, a trusted certificate)";

/**
 * Why writes as root are left out: E2B's envd runs as root and its file API writes anywhere in the
 * sandbox's own image (`/0/…` at the root, `/root` for `user: "root"`). Here the sandbox's root
 * filesystem is the host's system folders, read-only by design (the isolation), and every file
 * operation runs as `user` in its own /home/user and /tmp: no real root, no image of its own.
 */
const REAL_ROOT = "real root and an image of its own: writes as root outside /home/user and /tmp (`/0/…`, `/root`), where the view is the host's, read-only";

/**
 * Why builds from a Docker image are left out: the local server builds templates from `base` or
 * another local template (a sandbox plus commands); it has no image builder, and says so.
 */
const DOCKER_IMAGE = "a Docker image (fromImage('ubuntu:22.04')): the local template build has no image builder and fails such a build with that message";

/** Single tests of files that run, left out by name (vitest -t: the end of the test's full name), and why. */
export const EXCLUDED_TESTS: Record<string, string> = {
  "pause and resume a sandbox with http server": PORT_URLS,
  "auto-resume wakes paused sandbox on http request": PORT_URLS,
  "write multiple files": REAL_ROOT,
  "test upload file with valid signing as root user": REAL_ROOT,
  "build template": `${REAL_ROOT} (its setWorkdir('/app') makes /app)`,
  "build template with symlinks": DOCKER_IMAGE,
  "build template with resolveSymlinks": DOCKER_IMAGE,
};

/** Server-facing files left out, and why. */
export const EXCLUDED: Record<string, string> = {
  "tests/sandbox/host.test.ts": PORT_URLS,
  "tests/sandbox/internetAccess.test.ts": "needs the internet (curl to connectivitycheck.gstatic.com)",
  "tests/sandbox/network.test.ts": "needs the internet and E2B's `httpbin` template (egress rules against public hosts)",
  "tests/template/backgroundBuild.test.ts": `${DOCKER_IMAGE}, and a tag in its name ('e2b-test:v1-…': tags are refused locally); it expects the build still running just after it starts`,
  "tests/template/abortSignal.test.ts, stacktrace.test.ts": "SDK-only (msw-mocked build API)",
  "tests/template/uploadFile.test.ts": "SDK-only (uploads to an HTTP server of its own)",
  "tests/template/methods/**": "SDK-only (template definition helpers, no server)",
  "tests/template/tags.test.ts, boundOpts.test.ts": "SDK-only (msw-mocked API)",
  "tests/client.test.ts, api/http2, envd/http2, sandbox/{abortSignal,egressProxy,iam,lifecycleRequest,networkTransform}, secret/*, volume/*":
    "SDK-only (fetch mocked with msw)",
  "the rest of tests/*.test.ts": "SDK-only (pure helpers: errors, paginator, connection config, ...)",
  "tests/runtimes/**": "browser / Cloudflare runtimes against E2B's cloud",
};

function usage(why: string): never {
  console.log(`e2b-sdk-tests: SKIPPED — ${why}`);
  console.log("  get a checkout: git clone https://github.com/e2b-dev/E2B /some/where/E2B");
  console.log("  then:           node scripts/e2b-sdk-tests.ts /some/where/E2B   (or E2B_SDK_REPO=/some/where/E2B)");
  process.exit(0);
}

function extract(repo: string, commit: string, dir: string): string {
  try {
    execFileSync("git", ["-C", repo, "cat-file", "-e", `${commit}^{commit}`], { stdio: "ignore" });
  } catch {
    usage(`${repo} has no commit ${commit} (git -C ${repo} fetch, or --commit <sha>)`);
  }
  execFileSync("sh", ["-c", 'git -C "$0" archive "$1" packages/js-sdk | tar -x -C "$2"', repo, commit, dir]);
  return join(dir, "packages", "js-sdk");
}

/**
 * The SDK's runtime dependencies and vitest, from the registry (no dev tooling: builds, browsers,
 * msw), installed once per commit in `<tmp>/e2b-sdk-deps-<commit>` and linked into the suite.
 */
function install(sdk: string, commit: string): void {
  const pkg = JSON.parse(readFileSync(join(sdk, "package.json"), "utf8")) as Record<string, Record<string, string> | string>;
  const dev = pkg.devDependencies as Record<string, string>;
  // error-stack-parser-es: a devDependency the SDK's source imports (template stack traces).
  const deps = { ...(pkg.dependencies as Record<string, string>), "error-stack-parser-es": dev["error-stack-parser-es"], vitest: VITEST };
  const manifest = JSON.stringify({ name: "e2b-sdk-suite", private: true, type: "module", dependencies: deps }, null, 2);
  writeFileSync(join(sdk, "package.json"), manifest);
  const cache = join(tmpdir(), `e2b-sdk-deps-${commit.slice(0, 12)}`);
  const ready = existsSync(join(cache, "node_modules", ".bin", "vitest")) && readFileSync(join(cache, "package.json"), "utf8") === manifest;
  if (!ready) {
    mkdirSync(cache, { recursive: true });
    writeFileSync(join(cache, "package.json"), manifest);
    execFileSync("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"], { cwd: cache, stdio: "inherit" });
  }
  symlinkSync(join(cache, "node_modules"), join(sdk, "node_modules"));
}

function writeConfig(sdk: string, files: string[]): string {
  const path = join(sdk, "forkyard.vitest.config.mts");
  writeFileSync(path, `import { defineConfig } from 'vitest/config'
export default defineConfig({ test: {
  include: ${JSON.stringify(files)},
  isolate: true, globals: false, testTimeout: 30_000, hookTimeout: 30_000, environment: 'node',
  setupFiles: ['tests/globalFetchFallback.setup.ts'], maxWorkers: ${Number(process.env.E2B_SDK_WORKERS ?? 2)},
} })
`);
  return path;
}

/** A test-name pattern matching every test but EXCLUDED_TESTS (a full name ending with one of them). */
function notExcluded(): string {
  const names = Object.keys(EXCLUDED_TESTS).map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return `^(?!.*(?:${names.join("|")})$).*$`;
}

const firstLine = (text: string) => (text.split("\n")[0] ?? "").slice(0, 300);

interface FileResult { file: string; passed: number; failed: number; skipped: number; failures: string[] }

function results(jsonPath: string, sdk: string): FileResult[] {
  const report = JSON.parse(readFileSync(jsonPath, "utf8")) as {
    testResults: { name: string; message?: string; assertionResults: { status: string; fullName: string; failureMessages: string[] }[] }[];
  };
  return report.testResults.map((f) => {
    const count = (s: string) => f.assertionResults.filter((a) => a.status === s).length;
    const failures = f.assertionResults.filter((a) => a.status === "failed")
      .map((a) => `${a.fullName}: ${firstLine(a.failureMessages[0] ?? "")}`);
    if (f.assertionResults.length === 0 && f.message) failures.push(`(file) ${firstLine(f.message)}`);
    return { file: f.name.slice(sdk.length + 1), passed: count("passed"), failed: count("failed") + (f.assertionResults.length ? 0 : 1), skipped: count("skipped") + count("pending") + count("todo"), failures };
  }).sort((a, b) => a.file.localeCompare(b.file));
}

function printTable(rows: FileResult[], commit: string): void {
  const w = Math.max(...rows.map((r) => r.file.length), 4);
  console.log(`\nE2B JS SDK suite @ ${commit.slice(0, 12)} against the local sandbox server\n`);
  console.log(`${"file".padEnd(w)}  passed  failed  skipped`);
  for (const r of rows) console.log(`${r.file.padEnd(w)}  ${String(r.passed).padStart(6)}  ${String(r.failed).padStart(6)}  ${String(r.skipped).padStart(7)}`);
  const sum = (k: "passed" | "failed" | "skipped") => rows.reduce((n, r) => n + r[k], 0);
  const p = sum("passed"), f = sum("failed");
  console.log(`${"TOTAL".padEnd(w)}  ${String(p).padStart(6)}  ${String(f).padStart(6)}  ${String(sum("skipped")).padStart(7)}`);
  console.log(`\npassed ${p} of ${p + f} run (${((100 * p) / Math.max(1, p + f)).toFixed(1)} %); excluded:`);
  for (const [file, why] of Object.entries(EXCLUDED)) console.log(`  ${file}: ${why}`);
  console.log("excluded tests (counted as skipped above):");
  for (const [name, why] of Object.entries(EXCLUDED_TESTS)) console.log(`  "${name}": ${why}`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const option = (name: string) => { const at = args.indexOf(name); return at >= 0 ? args[at + 1] : undefined; };
  const commit = option("--commit") ?? PINNED_COMMIT;
  const only = (option("--files") ?? process.env.E2B_SDK_FILES ?? "").split(",").filter(Boolean);
  const repo = args.find((a, i) => !a.startsWith("--") && !["--commit", "--files"].includes(args[i - 1] ?? "")) ?? process.env.E2B_SDK_REPO;
  if (!repo || !existsSync(repo)) usage(repo ? `${repo} does not exist` : "no E2B checkout given");
  const tmp = mkdtempSync(join(tmpdir(), "e2b-sdk-"));
  let server: Awaited<ReturnType<typeof startSandboxServer>> | undefined;
  try {
    const sdk = extract(repo, commit, tmp);
    install(sdk, commit);
    const chosen = SERVER_FACING.filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)));
    if (chosen.length === 0) usage(`no server-facing file starts with ${only.join(" or ")}`);
    const config = writeConfig(sdk, chosen.filter((f) => existsSync(join(sdk, f))));
    server = await startSandboxServer({ dataDir: join(tmp, "data"), apiKey: LOCAL_E2B_API_KEY, quiet: true });
    const json = join(tmp, "report.json");
    const env: NodeJS.ProcessEnv = { ...process.env, E2B_API_KEY: LOCAL_E2B_API_KEY, E2B_API_URL: server.url, E2B_SANDBOX_URL: server.url, E2B_DOMAIN: "localhost" };
    delete env.E2B_DEBUG;
    const code = await new Promise<number>((res) => {
      const child = spawn(join(sdk, "node_modules", ".bin", "vitest"), ["run", "--config", config, "-t", notExcluded(), "--reporter=dot", "--reporter=json", `--outputFile.json=${json}`], { cwd: sdk, env, stdio: "inherit" });
      child.on("exit", (c) => res(c ?? 1));
    });
    if (!existsSync(json)) throw new Error(`vitest exited ${code} without a report`);
    const rows = results(json, sdk);
    printTable(rows, commit);
    const failures = rows.flatMap((r) => r.failures.map((f) => `${r.file} > ${f}`)).join("\n");
    writeFileSync(process.env.E2B_SDK_FAILURES ?? join(tmp, "failures.txt"), `${failures}\n`);
  } finally {
    await server?.stop();
    if (process.env.E2B_SDK_KEEP !== "1") rmSync(tmp, { recursive: true, force: true });
    else console.log(`kept ${tmp}`);
  }
}

await main();
