// A template's start command (`setStartCmd`), started in the background in each sandbox made from
// the template: E2B's sandboxes resume a memory snapshot with it running; here only files are
// kept, so it starts again. Its output goes nowhere (as a background command nobody connected to).
import type { ServerContext } from "./context.ts";
import type { Sandbox } from "./sandbox-store.ts";

export async function startTemplateCmd(ctx: ServerContext, sb: Sandbox, startCmd: string): Promise<void> {
  try {
    await ctx.store.startProcess(sb, { config: { cmd: "/bin/bash", args: ["-l", "-c", startCmd], envs: {} }, stdin: false, tag: "start-cmd" });
  } catch (err) {
    ctx.log(`sandbox ${sb.id}: the template's start command did not start: ${(err as Error).message}`);
  }
}
