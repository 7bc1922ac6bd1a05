import { Sandbox } from "e2b";
import { startTestSandboxServer } from "./testing.ts";
process.on("unhandledRejection", (e) => { console.error("UNHANDLED", e); process.exitCode = 9; });
const t = await startTestSandboxServer({ log: (m) => console.error("LOG", m) });
const N = 30;
let s = Date.now();
const sbxs = await Promise.all(Array.from({ length: N }, () => Sandbox.create("base", t.sdk)));
console.log("created", N, "in", Date.now() - s, "ms");
s = Date.now();
const outs = await Promise.all(sbxs.map((x, i) => x.commands.run(`echo ${i}; seq 1 20000 | tail -1`)));
console.log("ran", Date.now() - s, "ms", outs.every((o, i) => o.stdout === `${i}\n20000\n`));
// big output
s = Date.now();
const big = await sbxs[0]!.commands.run("head -c 20000000 /dev/zero | base64 -w 0 | wc -c");
console.log("big", big.stdout.trim(), Date.now() - s);
let bytes = 0;
await sbxs[0]!.commands.run("head -c 5000000 /dev/urandom | base64", { onStdout: (d) => { bytes += d.length; } });
console.log("streamed bytes", bytes);
// abort mid-stream
const ac = new AbortController();
const p = sbxs[1]!.commands.run("for i in $(seq 1 50); do echo $i; sleep 0.05; done; echo fin > /home/user/fin", { signal: ac.signal, onStdout: () => {} }).catch((e) => "aborted:" + e.name);
setTimeout(() => ac.abort(), 300);
console.log(await p);
await new Promise((r) => setTimeout(r, 3000));
console.log("process continued after abort:", await sbxs[1]!.files.read("/home/user/fin"));
// large file
const buf = Buffer.alloc(30_000_000, 7);
s = Date.now();
await sbxs[2]!.files.write("/home/user/big.bin", buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
const back = await sbxs[2]!.files.read("/home/user/big.bin", { format: "bytes" });
console.log("30MB roundtrip", back.length, Date.now() - s, "ms");
// kill while streaming
const h = await sbxs[3]!.commands.run("sleep 30", { background: true });
await sbxs[3]!.kill();
console.log("wait after kill:", await h.wait().then(() => "ok", (e) => e.name));
s = Date.now();
await Promise.all(sbxs.map((x) => x.kill()));
console.log("killed all", Date.now() - s);
console.log(t.server.getStats());
await t.stop();
