/**
 * The orphan guard: a tiny detached process that outlives whatever started the local stack, so
 * the stack never outlives its starter. The starter writes `+<pgid>` / `-<pgid>` lines to the
 * guard's stdin as it spawns and reaps process groups. When stdin closes, the starter is gone
 * (exit, crash, SIGKILL, a closed terminal: the kernel closes the pipe in every case), and the
 * guard stops every group still listed (SIGTERM, SIGKILL after a grace period), then exits.
 */
const GRACE_MS = 2000;
const groups = new Set<number>();

const alive = (pgid: number) => {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
};
const signal = (pgid: number, sig: NodeJS.Signals) => {
  try {
    process.kill(-pgid, sig);
  } catch {
    // already gone
  }
};

async function stopAll(): Promise<never> {
  for (const pgid of groups) signal(pgid, "SIGTERM");
  const deadline = Date.now() + GRACE_MS;
  while (Date.now() < deadline && [...groups].some(alive)) await new Promise((r) => setTimeout(r, 50));
  for (const pgid of groups) signal(pgid, "SIGKILL");
  process.exit(0);
}

// The terminal's signals are for the starter; the guard acts when the starter is gone.
for (const sig of ["SIGINT", "SIGHUP", "SIGTERM"] as const) process.on(sig, () => {});
let buffered = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk: string) => {
  buffered += chunk;
  const lines = buffered.split("\n");
  buffered = lines.pop() ?? "";
  for (const line of lines) {
    const m = /^([+-])(\d+)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] === "+") groups.add(Number(m[2]));
    else groups.delete(Number(m[2]));
  }
});
process.stdin.on("end", () => void stopAll());
process.stdin.on("error", () => void stopAll());
