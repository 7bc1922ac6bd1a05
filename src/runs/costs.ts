import type { Config } from "../env";

/** E2B bills running sandboxes per second: vCPU x price + GiB x price. */
export function sandboxCostUsd(config: Config, aliveSeconds: number): number {
  const perSecond = config.SANDBOX_VCPU * config.PRICE_VCPU_SECOND + config.SANDBOX_MEMORY_GIB * config.PRICE_GIB_SECOND;
  return roundUsd(aliveSeconds * perSecond);
}

export function roundUsd(usd: number): number {
  return Math.round(usd * 1e8) / 1e8;
}
