// The sandbox view (view.ts) as bubblewrap arguments. bwrap starts from an empty tmpfs root, so
// the view is all the sandbox sees; `--die-with-parent` ties it to the server.
import type { MountOp } from "./view.ts";

export function bwrapViewArgs(ops: MountOp[]): string[] {
  const args: string[] = [];
  for (const m of ops) {
    switch (m.op) {
      case "ro-bind":
        args.push(m.optional ? "--ro-bind-try" : "--ro-bind", m.src, m.dst);
        break;
      case "bind":
        args.push("--bind", m.src, m.dst);
        break;
      case "symlink":
        args.push("--symlink", m.target, m.dst);
        break;
      case "tmpfs":
        args.push("--tmpfs", m.dst);
        break;
      case "dir":
        args.push("--dir", m.dst);
        break;
      case "dev":
        args.push("--dev", m.dst);
        break;
      case "proc":
        args.push("--proc", m.dst);
        break;
    }
  }
  args.push("--remount-ro", "/");
  return args;
}

/** Namespaces and privileges of every bwrap sandbox (after the view). */
export const BWRAP_NAMESPACE_ARGS = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--cap-drop", "ALL"];
