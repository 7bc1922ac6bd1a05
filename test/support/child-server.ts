/**
 * Starts a Node test server as a child process of its own (its own process group, known to the
 * orphan guard) and returns the URL it announces on its first stdout line (`url <url>`).
 * Servers that spawn processes run apart from vitest: forking vitest's large main process for each
 * spawn cost about 30 ms of CPU.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { guardGroup } from "../../scripts/local-stack.ts";

export interface ChildServer {
  url: string;
  stop(): Promise<void>;
}

// A bound, not a timing (about a second quietly): at `npm test`'s start five vitest processes share two cores.
export async function startChildServer(script: string, env: Record<string, string>, timeoutMs = 90_000): Promise<ChildServer> {
  const child = spawn(process.execPath, [script], { detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  const pgid = child.pid!;
  guardGroup("+", pgid);
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString("utf8")).slice(-4096)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    try {
      process.kill(-pgid, "SIGTERM");
    } catch {
      // gone
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-pgid, "SIGKILL");
      } catch {
        // gone
      }
    }, 5000);
    await exited;
    clearTimeout(timer);
    guardGroup("-", pgid);
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${script}: no URL within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
      createInterface({ input: child.stdout! }).on("line", (line) => {
        if (!line.startsWith("url ")) return;
        clearTimeout(timer);
        resolve(line.slice(4).trim());
      });
      void exited.then(() => reject(new Error(`${script} exited before it answered: ${stderr}`)));
    });
    return { url, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
