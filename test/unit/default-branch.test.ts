import { describe, expect, it } from "vitest";
import { symrefHead } from "../../src/runs/default-branch";

describe("a remote's default branch from its smart-HTTP advertisement", () => {
  it("reads HEAD's symref from the capabilities", () => {
    const advertisement = "001e# service=git-upload-pack\n0000015523f0c5a2c2a1f2b7d5c1e4c6c2ef7a1b0f1c2d3e HEAD\0multi_ack thin-pack side-band symref=HEAD:refs/heads/trunk agent=git/2.39.5\n0000";
    expect(symrefHead(advertisement)).toBe("trunk");
  });

  it("is null when the server does not say", () => {
    expect(symrefHead("001e# service=git-upload-pack\n0000")).toBeNull();
  });
});
