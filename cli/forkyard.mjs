#!/usr/bin/env node
// The `forkyard` command. The CLI is TypeScript run by Node's type stripping, so it needs
// Node >= 22.18 (or 24). Inside the repo, `npx forkyard` puts the pinned Node 24 first on PATH.
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(`forkyard needs Node >= 22.18 (found ${process.versions.node}); inside the repo run it with \`npx forkyard\`.\n`);
  process.exit(2);
}
const { main } = await import("./main.ts");
process.exitCode = await main(process.argv);
