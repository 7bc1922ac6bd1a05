import type { Config } from "../core/env";
import type { NetworkPolicy } from "../api/network-policy";
import { sandboxConnection } from "./connection";
import type { SandboxHandle } from "./handle";
import { SandboxProvider, type CreatedSandbox } from "./provider";

/** A sandbox as the control plane lists it: what the Pool's reaper and idempotent acquire read. */
export interface ListedSandbox {
  sandboxId: string;
  metadata: Record<string, string>;
  startedAt: Date;
}

/**
 * The control-plane operations the Pool makes on sandboxes. The e2b SDK implements it
 * (SandboxProvider); unit tests give the Pool's logic a fake.
 */
export interface SandboxBackend {
  create(input: { template: string; timeoutSeconds: number; metadata: Record<string, string>; network?: NetworkPolicy }): Promise<CreatedSandbox>;
  /** Sandboxes whose metadata contains every given pair (running or paused). */
  find(metadata: Record<string, string>): Promise<ListedSandbox[]>;
  /** Every sandbox Forkyard created in this account. */
  listTagged(): Promise<ListedSandbox[]>;
  /** A handle for a sandbox found rather than created. */
  handle(sandboxId: string): Promise<SandboxHandle>;
  pause(sandboxId: string): Promise<void>;
  resume(sandboxId: string, timeoutSeconds?: number): Promise<SandboxHandle>;
  setTimeout(sandboxId: string, timeoutSeconds: number): Promise<void>;
  fork(sandboxId: string, count: number, timeoutSeconds: number): Promise<SandboxHandle[]>;
  /** False when it did not exist (already gone counts as done). */
  kill(sandboxId: string): Promise<boolean>;
}

export type SandboxBackendFactory = (config: Config) => SandboxBackend;

/** The backend of the configured E2B (or E2B-compatible local) control plane, over the official SDK. */
export const e2bSandboxBackend: SandboxBackendFactory = (config) => new SandboxProvider(sandboxConnection(config));
