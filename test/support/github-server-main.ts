// The test GitHub as a process of its own (test/global-setup.ts): `url <url>` on stdout once it
// listens; SIGTERM closes it. Env: GITHUB_ROOT (bare repositories), GITHUB_SOURCE (the repo they
// copy), GITHUB_TOKEN.
import { startTestGitHub } from "./github-server.ts";

const { GITHUB_ROOT, GITHUB_SOURCE, GITHUB_TOKEN } = process.env;
if (!GITHUB_ROOT || !GITHUB_SOURCE || !GITHUB_TOKEN) throw new Error("GITHUB_ROOT, GITHUB_SOURCE and GITHUB_TOKEN are required");
const server = await startTestGitHub(GITHUB_ROOT, GITHUB_SOURCE, GITHUB_TOKEN);
process.stdout.write(`url ${server.url}\n`);
const close = () => void server.close().finally(() => process.exit(0));
process.on("SIGTERM", close);
process.on("SIGINT", close);
