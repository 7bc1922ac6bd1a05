// `sudo` in a sandbox, as E2B's images have it for `user`: the command runs as root of a user
// namespace of its own (`unshare --user --map-root-user`): uid 0 and full capabilities inside that
// namespace only, the sandbox user (200000) for everything outside it. It gives nothing `user`
// cannot already do: the view stays read-only, host-owned files such as /etc/shadow stay
// unreadable, the mount and network namespaces stay the host root's. Commands see it on PATH
// through the view's /etc/profile: the host's, plus SUDO_DIR (the SDK runs commands in a login shell).
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Where the view shows the shim's folder (read-only, on the view's own root). */
export const SUDO_DIR = "/.local-sandbox/bin";

// Options that make no difference here are accepted; `-u`/`-g` only for root or the sandbox user.
const SHIM = `#!/bin/sh
# sudo of a local sandbox: the command runs as root of a user namespace of its own (no host privilege).
as_root=1
while [ $# -gt 0 ]; do
  case "$1" in
    -E|-H|-n|-S|-k|-P|-b|--preserve-env|--preserve-env=*|--non-interactive|--stdin) shift ;;
    -u|--user|-g|--group)
      case "$2" in root|0) ;; user|200000) as_root= ;; *) echo "sudo: unknown user or group: $2" >&2; exit 1 ;; esac
      shift 2 ;;
    -i|-s|--login|--shell) shift; [ $# -gt 0 ] || set -- "\${SHELL:-/bin/sh}" ;;
    -v|--validate) exit 0 ;;
    --) shift; break ;;
    -*) echo "sudo: option $1 is not supported in this sandbox" >&2; exit 1 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "usage: sudo [-E] [-u root|user] command [args...]" >&2; exit 1; }
[ -n "$as_root" ] || exec "$@"
exec unshare --user --map-root-user -- "$@"
`;

/**
 * Writes the shim into `dir`/bin and, when the host has an /etc/profile, the view's profile (the
 * host's with SUDO_DIR appended to PATH). Returns their host paths.
 */
export function writeSudo(dir: string): { bin: string; profile?: string } {
  const bin = join(dir, "bin");
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, "sudo"), SHIM, { mode: 0o755 });
  chmodSync(join(bin, "sudo"), 0o755);
  let host: string;
  try {
    host = readFileSync("/etc/profile", "utf8");
  } catch {
    return { bin };
  }
  const profile = join(dir, "profile");
  writeFileSync(profile, `${host}\n# local sandbox: sudo (a user namespace's root)\nPATH="$PATH:${SUDO_DIR}"\nexport PATH\n`, { mode: 0o644 });
  return { bin, profile };
}
