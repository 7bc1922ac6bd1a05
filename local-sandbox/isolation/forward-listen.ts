// Runs inside a sandbox's network namespace (started by forward.ts with `nsenter -n`): binds one
// listening socket per forwarded address on the sandbox's own loopback, hands each to the server
// over the IPC channel (the sockets stay in the sandbox's namespace; the server accepts on them),
// then exits. Arguments: ip:port ...
import { createServer, type Server } from "node:net";

const listen = (spec: string) =>
  new Promise<Server>((resolve, reject) => {
    const at = spec.lastIndexOf(":");
    const server = createServer();
    server.once("error", reject);
    server.listen({ host: spec.slice(0, at), port: Number(spec.slice(at + 1)), backlog: 128 }, () => resolve(server));
  });

try {
  for (const spec of process.argv.slice(2)) {
    const server = await listen(spec);
    await new Promise<void>((resolve, reject) => process.send?.(spec, server, (err: Error | null) => (err ? reject(err) : resolve())));
    server.close();
  }
  process.exit(0);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
}
