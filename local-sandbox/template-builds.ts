// The template builds of E2B's build API (`Template.build()`): a table of builds (in memory: a build
// is over in seconds to minutes; what lasts is the template it makes, stored as a snapshot) with
// their status and structured logs, and the build-context file cache the SDK uploads COPY sources
// to (`<dataDir>/.template-files/<hash>`, inside the data dir, so hidden from every sandbox).
// Uploads go to a URL signed for one hash (the SDK PUTs there without its API key, as to S3).
import { createHmac, randomBytes, randomInt, timingSafeEqual } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { ApiError } from "./errors.ts";
import { parseSnapshotName } from "./snapshots.ts";

export type BuildStatus = "waiting" | "building" | "ready" | "error";
export type LogLevel = "debug" | "info" | "warn" | "error";

/** E2B's `BuildLogEntry`. */
export interface BuildLogEntry {
  timestamp: string;
  level: LogLevel;
  message: string;
  step?: string;
}

export interface BuildRecord {
  templateID: string;
  buildID: string;
  /** The name the template is stored under (a snapshot name). */
  name: string;
  status: BuildStatus;
  logs: BuildLogEntry[];
  /** Why it failed: E2B's `BuildStatusReason` (`step`: "base", a step number from 1, or "finalize"). */
  reason?: { message: string; step?: string };
}

/** Log entries kept per build (beyond: dropped, with a note); each message is cut at LINE_MAX. */
const LOGS_MAX = 10_000;
const LINE_MAX = 4096;
const HASH = /^[a-f0-9]{16,128}$/;
/** Builds remembered; beyond it the oldest finished ones are forgotten. */
const BUILDS_MAX = 500;

function randomId(length: number): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  let id = "";
  for (let i = 0; i < length; i++) id += alphabet[randomInt(alphabet.length)];
  return id;
}

/** `name` or `name:default` → the name (a snapshot name); other tags → 400, the field named. */
export function parseTemplateName(value: unknown, tags: unknown): string {
  if (typeof value !== "string" || value === "") throw new ApiError(400, "name: required");
  const colon = value.indexOf(":");
  const tag = colon < 0 ? undefined : value.slice(colon + 1);
  if ((tag !== undefined && tag !== "default") || (Array.isArray(tags) && tags.some((t) => t !== "default"))) {
    throw new ApiError(400, "tags: template tags are not supported by the local sandbox server (a name is one template)");
  }
  const name = parseSnapshotName(colon < 0 ? value : value.slice(0, colon));
  if (!name) throw new ApiError(400, "name: required");
  return name;
}

/** Checks a build-context hash (the SDK's sha256 of the COPY sources). */
export function parseFilesHash(value: string): string {
  if (!HASH.test(value)) throw new ApiError(400, "hash: must be a lowercase hex digest");
  return value;
}

export class TemplateBuilds {
  private readonly builds = new Map<string, BuildRecord>();
  private readonly secret = randomBytes(32);
  readonly filesDir: string;

  constructor(dataDir: string) {
    this.filesDir = join(dataDir, ".template-files");
  }

  /** A new build (status `waiting` until its steps arrive). */
  request(name: string): BuildRecord {
    const build: BuildRecord = { templateID: randomId(20), buildID: crypto.randomUUID(), name, status: "waiting", logs: [] };
    this.builds.set(`${build.templateID}/${build.buildID}`, build);
    for (const [key, old] of this.builds) {
      if (this.builds.size <= BUILDS_MAX) break;
      if (old.status === "ready" || old.status === "error") this.builds.delete(key);
    }
    return build;
  }

  require(templateID: string, buildID: string): BuildRecord {
    const build = this.builds.get(`${templateID}/${buildID}`);
    if (!build) throw new ApiError(404, `Build '${buildID}' of template '${templateID}' not found`);
    return build;
  }

  /** Checks that a build was requested under this template ID. */
  requireTemplate(templateID: string): void {
    for (const b of this.builds.values()) if (b.templateID === templateID) return;
    throw new ApiError(404, `Template '${templateID}' not found`);
  }

  log(build: BuildRecord, level: LogLevel, message: string, step?: string): void {
    if (build.logs.length >= LOGS_MAX) return;
    const text = build.logs.length === LOGS_MAX - 1 ? `(log limit of ${LOGS_MAX} lines reached; later lines dropped)` : message.slice(0, LINE_MAX);
    build.logs.push({ timestamp: new Date().toISOString(), level, message: text, ...(step !== undefined ? { step } : {}) });
  }

  /** Where an uploaded build-context archive is kept. */
  filePath(hash: string): string {
    return join(this.filesDir, parseFilesHash(hash));
  }

  hasFile(hash: string): boolean {
    return existsSync(this.filePath(hash));
  }

  ensureFilesDir(): void {
    mkdirSync(this.filesDir, { recursive: true });
  }

  /** The signature of an upload URL for one hash. */
  uploadToken(hash: string): string {
    return createHmac("sha256", this.secret).update(parseFilesHash(hash)).digest("hex");
  }

  checkUploadToken(hash: string, token: string | null): void {
    const want = Buffer.from(this.uploadToken(hash));
    const got = Buffer.from(token ?? "");
    if (got.length !== want.length || !timingSafeEqual(got, want)) throw new ApiError(403, "Invalid or missing upload signature");
  }
}
