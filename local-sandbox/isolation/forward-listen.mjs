// @ts-check
// Runs inside a sandbox's network namespace (started by forward.ts with `nsenter -n`): binds one
// listening socket per forwarded address on the sandbox's own loopback, hands each to the server
// over the IPC channel (the sockets stay in the sandbox's namespace; the server accepts on it),
// then exits. Arguments: ip:port ...
//
// Plain JavaScript on purpose: it starts once per sandbox start, and Node's TypeScript stripping
// would almost triple its cost (about 210 against 75 ms of CPU per start, measured here).
import { createServer } from "node:net";

/** @param {string} spec ip:port */
const listen = (spec) =>
  /** @type {Promise<import("node:net").Server>} */ (
    new Promise((resolve, reject) => {
      const at = spec.lastIndexOf(":");
      const server = createServer();
      server.once("error", reject);
      server.listen({ host: spec.slice(0, at), port: Number(spec.slice(at + 1)), backlog: 128 }, () => resolve(server));
    })
  );

try {
  for (const spec of process.argv.slice(2)) {
    const server = await listen(spec);
    await new Promise((resolve, reject) => process.send?.(spec, server, (/** @type {Error | null} */ err) => (err ? reject(err) : resolve(undefined))));
    server.close();
  }
  process.exit(0);
} catch (err) {
  process.stderr.write(`${/** @type {Error} */ (err).message}\n`);
  process.exit(1);
}
