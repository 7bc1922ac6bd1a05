// CLI entry: `node local-sandbox/main.ts` (Node >= 22.18 / 24 runs the TypeScript directly).
// Reads configuration from the environment (see README.md), starts the server, prints one line
// with its address (and one with its random E2B API key when E2B_API_KEY is unset), and on SIGTERM/SIGINT kills every sandbox process before exiting.
import { optionsFromEnv } from "./config.ts";
import { closeInheritedFds } from "./inherited-fds.ts";
import { startSandboxServer } from "./server.ts";

// Before anything is spawned: no sandbox command inherits its starter's descriptors.
closeInheritedFds();

process.on("unhandledRejection", (err) => {
  process.stderr.write(`[local-sandbox] unhandled rejection: ${(err as Error)?.stack ?? String(err)}\n`);
});

try {
  const options = optionsFromEnv();
  const server = await startSandboxServer(options);
  process.stdout.write(`local-sandbox listening on ${server.url} (isolation: ${server.isolation})\n`);
  // A key made up for this start (E2B_API_KEY unset): the one way to learn it.
  if (options.apiKey === undefined) process.stdout.write(`E2B_API_KEY=${server.apiKey}\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`[local-sandbox] ${signal}: stopping sandboxes\n`);
    const force = setTimeout(() => process.exit(1), 5000);
    force.unref();
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
} catch (err) {
  process.stderr.write(`[local-sandbox] failed to start: ${(err as Error)?.message ?? String(err)}\n`);
  process.exit(1);
}
