// Copies a sandbox's folders (fork, snapshots): modes, symlinks and timestamps kept, a reflink
// where the filesystem has them; sockets, FIFOs and devices are left out by the fallback.
import { lstatSync } from "node:fs";
import { cp, rm } from "node:fs/promises";
import { spawn } from "node:child_process";

/** Copies a directory tree preserving modes, symlinks and timestamps (cp -a, else fs.cp). */
export async function copyTree(src: string, dst: string): Promise<void> {
  const ok = await new Promise<boolean>((resolve) => {
    const child = spawn("cp", ["-a", "--reflink=auto", src, dst], { stdio: ["ignore", "ignore", "pipe"] });
    child.on("error", () => resolve(false));
    child.on("close", (code) => resolve(code === 0));
  });
  if (ok) return;
  await rm(dst, { recursive: true, force: true });
  await cp(src, dst, {
    recursive: true,
    verbatimSymlinks: true,
    preserveTimestamps: true,
    filter: (source) => {
      try {
        const st = lstatSync(source, { throwIfNoEntry: false });
        return !st || st.isFile() || st.isDirectory() || st.isSymbolicLink();
      } catch {
        return false;
      }
    },
  });
}
