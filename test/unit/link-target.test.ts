// A fork's symlinks as the verification rebuilds them: E2B reports a link's target made absolute,
// so a target inside the repository is made relative to the link again, one outside stays as it is.
import { describe, expect, it } from "vitest";
import { linkTarget } from "../../src/artifacts/export-tree";

const ROOT = "/home/user/repo";

describe("linkTarget", () => {
  it("gives a target inside the repository back relative to the link's folder", () => {
    expect(linkTarget(ROOT, "link", `${ROOT}/deep/er/n.txt`)).toBe("deep/er/n.txt");
    expect(linkTarget(ROOT, "a/b", `${ROOT}/c`)).toBe("../c");
    expect(linkTarget(ROOT, "a/b/l", `${ROOT}/a/x`)).toBe("../x");
    expect(linkTarget(ROOT, "a/self", `${ROOT}/a`)).toBe(".");
  });

  it("keeps a target outside the repository absolute, and a relative one as it is", () => {
    expect(linkTarget(ROOT, "passwd", "/etc/passwd")).toBe("/etc/passwd");
    expect(linkTarget(ROOT, "home", "/home/user")).toBe("/home/user");
    expect(linkTarget(ROOT, "sibling", "/home/user/repo2/x")).toBe("/home/user/repo2/x");
    expect(linkTarget(ROOT, "rel", "already/relative")).toBe("already/relative");
  });
});
