/**
 * The engine probe: POST /run?steps=K runs a workflow of K trivial steps (each returns a number)
 * and answers with the milliseconds from create to complete, measured inside the runtime.
 */
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "cloudflare:workers";

interface Env {
  PROBE: Workflow<{ steps: number }>;
}

export class ProbeWorkflow extends WorkflowEntrypoint<Env, { steps: number }> {
  override async run(event: WorkflowEvent<{ steps: number }>, step: WorkflowStep): Promise<number> {
    let sum = 0;
    for (let i = 0; i < event.payload.steps; i++) sum += await step.do(`step-${i}`, async () => i);
    return sum;
  }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (request.method !== "POST" || url.pathname !== "/run") return new Response("not found", { status: 404 });
    const steps = Number(url.searchParams.get("steps") ?? 0);
    const started = Date.now();
    const instance = await env.PROBE.create({ params: { steps } });
    for (;;) {
      const { status, error } = await instance.status();
      if (status === "complete") return Response.json({ ms: Date.now() - started });
      if (status === "errored" || status === "terminated") return Response.json({ error: error?.message ?? status }, { status: 500 });
      await new Promise((r) => setTimeout(r, 5));
    }
  },
} satisfies ExportedHandler<Env>;
