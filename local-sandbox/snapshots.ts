// Persistent snapshots (E2B's `POST /sandboxes/{id}/snapshots`, `GET /snapshots`, and
// `DELETE /templates/{id}`, which is how the SDK deletes one): a copy of a sandbox's files that
// outlives it and that `Sandbox.create(snapshotId)` starts new sandboxes from (each with a copy of
// its own: copy-on-create, reflinks where the filesystem has them).
//
// Layout:  <dataDir>/snapshots.json            the table
//          <dataDir>/.snapshots/<key>/{home,tmp}  the files (hidden from sandboxes with the data dir)
// IDs as E2B's: `<template id>:default` unnamed, `local/<name>:default` named ("local" stands for
// the team's namespace); a name taken again gets the new files (E2B: a new build of that template).
// Files only: E2B's snapshots keep memory too (a sandbox made from one resumes its processes).
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { randomBytes, randomInt } from "node:crypto";
import { join } from "node:path";
import { ApiError } from "./errors.ts";
import { copyTree } from "./copy-tree.ts";

/** The namespace part of a named snapshot's ID (E2B: the team's slug). */
export const SNAPSHOT_NAMESPACE = "local";
const TAG = "default";
const NAME = /^[a-z0-9][a-z0-9_-]{0,127}$/;

export interface SnapshotRecord {
  /** `abc…:default` or `local/<name>:default`. */
  snapshotID: string;
  /** The template id part (unnamed) or the name. */
  base: string;
  name?: string;
  /** Where its files are, under .snapshots/. */
  key: string;
  sandboxID: string;
  templateID: string;
  envVars: Record<string, string>;
  createdAt: number;
  /** A template a build made (template-runner.ts): not listed with the snapshots. */
  kind?: "template";
  /** Default working directory of its sandboxes' commands (a template's WORKDIR). */
  workdir?: string;
  /** Started in the background in each sandbox made from it (a template's start command). */
  startCmd?: string;
}

/** What a template build adds to a snapshot. */
export type SnapshotExtras = Pick<SnapshotRecord, "kind" | "workdir" | "startCmd">;

/** The source a snapshot is taken of. */
export interface SnapshotSource {
  id: string;
  dir: string;
  templateID: string;
  envVars: Record<string, string>;
}

/** E2B's `SnapshotInfo`. */
export function snapshotInfo(s: SnapshotRecord): { snapshotID: string; names: string[] } {
  return { snapshotID: s.snapshotID, names: s.name ? [s.snapshotID] : [] };
}

/** Checks a snapshot name: 400 with the field named when it is not one. */
export function parseSnapshotName(value: unknown): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string" || !NAME.test(value)) {
    throw new ApiError(400, "name: must be 1-128 lowercase letters, digits, '-' or '_', starting with a letter or digit");
  }
  return value;
}

function templateId(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  let id = "";
  for (let i = 0; i < 20; i++) id += alphabet[randomInt(alphabet.length)];
  return id;
}

export class SnapshotStore {
  private readonly table: string;
  private readonly root: string;
  private readonly snapshots: SnapshotRecord[] = [];
  private readonly log: (msg: string) => void;

  constructor(dataDir: string, log: (msg: string) => void) {
    this.log = log;
    this.table = join(dataDir, "snapshots.json");
    this.root = join(dataDir, ".snapshots");
    try {
      if (existsSync(this.table)) this.snapshots.push(...(JSON.parse(readFileSync(this.table, "utf8")) as { snapshots: SnapshotRecord[] }).snapshots);
    } catch (err) {
      log(`could not read ${this.table}: ${(err as Error).message}`);
    }
  }

  /** The folder holding a snapshot's `home` and `tmp`. */
  dir(s: SnapshotRecord): string {
    return join(this.root, s.key);
  }

  /**
   * The snapshot a template reference names, or undefined: its ID or name, with or without the
   * namespace (`local/`) and the tag (`:default`; another tag names nothing).
   */
  resolve(ref: string): SnapshotRecord | undefined {
    let base = ref;
    const colon = base.lastIndexOf(":");
    if (colon >= 0) {
      if (base.slice(colon + 1) !== TAG) return undefined;
      base = base.slice(0, colon);
    }
    if (base.startsWith(`${SNAPSHOT_NAMESPACE}/`)) base = base.slice(SNAPSHOT_NAMESPACE.length + 1);
    return this.snapshots.find((s) => s.base === base);
  }

  /** Newest first, templates left out; filtered by source sandbox and by name or ID (as `resolve`). */
  list(filter: { sandboxID?: string; name?: string }): SnapshotRecord[] {
    const named = filter.name === undefined ? undefined : this.resolve(filter.name);
    return this.snapshots
      .filter((s) => s.kind !== "template" && (filter.sandboxID === undefined || s.sandboxID === filter.sandboxID) && (filter.name === undefined || s === named))
      .sort((a, b) => b.createdAt - a.createdAt || (a.snapshotID < b.snapshotID ? -1 : 1));
  }

  /** Copies the source's files into a new snapshot (or a new version of the named one). */
  async create(src: SnapshotSource, name: string | undefined, extras: SnapshotExtras = {}): Promise<SnapshotRecord> {
    const base = name ?? templateId();
    const key = randomBytes(8).toString("hex");
    const dest = join(this.root, key);
    mkdirSync(dest, { recursive: true });
    try {
      for (const part of ["home", "tmp"]) if (existsSync(join(src.dir, part))) await copyTree(join(src.dir, part), join(dest, part));
    } catch (err) {
      await rm(dest, { recursive: true, force: true }).catch(() => {});
      throw new ApiError(500, `Error creating snapshot: ${(err as Error).message}`);
    }
    const snapshot: SnapshotRecord = {
      snapshotID: name ? `${SNAPSHOT_NAMESPACE}/${name}:${TAG}` : `${base}:${TAG}`,
      base,
      ...(name ? { name } : {}),
      key,
      sandboxID: src.id,
      templateID: src.templateID,
      envVars: { ...src.envVars },
      createdAt: Date.now(),
      ...extras,
    };
    const previous = this.resolve(base);
    if (previous) this.remove(previous);
    this.snapshots.push(snapshot);
    this.persist();
    return snapshot;
  }

  /** Deletes the snapshot a reference names; false when there is none. */
  delete(ref: string): boolean {
    const s = this.resolve(ref);
    if (!s) return false;
    this.remove(s);
    this.persist();
    return true;
  }

  private remove(s: SnapshotRecord): void {
    this.snapshots.splice(this.snapshots.indexOf(s), 1);
    rm(this.dir(s), { recursive: true, force: true }).catch((err: unknown) => this.log(`failed to delete snapshot ${s.snapshotID}: ${(err as Error).message}`));
  }

  private persist(): void {
    const tmp = `${this.table}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ version: 1, snapshots: this.snapshots }, null, 1));
    renameSync(tmp, this.table);
  }
}
