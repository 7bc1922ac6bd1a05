// The dynamic loader's variables (LD_PRELOAD, LD_LIBRARY_PATH, GCONV_PATH, ...) load code into every
// dynamically linked program started with them. A command's environment is the client's to set,
// but an isolated command is started by root helpers on the host (the cgroup wrapper, nsenter,
// setpriv, `script` for a PTY, bwrap): given the client's LD_PRELOAD, they would run a library of
// its choosing as root, outside the sandbox. So these variables never reach a host helper: they are
// split off here and set again by the launch's last stage, inside the sandbox, as the sandbox user
// (where E2B's envd sets them, inside its VM). They travel as that stage's arguments: library and
// data paths, not secrets.

/** glibc's list of variables it drops for setuid programs, plus every LD_*. */
const LOADER_NAMES = new Set([
  "GCONV_PATH", "GETCONF_DIR", "GLIBC_TUNABLES", "HOSTALIASES", "LOCALDOMAIN", "LOCPATH", "MALLOC_TRACE",
  "NIS_PATH", "NLSPATH", "RESOLV_HOST_CONF", "RES_OPTIONS", "TMPDIR", "TZDIR",
]);

function isLoaderVariable(name: string): boolean {
  return name.startsWith("LD_") || LOADER_NAMES.has(name);
}

/** `host`: what the host helpers may be started with; `loader`: what only the sandboxed command gets. */
export function splitLoaderEnv(env: Record<string, string>): { host: Record<string, string>; loader: [string, string][] } {
  const host: Record<string, string> = {};
  const loader: [string, string][] = [];
  for (const [name, value] of Object.entries(env)) {
    if (isLoaderVariable(name)) loader.push([name, value]);
    else host[name] = value;
  }
  return { host, loader };
}

/**
 * The last stage's `sh -c` script (run inside the sandbox as its user): `cd` to the command's
 * directory ($0), export the loader variables (the next positional arguments), then exec the command.
 * Its arguments follow: [cwd, ...values, cmd, ...args].
 */
export function lastStageScript(loader: [string, string][]): string {
  const names = loader.map(([name]) => name);
  if (names.some((n) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(n))) throw new Error("invalid environment variable name");
  const exports = names.map((n, i) => `${n}="\${${i + 1}}"`).join(" ");
  return loader.length === 0 ? 'cd -- "$0" && exec "$@"' : `cd -- "$0" && export ${exports} && shift ${loader.length} && exec "$@"`;
}
