import type { SandboxBackend } from "./backend";

/**
 * Cloudflare lets a Worker or Durable Object invocation have 6 outgoing connections waiting for
 * their response headers at once (more wait in a queue of the runtime's, not in ours; local dev
 * does not enforce it). Forkyard keeps under it itself, so that what it sends in parallel leaves
 * in the order and at the pace it decided (the Pool's creation rate, its kill sweeps).
 */
export const CONNECTIONS_PER_INVOCATION = 6;

/** A counting gate: at most `limit` calls run at once; the others wait in arrival order. */
export class ConnectionGate {
  readonly limit: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number = CONNECTIONS_PER_INVOCATION) {
    if (!(limit >= 1)) throw new RangeError("limit must be at least 1");
    this.limit = limit;
  }

  async run<T>(call: () => Promise<T>): Promise<T> {
    if (this.#running >= this.limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#running++;
    try {
      return await call();
    } finally {
      const next = this.#waiting.shift();
      // The slot passes to the next caller as it is (no decrement then increment: no one can cut in).
      if (next) next();
      else this.#running--;
    }
  }
}

/**
 * A sandbox backend whose control-plane calls go through `gate`: each of them is a request
 * answered only once its work is done (a create once the sandbox is up), i.e. a connection waiting
 * for its response headers the whole time.
 */
export function gatedBackend(backend: SandboxBackend, gate: ConnectionGate = new ConnectionGate()): SandboxBackend {
  const through =
    <A extends unknown[], R>(method: (...args: A) => Promise<R>) =>
    (...args: A) =>
      gate.run(() => method.apply(backend, args));
  return {
    create: through(backend.create),
    find: through(backend.find),
    listTagged: through(backend.listTagged),
    handle: through(backend.handle),
    pause: through(backend.pause),
    resume: through(backend.resume),
    setTimeout: through(backend.setTimeout),
    fork: through(backend.fork),
    kill: through(backend.kill),
  };
}
