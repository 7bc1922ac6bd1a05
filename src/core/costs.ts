import type { Config } from "./env";

/** What a sandbox's time is costed at: its size (a run's profile, else the global SANDBOX_VCPU and SANDBOX_MEMORY_GIB). */
export interface SandboxRate {
  vcpu: number;
  memoryGib: number;
}

/** E2B bills running sandboxes per second: vCPU x price + GiB x price. */
export function sandboxCostUsd(config: Config, aliveSeconds: number, rate: SandboxRate = globalSandboxRate(config)): number {
  const perSecond = rate.vcpu * config.PRICE_VCPU_SECOND + rate.memoryGib * config.PRICE_GIB_SECOND;
  return roundUsd(aliveSeconds * perSecond);
}

export function globalSandboxRate(config: Config): SandboxRate {
  return { vcpu: config.SANDBOX_VCPU, memoryGib: config.SANDBOX_MEMORY_GIB };
}

export function roundUsd(usd: number): number {
  return Math.round(usd * 1e8) / 1e8;
}

/**
 * One sandbox cost per fork, whichever of the fork or the Orchestrator releases it first; a fork
 * continued after a budget stop ended it books each later life's sandbox apart (`life` 1, 2, …).
 */
export function sandboxCostKey(n: number, life = 0): string {
  return life > 0 ? `fork:${n}:sandbox:${life}` : `fork:${n}:sandbox`;
}

/** A fork's verification sandbox time (booked as sandbox cost, shown apart as `costUsd.verification`). */
export function verificationCostKey(n: number): string {
  return `fork:${n}:verification`;
}
