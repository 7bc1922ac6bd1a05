import { Sandbox } from "e2b";
import { describe, expect, it } from "vitest";
import { e2bOptions } from "./helpers";

describe("the official e2b SDK inside workerd", () => {
  it("creates a sandbox on the local sandbox server, runs a command and kills it", async () => {
    const sandbox = await Sandbox.create("base", { ...e2bOptions(), metadata: { purpose: "workerd-sdk-test" }, timeoutMs: 60_000 });
    const chunks: string[] = [];
    const result = await sandbox.commands.run("echo hello from $HOME; echo oops >&2", { onStdout: (d) => void chunks.push(d) });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("hello from /home/user");
    expect(result.stderr).toContain("oops");
    expect(chunks.join("")).toContain("hello from");

    const listed = await Sandbox.list({ ...e2bOptions(), query: { metadata: { purpose: "workerd-sdk-test" } } }).nextItems();
    expect(listed.map((s) => s.sandboxId)).toContain(sandbox.sandboxId);

    await sandbox.kill();
    expect(await Sandbox.kill(sandbox.sandboxId, e2bOptions())).toBe(false);
  });
});
