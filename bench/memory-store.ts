/**
 * An in-memory stand-in for the ARTIFACTS bucket's ArtifactStore, for the in-memory baseline: the
 * verification code (stageTree, layTree, buildVerified) runs unchanged against it, so the baseline
 * makes exactly the sandbox calls a Forkyard fork makes. Only the methods that code uses.
 */
import type { ArtifactStore } from "../src/artifacts/store.ts";

class MemoryStore {
  readonly #objects = new Map<string, Uint8Array>();

  async put(key: string, body: ReadableStream<Uint8Array>): Promise<void> {
    this.#objects.set(key, new Uint8Array(await new Response(body).arrayBuffer()));
  }

  async putBytes(key: string, bytes: Uint8Array): Promise<void> {
    this.#objects.set(key, bytes.slice());
  }

  async putJson(key: string, value: unknown): Promise<void> {
    this.#objects.set(key, new TextEncoder().encode(JSON.stringify(value)));
  }

  async getBytes(key: string): Promise<Uint8Array | null> {
    return this.#objects.get(key)?.slice() ?? null;
  }

  async getJson<T>(key: string): Promise<T | null> {
    const bytes = this.#objects.get(key);
    return bytes ? (JSON.parse(new TextDecoder().decode(bytes)) as T) : null;
  }

  async head(key: string, bytes: number): Promise<string | null> {
    const object = this.#objects.get(key);
    return object ? new TextDecoder().decode(object.subarray(0, bytes)) : null;
  }
}

export function memoryStore(): ArtifactStore {
  return new MemoryStore() as unknown as ArtifactStore;
}
