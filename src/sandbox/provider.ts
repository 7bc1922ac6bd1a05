import { Sandbox, type ConnectionOpts, type SandboxInfo } from "e2b";
import { classifySandboxError } from "./errors";
import type { NetworkPolicy } from "../api/network-policy";
import { ForkUnsupportedError } from "../core/errors";
import { handleOf, type SandboxHandle } from "./handle";
import { SANDBOX_APP_VALUE, SANDBOX_TAG } from "./metadata";

export interface CreatedSandbox {
  sandboxId: string;
  handle: SandboxHandle;
}

/** Control-plane operations on sandboxes (create, find, list, kill) over the official e2b SDK. */
export class SandboxProvider {
  readonly #opts: ConnectionOpts;

  constructor(opts: ConnectionOpts) {
    this.#opts = opts;
  }

  async create(input: { template: string; timeoutSeconds: number; metadata: Record<string, string>; network?: NetworkPolicy }): Promise<CreatedSandbox> {
    try {
      const sandbox = await Sandbox.create(input.template, { ...this.#opts, timeoutMs: input.timeoutSeconds * 1000, metadata: input.metadata, ...(input.network ? { network: input.network } : {}) });
      return { sandboxId: sandbox.sandboxId, handle: handleOf(sandbox) };
    } catch (err) {
      throw classifySandboxError(err, "create sandbox");
    }
  }

  /** Sandboxes whose metadata contains every given pair (running or paused). */
  async find(metadata: Record<string, string>, limit = 100): Promise<SandboxInfo[]> {
    const found: SandboxInfo[] = [];
    try {
      const paginator = Sandbox.list({ ...this.#opts, query: { metadata }, limit: Math.min(limit, 100) });
      while (paginator.hasNext && found.length < limit) found.push(...(await paginator.nextItems()));
    } catch (err) {
      throw classifySandboxError(err, "list sandboxes");
    }
    return found;
  }

  /** A handle for a sandbox found rather than created (one connect). */
  async handle(sandboxId: string): Promise<SandboxHandle> {
    try {
      return handleOf(await Sandbox.connect(sandboxId, this.#opts));
    } catch (err) {
      throw classifySandboxError(err, "connect sandbox");
    }
  }

  /** Every sandbox Forkyard created in this account. */
  listTagged(limit = 10_000): Promise<SandboxInfo[]> {
    return this.find({ [SANDBOX_TAG.app]: SANDBOX_APP_VALUE }, limit);
  }

  /** Pauses a running sandbox (files and processes' disk state kept, no compute). Already paused is fine. */
  async pause(sandboxId: string): Promise<void> {
    try {
      await Sandbox.pause(sandboxId, this.#opts);
    } catch (err) {
      const classified = classifySandboxError(err, "pause sandbox");
      if (classified.details?.status === 409 || /already paused/i.test(classified.message)) return;
      throw classified;
    }
  }

  /** Resumes a paused sandbox (connect resumes it), optionally with a new timeout; a running one is left as it is. */
  async resume(sandboxId: string, timeoutSeconds?: number): Promise<SandboxHandle> {
    try {
      return handleOf(await Sandbox.connect(sandboxId, { ...this.#opts, ...(timeoutSeconds ? { timeoutMs: timeoutSeconds * 1000 } : {}) }));
    } catch (err) {
      throw classifySandboxError(err, "resume sandbox");
    }
  }

  /** Sets how long from now the sandbox lives (E2B kills it then). */
  async setTimeout(sandboxId: string, timeoutSeconds: number): Promise<void> {
    try {
      await Sandbox.setTimeout(sandboxId, timeoutSeconds * 1000, this.#opts);
    } catch (err) {
      throw classifySandboxError(err, "set sandbox timeout");
    }
  }

  /**
   * Forks a running sandbox into `count` new ones (files and memory copied; E2B answers 409 for a
   * paused source). Fails as a whole if any child failed to start, killing those that did.
   */
  async fork(sandboxId: string, count: number, timeoutSeconds: number): Promise<SandboxHandle[]> {
    let results: Array<Sandbox | Error>;
    try {
      results = await Sandbox.fork(sandboxId, { ...this.#opts, count, timeoutMs: timeoutSeconds * 1000 });
    } catch (err) {
      // A backend without sandbox fork (or a sandbox it cannot find to fork) answers 404, 405 or 501.
      const status = (err as { statusCode?: number }).statusCode ?? Number(/^(\d{3}):/.exec(err instanceof Error ? err.message : "")?.[1]);
      if (status === 404 || status === 405 || status === 501) throw new ForkUnsupportedError(sandboxId, status);
      throw classifySandboxError(err, "fork sandbox");
    }
    const failed = results.find((r): r is Error => r instanceof Error);
    if (failed) {
      await Promise.all(results.map((r) => (r instanceof Error ? undefined : this.kill(r.sandboxId).catch(() => undefined))));
      throw classifySandboxError(failed, "fork sandbox");
    }
    return (results as Sandbox[]).map(handleOf);
  }

  /** Kills a sandbox; false when it did not exist (already gone counts as done). */
  async kill(sandboxId: string): Promise<boolean> {
    try {
      return await Sandbox.kill(sandboxId, this.#opts);
    } catch (err) {
      throw classifySandboxError(err, "kill sandbox");
    }
  }
}
