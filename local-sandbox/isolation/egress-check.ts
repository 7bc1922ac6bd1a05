// Which destinations the egress proxy (egress-proxy.ts) opens for a sandbox, by E2B's rules:
// `allowOut` wins over `denyOut`; deny rules are addresses/CIDRs, checked against the address the
// server resolved; allow rules are addresses/CIDRs (checked the same way) or host names (`example.com`,
// `*.example.com`), matched on the host name the client asked for (CONNECT authority, URL host).
//
// On top of the rules, the server protects itself and its networks: an address of the host
// (its interfaces' addresses), a private, link-local, CGNAT, multicast or reserved address is opened
// only by an allow rule that names that address (an IP or CIDR covering it) — never by an allowed
// host name (so a name cannot smuggle a private address) and never by SANDBOX_EGRESS=open; the
// host's loopback not even so unless SANDBOX_EGRESS_LOOPBACK allows it (on E2B, 127.0.0.1 is the
// sandbox's own: an allow rule for it never meant the host); the server's own port and the
// addresses it forwards (except at the forwarded ports the sandbox has) are never opened.
import { BlockList, isIP } from "node:net";
import { networkInterfaces } from "node:os";
import type { ForwardHost } from "./forward.ts";
import type { NetworkRules } from "./egress.ts";

/** `off`: no proxy; `allowlist`: only what allowOut names; `open`: also public addresses no denyOut covers. */
export type EgressMode = "off" | "allowlist" | "open";
export const EGRESS_MODES: EgressMode[] = ["off", "allowlist", "open"];

const PROTECTED_V4 = ["0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/3"];
const PROTECTED_V6 = ["::/127", "64:ff9b::/96", "100::/64", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8"];

/** An address as the kernel would reach it: an IPv4-mapped IPv6 address is its IPv4 address. */
export function normalizeAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address.toLowerCase();
}

const family = (address: string) => (isIP(address) === 6 ? "ipv6" : "ipv4");

/** Addresses and ranges of both families; an IPv4 address is never matched by an IPv6 range (BlockList would, as mapped). */
export class AddressSet {
  private readonly v4 = new BlockList();
  private readonly v6 = new BlockList();

  add(address: string, bits: number): void {
    const kind = family(address);
    (kind === "ipv4" ? this.v4 : this.v6).addSubnet(address, bits, kind);
  }

  has(address: string): boolean {
    const a = normalizeAddress(address);
    const kind = family(a);
    return (kind === "ipv4" ? this.v4 : this.v6).check(a, kind);
  }
}

/** The address rules (`a.b.c.d`, `a.b.c.d/n`, IPv6 alike, `localhost`) of a rule list; other rules are skipped. */
function addressList(rules: string[]): AddressSet {
  const list = new AddressSet();
  for (const raw of rules) {
    const rule = raw === "localhost" ? "127.0.0.1" : raw;
    const [addr = "", prefix, extra] = rule.split("/");
    const kind = isIP(addr);
    if (kind === 0 || extra !== undefined) continue;
    const bits = prefix === undefined ? (kind === 4 ? 32 : 128) : Number(prefix);
    if (!Number.isInteger(bits) || bits < 0 || bits > (kind === 4 ? 32 : 128)) continue;
    list.add(normalizeAddress(addr), bits);
  }
  return list;
}

const PROTECTED = addressList([...PROTECTED_V4, ...PROTECTED_V6]);
/** The host's loopback as a connection reaches it (0.0.0.0 and :: connect there too). */
const LOOPBACK = addressList(["127.0.0.0/8", "0.0.0.0/8", "::/127"]);

/** The host's own interface addresses (read per check: interfaces may change). */
function hostAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) out.add(normalizeAddress(i.address.split("%")[0]!));
  return out;
}

/** True for an address of the host or a private/reserved range. */
export function isProtected(address: string): boolean {
  const a = normalizeAddress(address);
  return PROTECTED.has(a) || hostAddresses().has(a);
}

/** A lower-cased host name without a trailing dot. */
const canonicalName = (name: string) => name.toLowerCase().replace(/\.$/, "");

function nameAllowed(patterns: string[], host: string): boolean {
  const name = canonicalName(host);
  return patterns.some((p) => (p.startsWith("*.") ? name.endsWith(p.slice(1)) : name === p));
}

/** The server's egress settings. */
export interface EgressSettings {
  mode: EgressMode;
  /** Whether an allowOut address rule may open the host's loopback (SANDBOX_EGRESS_LOOPBACK). */
  hostLoopback: boolean;
  /** Every address the server forwards (SANDBOX_FORWARD_HOSTS). */
  forwardHosts: ForwardHost[];
  /** This server's port (never opened on a host address), once it listens. */
  serverPort?: number | undefined;
  /** Connections to the proxy one sandbox may hold at once (default MAX_CONNECTIONS_PER_SANDBOX). */
  maxConnections?: number;
}

/** A sandbox's egress rules, compiled once per namespace start. */
export interface EgressPolicy {
  mode: EgressMode;
  hostLoopback: boolean;
  allowAddresses: AddressSet;
  allowNames: string[];
  deny: AddressSet;
  /** Forwarded ip:port the sandbox has (reachable through the proxy too). */
  forwards: ForwardHost[];
  /** Every address the server forwards (their other ports are the host's: never opened). */
  forwardedAddresses: Set<string>;
  /** This server's port (never opened on a host address). */
  serverPort: number | undefined;
}

/** `forwards`: the forwarded addresses this sandbox has (allowedForwards). */
export function compilePolicy(settings: EgressSettings, rules: NetworkRules | undefined, forwards: ForwardHost[]): EgressPolicy {
  const allow = rules?.allowOut ?? [];
  return {
    mode: settings.mode,
    hostLoopback: settings.hostLoopback,
    allowAddresses: addressList(allow),
    allowNames: allow.filter((r) => r !== "localhost" && isIP(r.split("/")[0]!) === 0).map(canonicalName),
    deny: addressList(rules?.denyOut ?? []),
    forwards,
    forwardedAddresses: new Set(settings.forwardHosts.map((f) => f.host)),
    serverPort: settings.serverPort,
  };
}

/** Whether a sandbox with these rules gets the proxy: its allowOut names something beyond its forwards, or egress is open. */
export function proxyWanted(settings: EgressSettings, rules: NetworkRules | undefined): boolean {
  if (settings.mode !== "allowlist") return settings.mode === "open";
  const forwarded = addressList(settings.forwardHosts.map((f) => f.host));
  return (rules?.allowOut ?? []).some((r) => {
    const addr = r === "localhost" ? "127.0.0.1" : r.split("/")[0]!;
    if (isIP(addr) === 0 || r.includes("/")) return true;
    return !forwarded.has(addr) && (settings.hostLoopback || !LOOPBACK.has(addr));
  });
}

export type Verdict = { allowed: true } | { allowed: false; reason: string };

/** The verdict for one resolved address of `host` (the name or literal the client asked for) at `port`. */
export function checkAddress(policy: EgressPolicy, host: string, address: string, port: number): Verdict {
  const a = normalizeAddress(address);
  const literal = isIP(host.replace(/^\[|\]$/g, "")) !== 0;
  const deny = (why: string): Verdict => ({ allowed: false, reason: `${literal ? a : `${host} (${a})`}:${port} ${why}` });
  const hostOwn = isProtected(a);
  if (policy.forwardedAddresses.has(a)) {
    return policy.forwards.some((f) => f.host === a && f.port === port) ? { allowed: true } : deny("is a forwarded host address: only its forwarded ports are reachable");
  }
  if (hostOwn && port === policy.serverPort) return deny("is the sandbox server itself");
  if (LOOPBACK.has(a) && !policy.hostLoopback) return deny("is the host's loopback: reached only at forwarded addresses");
  if (policy.allowAddresses.has(a)) return { allowed: true };
  if (hostOwn) return deny("is a private or host address: only an allowOut address or CIDR covering it opens it");
  if (!literal && nameAllowed(policy.allowNames, host)) return { allowed: true };
  if (policy.deny.has(a)) return deny("is denied by the sandbox's denyOut rules");
  if (policy.mode === "open") return { allowed: true };
  return deny("is not in the sandbox's allowOut rules");
}
