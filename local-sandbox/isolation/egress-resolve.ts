// Name resolution for the egress proxy, in the server (sandboxes have no DNS): the host's
// /etc/hosts first, then DNS through c-ares (dns.Resolver). Not dns.lookup: getaddrinfo runs on
// libuv's four pool threads, which sandboxes could then fill with slow lookups and stall every file
// operation of the server. An IP literal is itself.
import { Resolver } from "node:dns/promises";
import { readFile } from "node:fs/promises";
import { isIP } from "node:net";

/** Addresses /etc/hosts gives `name` (lower-cased, no trailing dot). */
export function hostsEntries(text: string, name: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const [address, ...names] = line.replace(/#.*/, "").trim().split(/\s+/);
    if (address && isIP(address) !== 0 && names.some((n) => n.toLowerCase() === name)) out.push(address);
  }
  return out;
}

export class EgressResolver {
  private readonly dns = new Resolver({ timeout: 3000, tries: 2 });
  private readonly hostsFile: string;

  constructor(hostsFile = "/etc/hosts") {
    this.hostsFile = hostsFile;
  }

  /** The addresses of `host` (a name or an IP literal), or throws with a message for the client. */
  async resolve(host: string): Promise<string[]> {
    if (isIP(host) !== 0) return [host];
    const name = host.toLowerCase().replace(/\.$/, "");
    const hosts = hostsEntries(await readFile(this.hostsFile, "utf8").catch(() => ""), name);
    if (hosts.length > 0) return hosts;
    const [v4, v6] = await Promise.allSettled([this.dns.resolve4(name), this.dns.resolve6(name)]);
    const found = [...(v4.status === "fulfilled" ? v4.value : []), ...(v6.status === "fulfilled" ? v6.value : [])];
    if (found.length === 0) throw new Error(`could not resolve ${name}`);
    return found;
  }

  close(): void {
    this.dns.cancel();
  }
}
