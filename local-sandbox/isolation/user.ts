// The unprivileged user sandbox commands run as: `user`, uid/gid 200000 — far from the host's real
// users (and from the 100000+ ranges subuid usually hands out), so a sandbox owns nothing of the
// host and host secrets such as /etc/shadow (root:shadow 0640) are unreadable. The view shows a
// generated /etc/passwd and /etc/group (the host's plus `user`) over the host's, so `id`, `whoami`,
// `ls -l` and git name the user. Files in /home/user are owned by this uid on the host side too:
// the server (root) chowns what the envd file API creates.
import { chownSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeSudo } from "./sudo.ts";

export const SANDBOX_UID = 200000;
export const SANDBOX_GID = 200000;
export const SANDBOX_USER = "user";

export interface UserFiles {
  passwd: string;
  group: string;
  /** The `sudo` shim's folder and the view's /etc/profile (isolation/sudo.ts). */
  sudo?: { bin: string; profile?: string };
}

function withEntry(hostFile: string, name: string, id: number, entry: string): string {
  let lines: string[] = [];
  try {
    lines = readFileSync(hostFile, "utf8").split("\n").filter(Boolean);
  } catch {
    // no such host file: the entry alone
  }
  const kept = lines.filter((l) => {
    const [n, , i] = l.split(":");
    return n !== name && Number(i) !== id;
  });
  return [...kept, entry].join("\n") + "\n";
}

/** Writes the view's passwd and group files into `dir` (a folder sandboxes never see). */
export function writeUserFiles(dir: string): UserFiles {
  mkdirSync(dir, { recursive: true });
  const files = { passwd: join(dir, "passwd"), group: join(dir, "group") };
  writeFileSync(files.passwd, withEntry("/etc/passwd", SANDBOX_USER, SANDBOX_UID, `${SANDBOX_USER}:x:${SANDBOX_UID}:${SANDBOX_GID}:sandbox user:/home/user:/bin/bash`), { mode: 0o644 });
  writeFileSync(files.group, withEntry("/etc/group", SANDBOX_USER, SANDBOX_GID, `${SANDBOX_USER}:x:${SANDBOX_GID}:`), { mode: 0o644 });
  return { ...files, sudo: writeSudo(dir) };
}

/** setpriv arguments switching to the sandbox user (after the namespaces are entered). */
export const SETPRIV_USER_ARGS = [`--reuid=${SANDBOX_UID}`, `--regid=${SANDBOX_GID}`, "--clear-groups"];

/**
 * A new home's ~/.gitconfig: git refuses repositories owned by another user ("dubious ownership"),
 * and the local repositories a sandbox clones (SANDBOX_EXPOSE_PATHS) belong to host users. Only
 * protected config (system, global) can allow them, and the view's /etc is the host's, so the
 * sandbox user's global config does, for every path. A sandbox may rewrite or delete the file.
 */
export function seedHome(home: string): void {
  const file = join(home, ".gitconfig");
  writeFileSync(file, "[safe]\n\tdirectory = *\n", { flag: "wx", mode: 0o644 });
  chownSync(file, SANDBOX_UID, SANDBOX_GID);
}
