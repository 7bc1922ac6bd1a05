// The kernel boot id a sandbox sees (/proc/sys/kernel/random/boot_id). On E2B it changes when the
// sandbox boots again — after a files-only pause, on connect — and stays put while it runs, so
// tools (and E2B's own tests) tell a cold boot from a memory restore by it. Locally a "boot" is the
// start of the sandbox's namespace: every start writes a fresh random id into a file of the
// sandbox's folder, which the view binds read-only over the procfs file (view.ts).
import { existsSync, renameSync, writeFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { join } from "node:path";

/** Where the procfs file lies in a sandbox's view. */
export const BOOT_ID_PATH = "/proc/sys/kernel/random/boot_id";

/** The host file holding a sandbox's boot id, in its folder `dir` (next to `home/` and `tmp/`). */
export const bootIdFile = (dir: string) => join(dir, "boot_id");

/**
 * The sandbox's boot id file: a new id when `boot` (its namespace is starting), else the current
 * one (made when missing). A new file each time (written aside, renamed over), never rewritten in
 * place: a view still bound to the old one keeps its id.
 */
export function bootId(dir: string, boot: boolean): string {
  const file = bootIdFile(dir);
  if (boot || !existsSync(file)) {
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${randomUUID()}\n`, { mode: 0o444 });
    renameSync(tmp, file);
  }
  return file;
}
