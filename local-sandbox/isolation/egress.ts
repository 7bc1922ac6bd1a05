// A sandbox's outbound rules (E2B's create-body `network: { allowOut, denyOut }`) as this server
// enforces them: in full by the egress proxy (egress-check.ts); for the forwarded host addresses
// (forward.ts), the rules decide which of those are forwarded into its namespace: a forwarded address is left out
// when a `denyOut` CIDR/IP covers it and no `allowOut` IP/CIDR (or `localhost`, for 127.0.0.1)
// covers it. Host names in `allowOut` match nothing here (forwards are IPv4 addresses; there is
// no DNS inside a sandbox), IPv6 rules match nothing, and ports are not considered.
import { isIPv4 } from "node:net";
import { ApiError } from "../errors.ts";
import type { ForwardHost } from "./forward.ts";

export interface NetworkRules {
  allowOut: string[];
  denyOut: string[];
}

function stringList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) throw new ApiError(400, `network.${field} must be an array of strings`);
  return value as string[];
}

/** Every address: what E2B's `allow_internet_access: false` denies (allowOut still wins). */
export const ALL_TRAFFIC = ["0.0.0.0/0", "::/0"];

/**
 * The create body's `network`, or undefined (every forwarded host reachable, as before).
 * `allowInternetAccess` (the body's `allow_internet_access`): false adds ALL_TRAFFIC to denyOut.
 */
export function parseNetwork(value: unknown, allowInternetAccess?: unknown): NetworkRules | undefined {
  if (allowInternetAccess === false) {
    const rules = parseNetwork(value) ?? { allowOut: [], denyOut: [] };
    return { ...rules, denyOut: [...new Set([...rules.denyOut, ...ALL_TRAFFIC])] };
  }
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) throw new ApiError(400, "network must be an object");
  const v = value as Record<string, unknown>;
  const rules = { allowOut: stringList(v.allowOut, "allowOut"), denyOut: stringList(v.denyOut, "denyOut") };
  const badDeny = rules.denyOut.find((r) => !isIPv4Cidr(r) && !r.includes(":"));
  if (badDeny !== undefined) throw new ApiError(400, `network.denyOut: ${JSON.stringify(badDeny)} is not an IP address or CIDR range`);
  return rules;
}

function isIPv4Cidr(rule: string): boolean {
  const [addr, prefix, extra] = rule.split("/");
  return extra === undefined && !!addr && isIPv4(addr) && (prefix === undefined || (/^\d{1,2}$/.test(prefix) && Number(prefix) <= 32));
}

function ipv4ToInt(ip: string): number {
  return ip.split(".").reduce((n, part) => (n << 8) + Number(part), 0) >>> 0;
}

/** Whether an IPv4 rule (address or CIDR; `localhost` as 127.0.0.1) covers `ip`. */
export function ruleCovers(rule: string, ip: string): boolean {
  const r = rule === "localhost" ? "127.0.0.1" : rule;
  if (!isIPv4Cidr(r)) return false;
  const [addr, prefix] = r.split("/");
  const bits = prefix === undefined ? 32 : Number(prefix);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return ((ipv4ToInt(addr!) & mask) >>> 0) === ((ipv4ToInt(ip) & mask) >>> 0);
}

/** The forwarded hosts a sandbox with these rules gets: allowed ones, and those no deny rule covers. */
export function allowedForwards(hosts: ForwardHost[], rules: NetworkRules | undefined): ForwardHost[] {
  if (!rules) return hosts;
  return hosts.filter((h) => rules.allowOut.some((r) => ruleCovers(r, h.host)) || !rules.denyOut.some((r) => ruleCovers(r, h.host)));
}
