// The gate that keeps an invocation's outgoing calls under Cloudflare's 6 waiting for headers.
import { describe, expect, it } from "vitest";
import { ConnectionGate, gatedBackend } from "../../src/sandbox/connection-gate";
import type { SandboxBackend } from "../../src/sandbox/backend";

/** A call that ends when the test says so. */
function pending() {
  let end!: () => void;
  const done = new Promise<void>((resolve) => (end = resolve));
  return { done, end };
}

describe("ConnectionGate", () => {
  it("runs at most `limit` calls at once and lets the others in by arrival order as slots free", async () => {
    const gate = new ConnectionGate(2);
    const calls = Array.from({ length: 5 }, () => pending());
    const order: number[] = [];
    let running = 0;
    let peak = 0;
    const all = calls.map((c, i) =>
      gate.run(async () => {
        order.push(i);
        peak = Math.max(peak, ++running);
        await c.done;
        running--;
        return i;
      }),
    );
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([0, 1]);
    calls[1]!.end();
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([0, 1, 2]);
    for (const c of calls) c.end();
    expect(await Promise.all(all)).toEqual([0, 1, 2, 3, 4]);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(peak).toBe(2);
  });

  it("a call that throws frees its slot", async () => {
    const gate = new ConnectionGate(1);
    await expect(gate.run(() => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await gate.run(async () => "next")).toBe("next");
  });

  it("gates every control-plane call of a backend, on the backend itself", async () => {
    const seen: string[] = [];
    const backend = {
      prefix: "b",
      async kill(this: { prefix: string }, id: string) {
        seen.push(`${this.prefix}:${id}`);
        return true;
      },
    } as unknown as SandboxBackend;
    const gated = gatedBackend(backend, new ConnectionGate(1));
    expect(await Promise.all([gated.kill("x"), gated.kill("y")])).toEqual([true, true]);
    expect(seen).toEqual(["b:x", "b:y"]);
  });
});
