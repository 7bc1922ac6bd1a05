import { NotFoundError } from "../core/errors";
import { log } from "../observability/log";

/** One stored artifact of a fork. */
export interface ArtifactEntry {
  path: string;
  bytes: number;
  sha256: string;
}

/** Every object of a run lives under this prefix (a run's delete removes it whole). */
export function runPrefix(runId: string): string {
  return `runs/${runId}/`;
}

/** Where a fork's files and patch live in the ARTIFACTS bucket. */
export function artifactPrefix(runId: string, n: number): string {
  return `runs/${runId}/${n}/files/`;
}

export function patchKey(runId: string, n: number): string {
  return `runs/${runId}/${n}/patch.diff`;
}

/** Every object of a session (its patch, its workspace snapshots) lives under this prefix (a session's delete removes it whole). */
export function sessionPrefix(sessionId: string): string {
  return `sessions/${sessionId}/`;
}

/** Where turn n of a session stood when it went on in its k-th continuation instance (src/workflows/turn-continuation.ts). */
export function turnContinuationKey(sessionId: string, n: number, k: number): string {
  return `sessions/${sessionId}/turns/${n}/continue-${k}.json`;
}

/** A session's patch against its base (objects/session/session-work.ts). */
export function sessionPatchKey(sessionId: string): string {
  return `sessions/${sessionId}/patch.diff`;
}

/** The verified patch of the run fork a session continues, copied for its rebuilds (actions/session-origin.ts). */
export function sessionOriginPatchKey(sessionId: string): string {
  return `sessions/${sessionId}/origin.diff`;
}

/**
 * An agent fork's conversation (a ForkTranscript), kept with its sandbox (keepSandboxes) for a
 * session to continue.
 */
export function transcriptKey(runId: string, n: number): string {
  return `runs/${runId}/${n}/transcript.json`;
}

/** What a branch of fork n starts from (branch k; 0: the fork's state at its end, when its sandbox is kept). */
export function branchStateKey(runId: string, n: number, k: number): string {
  return `runs/${runId}/${n}/branch-${k}.json`;
}

/**
 * A fork's step snapshots (runs with `snapshots: "steps"`): `steps/<boundary>.json` (a StepRecord),
 * `steps/<boundary>.manifest.json` (the workspace's manifest then, for the next boundary's delta)
 * and `steps/blobs/<sha256>` (files' contents).
 */
export function stepSnapshotKey(runId: string, n: number, name: string): string {
  return `runs/${runId}/${n}/steps/${name}`;
}

/** What a branch of fork n at an earlier step starts from (`atStep`; `id` keeps two such branches apart). */
export function stepBranchStateKey(runId: string, n: number, atStep: string, id: string): string {
  return `runs/${runId}/${n}/branch-at-${atStep}-${id}.json`;
}

/** Where fork n stood when it went on in its k-th continuation instance (src/workflows/fork-continuation.ts). */
export function continuationStateKey(runId: string, n: number, k: number): string {
  return `runs/${runId}/${n}/continue-${k}.json`;
}

/** A fork's exported tree, staged for its verification sandbox: `manifest.json` and one object per file (`f<i>`). */
export function verifyTreeKey(runId: string, n: number, name: string): string {
  return `runs/${runId}/${n}/verify/${name}`;
}

/** The most objects one cron run deletes (the rest wait for the next run). */
const PRUNE_BATCH = 5_000;

/** Reads and writes fork artifacts in R2; every object carries its sha256 (R2 checks it on put). */
export class ArtifactStore {
  readonly #bucket: R2Bucket;

  constructor(bucket: R2Bucket) {
    this.#bucket = bucket;
  }

  async put(key: string, body: ReadableStream<Uint8Array>, bytes: number, sha256: string, contentType = "application/octet-stream"): Promise<void> {
    await this.#bucket.put(key, body.pipeThrough(new FixedLengthStream(bytes)), { sha256, customMetadata: { sha256 }, httpMetadata: { contentType } });
  }

  async putBytes(key: string, bytes: Uint8Array): Promise<void> {
    await this.#bucket.put(key, bytes);
  }

  /** Copies an object to another key; false when there is none to copy. */
  async copy(from: string, to: string): Promise<boolean> {
    const object = await this.#bucket.get(from);
    if (!object) return false;
    await this.#bucket.put(to, await object.arrayBuffer(), { httpMetadata: object.httpMetadata, customMetadata: object.customMetadata });
    return true;
  }

  async getBytes(key: string): Promise<Uint8Array | null> {
    const object = await this.#bucket.get(key);
    return object ? new Uint8Array(await object.arrayBuffer()) : null;
  }

  /** Deletes every object under `prefix` (a fork's staged tree once verified); returns how many. */
  async deletePrefix(prefix: string): Promise<number> {
    let deleted = 0;
    for (;;) {
      const page = await this.#bucket.list({ prefix, limit: 1000 });
      if (page.objects.length === 0) return deleted;
      await this.#bucket.delete(page.objects.map((o) => o.key));
      deleted += page.objects.length;
    }
  }

  async putJson(key: string, value: unknown): Promise<void> {
    await this.#bucket.put(key, JSON.stringify(value), { httpMetadata: { contentType: "application/json" } });
  }

  /** The first `bytes` of an object as text (a patch's head), or null when there is none. */
  async head(key: string, bytes: number): Promise<string | null> {
    const object = await this.#bucket.get(key, { range: { offset: 0, length: bytes } });
    return object ? object.text() : null;
  }

  /** A JSON object, or null when there is none. */
  async getJson<T>(key: string): Promise<T | null> {
    const object = await this.#bucket.get(key);
    return object ? ((await object.json()) as T) : null;
  }

  /** A fork's artifacts, by path. */
  async list(runId: string, n: number): Promise<ArtifactEntry[]> {
    const prefix = artifactPrefix(runId, n);
    const entries: ArtifactEntry[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#bucket.list({ prefix, cursor, include: ["customMetadata"] });
      for (const o of page.objects) entries.push({ path: o.key.slice(prefix.length), bytes: o.size, sha256: o.customMetadata?.sha256 ?? "" });
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    return entries.sort((a, b) => a.path.localeCompare(b.path));
  }

  /** An object's body and metadata; 404 (`what`) when there is none. */
  async get(key: string, what: string, id: string): Promise<R2ObjectBody> {
    const object = await this.#bucket.get(key);
    if (!object) throw new NotFoundError(what, id);
    return object;
  }

  /** Deletes objects uploaded before `before` (retention); returns how many. */
  async prune(before: Date): Promise<number> {
    let deleted = 0;
    let cursor: string | undefined;
    do {
      const page = await this.#bucket.list({ cursor, limit: 1000 });
      const old = page.objects.filter((o) => o.uploaded < before).map((o) => o.key);
      if (old.length > 0) await this.#bucket.delete(old);
      deleted += old.length;
      cursor = page.truncated && deleted < PRUNE_BATCH ? page.cursor : undefined;
    } while (cursor);
    if (deleted > 0) log("info", "artifacts.pruned", { deleted });
    return deleted;
  }
}
