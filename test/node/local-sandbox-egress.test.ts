// Egress from an isolated sandbox through the server's HTTP proxy: what a sandbox's rules allow is
// reached (curl, curl through a CONNECT tunnel, python's urllib), nothing else is — a denied
// address, the server itself, a name that resolves to a host address — each refused with 403.
// A local HTTP server on the host's loopback stands in for "the internet" (there is none here); its
// address is allowed explicitly, as a private or host address must be, on a server that lets allow
// rules open the host's loopback (SANDBOX_EGRESS_LOOPBACK; by default it is never opened).
import { createServer, type Server } from "node:http";
import { connect, createServer as createNetServer, type Socket } from "node:net";
import { describe, expect, it, beforeAll, afterAll } from "vitest";
import { CommandExitError, Sandbox } from "e2b";
import { startTestSandboxServer, type TestSandboxServer } from "../../local-sandbox/testing.ts";
import { checkAddress, compilePolicy, proxyWanted, type EgressMode } from "../../local-sandbox/isolation/egress-check.ts";
import { EgressProxy, parseAuthority } from "../../local-sandbox/isolation/egress-proxy.ts";
import { hostsEntries } from "../../local-sandbox/isolation/egress-resolve.ts";

async function run(sbx: Sandbox, cmd: string, envs: Record<string, string> = {}): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  try {
    const r = await sbx.commands.run(cmd, { envs });
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    if (err instanceof CommandExitError) return { exitCode: err.exitCode, stdout: err.stdout, stderr: err.stderr };
    throw err;
  }
}

/** The stand-in lives on the host's loopback, which NO_PROXY keeps for the sandbox's own: proxy it anyway. */
const VIA_PROXY = { NO_PROXY: "", no_proxy: "" };
/** Status and body of a plain-HTTP GET through the proxy. */
const curl = (url: string, flags = "") => `curl -sS ${flags} --max-time 20 -w '\\n%{http_code}' ${url}`;

let internet: Server;
let web: string;
let t: TestSandboxServer;
let open: TestSandboxServer;

beforeAll(async () => {
  internet = createServer((req, res) => res.end(`hello from the internet: ${req.method} ${req.url}`));
  await new Promise<void>((r) => internet.listen(0, "127.0.0.1", r));
  web = `127.0.0.1:${(internet.address() as { port: number }).port}`;
  [t, open] = await Promise.all([startTestSandboxServer({ egressLoopback: true }), startTestSandboxServer({ egress: "open" })]);
});

afterAll(async () => {
  await Promise.all([t?.stop(), open?.stop()]);
  internet?.close();
});

describe("egress through the server's proxy (SANDBOX_EGRESS=allowlist, the default)", () => {
  it("reaches an allowed server with curl, a CONNECT tunnel and python; refuses denied addresses and the server itself", async () => {
    const sbx = await Sandbox.create("base", { ...t.sdk, network: { allowOut: ["127.0.0.1"], denyOut: ["0.0.0.0/0"] } });
    try {
      expect((await run(sbx, curl(`http://${web}/plain`), VIA_PROXY)).stdout).toBe("hello from the internet: GET /plain\n200");
      expect((await run(sbx, curl(`http://localhost:${web.split(":")[1]}/by-name`), VIA_PROXY)).stdout).toBe("hello from the internet: GET /by-name\n200");
      expect((await run(sbx, curl(`http://${web}/tunnel`, "-p"), VIA_PROXY)).stdout).toBe("hello from the internet: GET /tunnel\n200");
      const py = await run(sbx, `python3 -c "import urllib.request; print(urllib.request.urlopen('http://${web}/py', timeout=20).read().decode())"`, VIA_PROXY);
      expect(py.stdout).toBe("hello from the internet: GET /py\n");
      // Not in allowOut: a private address, over plain HTTP and through CONNECT.
      const denied = await run(sbx, curl("http://10.1.2.3/x"), VIA_PROXY);
      expect(denied.stdout).toMatch(/^egress denied: 10\.1\.2\.3:80 is a private or host address.*\n\n403$/);
      expect((await run(sbx, `curl -sS -p -o /dev/null -w '%{http_connect}' http://10.1.2.3/x`, VIA_PROXY)).stdout).toBe("403");
      // The control plane is on an allowed address, but never opened.
      const control = new URL(t.server.url);
      expect((await run(sbx, curl(`http://127.0.0.1:${control.port}/health`), VIA_PROXY)).stdout).toMatch(/is the sandbox server itself\n\n403$/);
    } finally {
      await sbx.kill();
    }
  });

  it("is off for a sandbox whose rules allow nothing beyond its forwards: no proxy variables, no listener", async () => {
    const sbx = await Sandbox.create("base", { ...t.sdk, network: { denyOut: ["0.0.0.0/0"] } });
    try {
      expect((await run(sbx, "env | grep -ci _proxy")).stdout).toBe("0\n");
      expect((await run(sbx, curl(`http://${web}/`), { http_proxy: "http://127.0.0.1:49982" })).exitCode).not.toBe(0);
    } finally {
      await sbx.kill();
    }
  });
});

describe("SANDBOX_EGRESS=open, the host's loopback closed (the default)", () => {
  it("refuses a name that resolves to a host address, the host's loopback even when allowed, and everything without internet access", async () => {
    const plain = await Sandbox.create("base", open.sdk);
    const allowing = await Sandbox.create("base", { ...open.sdk, network: { allowOut: ["127.0.0.1", "localhost"] } });
    const offline = await Sandbox.create("base", { ...open.sdk, allowInternetAccess: false });
    try {
      // E2B's allowInternetAccess: false is a deny of every address (an allowOut would still win).
      expect((await run(offline, curl("http://93.184.216.34/"), VIA_PROXY)).stdout).toMatch(/^egress denied: 93\.184\.216\.34:80 is denied by the sandbox's denyOut rules\n\n403$/);
      expect((await run(plain, "echo $https_proxy $NO_PROXY")).stdout).toBe("http://127.0.0.1:49982 localhost,127.0.0.1,::1\n");
      const byName = await run(plain, curl(`http://localhost:${web.split(":")[1]}/`), VIA_PROXY);
      expect(byName.stdout).toMatch(/^egress denied: localhost \(127\.0\.0\.1\):\d+ is the host's loopback.*\n\n403$/);
      expect((await run(plain, curl("http://internal.example/"), { ...VIA_PROXY })).stdout).toMatch(/^egress failed: could not resolve internal\.example\n\n502$/);
      expect((await run(allowing, curl(`http://${web}/`), VIA_PROXY)).stdout).toMatch(/is the host's loopback.*\n\n403$/);
    } finally {
      await Promise.all([plain.kill(), allowing.kill(), offline.kill()]);
    }
  });
});

describe("the egress decision", () => {
  const forwards = [{ host: "127.0.0.1", port: 8787 }];
  const settings = (mode: EgressMode, forwardHosts = forwards, hostLoopback = false) => ({ mode, hostLoopback, forwardHosts, serverPort: 3049 });
  const verdict = (p: ReturnType<typeof compilePolicy>, host: string, address: string, port = 443) => checkAddress(p, host, address, port).allowed;

  it("allow wins over deny; names match the asked name; a name never opens a private address", () => {
    const p = compilePolicy(settings("allowlist", []), { allowOut: ["github.com", "*.npmjs.org", "8.8.8.0/24"], denyOut: ["0.0.0.0/0"] }, []);
    expect(verdict(p, "github.com", "140.82.112.3")).toBe(true);
    expect(verdict(p, "GitHub.com.", "140.82.112.3")).toBe(true);
    expect(verdict(p, "registry.npmjs.org", "104.16.0.1")).toBe(true);
    expect(verdict(p, "npmjs.org.evil.com", "104.16.0.1")).toBe(false);
    expect(verdict(p, "140.82.112.3", "140.82.112.3")).toBe(false);
    expect(verdict(p, "8.8.8.8", "8.8.8.8")).toBe(true);
    expect(verdict(p, "github.com", "10.0.0.5")).toBe(false);
    expect(verdict(p, "github.com", "::ffff:127.0.0.1")).toBe(false);
    expect(verdict(p, "github.com", "fd00::1")).toBe(false);
  });

  it("open: public addresses unless denied; private and host ones only by an address rule; forwards and the server kept", () => {
    const p = compilePolicy(settings("open"), { allowOut: ["127.0.0.1", "10.0.0.0/8"], denyOut: ["1.1.1.0/24"] }, forwards);
    expect(verdict(p, "example.com", "93.184.216.34")).toBe(true);
    expect(verdict(p, "one.one", "1.1.1.1")).toBe(false);
    expect(verdict(p, "169.254.169.254", "169.254.169.254", 80)).toBe(false);
    expect(verdict(p, "db.internal", "10.1.2.3", 5432)).toBe(true);
    expect(verdict(p, "127.0.0.1", "127.0.0.1", 8787)).toBe(true);
    expect(verdict(p, "127.0.0.1", "127.0.0.1", 9229)).toBe(false);
    // The host's loopback: never by default, even when allowed; with hostLoopback, by an address rule.
    const rules = { allowOut: ["127.0.0.1"], denyOut: [] };
    expect(verdict(compilePolicy(settings("open", []), rules, []), "127.0.0.1", "127.0.0.1", 9229)).toBe(false);
    const q = compilePolicy(settings("open", [], true), rules, []);
    expect(verdict(q, "127.0.0.1", "127.0.0.1", 9229)).toBe(true);
    expect(verdict(q, "0.0.0.0", "0.0.0.0", 9229)).toBe(false);
    expect(verdict(q, "localhost", "127.0.0.1", 3049)).toBe(false);
  });

  it("the proxy is on only when the rules allow something beyond the forwards (Forkyard's default: off)", () => {
    const forkyardDefault = { allowOut: ["127.0.0.1"], denyOut: ["10.0.0.0/8", "127.0.0.0/8"] };
    expect(proxyWanted(settings("allowlist"), forkyardDefault)).toBe(false);
    expect(proxyWanted(settings("allowlist", []), forkyardDefault)).toBe(false);
    expect(proxyWanted(settings("allowlist"), undefined)).toBe(false);
    expect(proxyWanted(settings("allowlist"), { ...forkyardDefault, allowOut: ["127.0.0.1", "registry.npmjs.org"] })).toBe(true);
    expect(proxyWanted(settings("allowlist", [], true), forkyardDefault)).toBe(true);
    expect(proxyWanted(settings("open"), undefined)).toBe(true);
    expect(proxyWanted(settings("off", [], true), forkyardDefault)).toBe(false);
  });

  it("parses CONNECT authorities and /etc/hosts entries", () => {
    expect(parseAuthority("example.com:443")).toEqual({ host: "example.com", port: 443 });
    expect(parseAuthority("[::1]:80")).toEqual({ host: "::1", port: 80 });
    expect(parseAuthority("example.com")).toBeUndefined();
    expect(parseAuthority("a b:1")).toBeUndefined();
    expect(hostsEntries("127.0.0.1 localhost vm # me\n::1 ip6-localhost\n10.0.0.2 mirror.internal\n", "mirror.internal")).toEqual(["10.0.0.2"]);
  });
});

describe("the proxy's connections", () => {
  it("answers a sandbox's connections beyond the cap with 503, and takes new ones as others close", async () => {
    const proxy = new EgressProxy({ mode: "allowlist", hostLoopback: true, forwardHosts: [], maxConnections: 2 });
    const listener = proxy.listener({ allowOut: ["127.0.0.1"], denyOut: [] }, [])!;
    // Real sockets standing in for the sandbox's side: each accepted one goes to the proxy.
    const front = createNetServer((s) => listener.accept!(s));
    await new Promise<void>((r) => front.listen(0, "127.0.0.1", r));
    const port = (front.address() as { port: number }).port;
    const get = (socket: Socket) =>
      new Promise<string>((resolve) => {
        let out = "";
        socket.on("data", (d) => (out += d.toString()));
        socket.on("close", () => resolve(out));
        socket.write(`GET http://${web}/capped HTTP/1.1\r\nHost: ${web}\r\nConnection: close\r\n\r\n`);
      });
    try {
      const held = await Promise.all([0, 1].map(() => new Promise<Socket>((r) => { const s = connect(port, "127.0.0.1", () => r(s)); })));
      // Accepted in the order they connected: the third is over the cap.
      const third = connect(port, "127.0.0.1");
      expect(await get(third)).toMatch(/^HTTP\/1\.1 503 .*more than 2 connections at once/s);
      const answers = await Promise.all(held.map(get));
      expect(answers.every((a) => a.startsWith("HTTP/1.1 200") && a.endsWith("hello from the internet: GET /capped"))).toBe(true);
      // Once the proxy has seen them close, a new connection is taken again (each try a real request).
      let again = "";
      for (let i = 0; i < 50 && !again.startsWith("HTTP/1.1 200"); i++) again = await get(connect(port, "127.0.0.1"));
      expect(again).toMatch(/^HTTP\/1\.1 200/);
    } finally {
      front.close();
      proxy.close();
    }
  });
});
