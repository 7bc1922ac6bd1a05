/**
 * The engine probe, a tiny Worker beside Forkyard to tell the local runtime's own costs from
 * Forkyard's:
 *  - POST /run?steps=K runs a workflow of K trivial steps (each returns a number) and answers with
 *    the milliseconds from create to complete, measured inside the runtime;
 *  - POST /rpc?calls=K&writes=M makes K calls, one after another, to a SQLite-backed Durable Object,
 *    each call inserting M rows, and answers with the milliseconds they took (a call with no write
 *    is the RPC alone; one write adds a transaction's commit);
 *  - GET /healthz answers 200: how the local stack (startWorker) tells the Worker is up.
 */
import { DurableObject, WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "cloudflare:workers";

interface Env {
  PROBE: Workflow<{ steps: number }>;
  STORE: DurableObjectNamespace<ProbeStore>;
}

export class ProbeWorkflow extends WorkflowEntrypoint<Env, { steps: number }> {
  override async run(event: WorkflowEvent<{ steps: number }>, step: WorkflowStep): Promise<number> {
    let sum = 0;
    for (let i = 0; i < event.payload.steps; i++) sum += await step.do(`step-${i}`, async () => i);
    return sum;
  }
}

export class ProbeStore extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY AUTOINCREMENT, data TEXT NOT NULL)");
  }

  write(rows: number): number {
    for (let i = 0; i < rows; i++) this.ctx.storage.sql.exec("INSERT INTO rows (data) VALUES (?)", `{"step":"clone","attempt":1,"i":${i}}`);
    return rows;
  }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const param = (name: string) => Number(url.searchParams.get(name) ?? 0);
    if (request.method === "GET" && url.pathname === "/healthz") return new Response("ok");
    if (request.method === "POST" && url.pathname === "/rpc") {
      const store = env.STORE.getByName("probe");
      const started = Date.now();
      for (let i = 0; i < param("calls"); i++) await store.write(param("writes"));
      return Response.json({ ms: Date.now() - started });
    }
    if (request.method !== "POST" || url.pathname !== "/run") return new Response("not found", { status: 404 });
    const started = Date.now();
    const instance = await env.PROBE.create({ params: { steps: param("steps") } });
    for (;;) {
      const { status, error } = await instance.status();
      if (status === "complete") return Response.json({ ms: Date.now() - started });
      if (status === "errored" || status === "terminated") return Response.json({ error: error?.message ?? status }, { status: 500 });
      await new Promise((r) => setTimeout(r, 5));
    }
  },
} satisfies ExportedHandler<Env>;
