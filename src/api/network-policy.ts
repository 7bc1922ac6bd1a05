import { z } from "zod";

/**
 * A run's outbound network policy for its sandboxes, as E2B's sandbox `network` option takes it:
 * `denyOut` holds CIDRs or IP addresses only; `allowOut` may also name hosts (`example.com`,
 * `*.example.com`); an allow rule wins over a deny rule.
 */

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9a-f]{0,4}(:[0-9a-f]{0,4}){2,7}$/i;
const HOSTNAME = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/** True for an IPv4/IPv6 address, optionally with a prefix length (`10.0.0.0/8`, `::1/128`). */
export function isCidrOrIp(rule: string): boolean {
  const [addr, prefix, extra] = rule.split("/");
  if (extra !== undefined || !addr) return false;
  const v4 = IPV4.test(addr);
  const v6 = !v4 && IPV6.test(addr) && !/::.*::/.test(addr) && (addr.includes("::") || addr.split(":").length === 8);
  if (!v4 && !v6) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (v4 ? 32 : 128);
}

const cidrRule = z.string().max(64).refine(isCidrOrIp, "must be an IP address or a CIDR range (e.g. 10.0.0.0/8); host names are allowed in allowOut only");
const allowRule = z
  .string()
  .max(253)
  .refine((r) => isCidrOrIp(r) || (HOSTNAME.test(r) && r.includes(".")) || r === "localhost", "must be an IP address, a CIDR range or a host name (e.g. github.com, *.npmjs.org)");

export const networkPolicy = z.strictObject({
  /** Destinations the sandbox may reach even when a deny rule covers them: IPs, CIDRs or host names. */
  allowOut: z.array(allowRule).max(100).optional(),
  /** Destinations the sandbox may not reach: IPs or CIDRs only (`0.0.0.0/0`: everything not allowed). */
  denyOut: z.array(cidrRule).max(100).optional(),
});
export type NetworkPolicy = z.infer<typeof networkPolicy>;

/** Private, link-local, carrier-grade NAT and loopback ranges: denied to every sandbox (see deploymentNetwork). */
export const DEFAULT_DENY_OUT: readonly string[] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "0.0.0.0/8", "fc00::/7", "fe80::/10", "::1/128"];

/** The host part of an http(s)/ssh/git URL (`git@host:path` too), lower-cased; undefined for a local path. */
function urlHost(url: string | undefined): string | undefined {
  if (!url) return undefined;
  const scp = /^[^@/\s]+@([^:/\s]+):/.exec(url);
  if (scp) return scp[1]!.toLowerCase();
  try {
    const host = new URL(url).hostname.toLowerCase();
    return host.replace(/^\[(.*)\]$/, "$1") || undefined;
  } catch {
    return undefined;
  }
}

/**
 * What a run's sandboxes are created with: the run's rules, plus the default denies (private
 * ranges and the host) and, allowed ahead of them, the addresses Forkyard itself needs — the run's
 * git remote and the Worker's model proxy (PUBLIC_URL), when asked. Rules are de-duplicated, order kept.
 */
export function effectiveNetwork(policy: NetworkPolicy, needs: { repo: string; modelUrl?: string }): Required<NetworkPolicy> {
  const needed = [urlHost(needs.repo), urlHost(needs.modelUrl)].filter((h): h is string => !!h);
  return {
    allowOut: [...new Set([...(policy.allowOut ?? []), ...needed])],
    denyOut: [...new Set([...(policy.denyOut ?? []), ...DEFAULT_DENY_OUT])],
  };
}

/**
 * What every sandbox is created with when its holder gives no rules of its own (the Pool applies
 * it, to warm sandboxes too): private ranges and the host denied, the Worker's own address
 * (PUBLIC_URL: the model proxy) allowed.
 */
export function deploymentNetwork(publicUrl: string | undefined): Required<NetworkPolicy> {
  return effectiveNetwork({}, { repo: "", ...(publicUrl ? { modelUrl: publicUrl } : {}) });
}

/** True for an address rule (an IP or `localhost`): one a deny CIDR can cover, unlike a host name. */
function isAddress(host: string): boolean {
  return isCidrOrIp(host) || host === "localhost";
}

/**
 * The rules a run's sandboxes are created with: a run's own `network` with the defaults and what
 * Forkyard needs added (its git remote; for the `claude-code` runtime, the model proxy at
 * PUBLIC_URL). A run without rules gets the deployment's default (undefined here: the Pool adds
 * it), unless its git remote is an address the default does not allow (a local remote): then the
 * default plus that address.
 */
export function runNetwork(request: { network?: NetworkPolicy; repo: string; task: object }, publicUrl: string | undefined): Required<NetworkPolicy> | undefined {
  if (!request.network) {
    const remote = urlHost(request.repo);
    if (!remote || !isAddress(remote) || deploymentNetwork(publicUrl).allowOut.includes(remote)) return undefined;
    return effectiveNetwork({}, { repo: request.repo, ...(publicUrl ? { modelUrl: publicUrl } : {}) });
  }
  const inSandboxModel = "runtime" in request.task && request.task.runtime === "claude-code";
  return effectiveNetwork(request.network, { repo: request.repo, ...(inSandboxModel && publicUrl ? { modelUrl: publicUrl } : {}) });
}
