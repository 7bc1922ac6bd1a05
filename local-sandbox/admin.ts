// Admin endpoints (require X-Admin-Key, a key of their own: never the E2B key; never instrumented):
//   GET    /admin/stats                 counters (see stats.ts)
//   POST   /admin/reset                 reset counters (peakLive = current live), faults and latency
//   GET    /admin/faults                active faults with their seen/fired counts
//   PUT    /admin/faults {"faults":[]}  replace the fault list
//   POST   /admin/faults {fault}        append one fault
//   DELETE /admin/faults                clear faults
//   GET    /admin/latency               current latency map
//   PUT    /admin/latency {"op": ms}    replace the latency map
//   DELETE /admin/latency               clear latency
//   GET    /admin/sandboxes             the sandbox table with host dirs and running processes
//   POST   /admin/sandboxes/{id}/expire run the sandbox's timeout action now
//   GET    /admin/config                isolation, data dir, max live
//   GET    /admin/calls?op=create       recent calls (op, arrival epoch ms), oldest first
//   GET    /admin/creates               recent creates: sandboxID, metadata, network (the body's rules)
//   POST   /admin/gates/{name}          open a gate: ~/.gates/{name} appears in every running sandbox
//                                      (a test's command waits with `until [ -e ~/.gates/x ]; do sleep 0.05; done`)
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ApiError } from "./errors.ts";
import { empty, json, readJsonObject, type Reply } from "./http-util.ts";
import type { RequestInfo, Route, ServerContext } from "./context.ts";
import { validateFault, validateFaults, validateLatency } from "./faults.ts";

export function statsReply(ctx: ServerContext): Reply {
  return json(200, ctx.stats.snapshot(ctx.store.liveCount(), ctx.store.pausedCount()));
}

export function resetAll(ctx: ServerContext): void {
  ctx.stats.reset(ctx.store.liveCount());
  ctx.faults.clearFaults();
  ctx.faults.setLatency({});
}

type Handler = (ctx: ServerContext, info: RequestInfo) => Promise<Reply>;

const handlers: Record<string, Handler> = {
  "GET /admin/stats": async (ctx) => statsReply(ctx),
  "GET /admin/calls": async (ctx, info) => {
    const op = info.url.searchParams.get("op");
    return json(200, op ? ctx.stats.recent.filter((c) => c.op === op) : ctx.stats.recent);
  },
  "GET /admin/creates": async (ctx) => json(200, ctx.stats.creates),
  "POST /admin/reset": async (ctx, info) => {
    info.req.resume();
    resetAll(ctx);
    return statsReply(ctx);
  },
  "GET /admin/faults": async (ctx) => json(200, { faults: ctx.faults.listFaults() }),
  "PUT /admin/faults": async (ctx, info) => {
    const body = await readJsonObject(info.req);
    ctx.faults.setFaults(validateFaults(body.faults ?? []));
    return json(200, { faults: ctx.faults.listFaults() });
  },
  "POST /admin/faults": async (ctx, info) => {
    const body = await readJsonObject(info.req);
    ctx.faults.addFault(validateFault(body.fault ?? body));
    return json(200, { faults: ctx.faults.listFaults() });
  },
  "DELETE /admin/faults": async (ctx, info) => {
    info.req.resume();
    ctx.faults.clearFaults();
    return empty(204);
  },
  "GET /admin/latency": async (ctx) => json(200, ctx.faults.getLatency()),
  "PUT /admin/latency": async (ctx, info) => {
    const body = await readJsonObject(info.req);
    ctx.faults.setLatency(validateLatency(body.latency ?? body));
    return json(200, ctx.faults.getLatency());
  },
  "DELETE /admin/latency": async (ctx, info) => {
    info.req.resume();
    ctx.faults.setLatency({});
    return empty(204);
  },
  "GET /admin/sandboxes": async (ctx) =>
    json(
      200,
      ctx.store.all().map((sb) => ({
        ...sb.record,
        dir: sb.dir,
        frozen: sb.frozen ? { how: sb.frozen.how, bytes: sb.frozen.bytes } : null,
        processes: sb.processes.running().map((p) => ({ pid: p.pid, tag: p.tag, cmd: p.config.cmd, args: p.config.args })),
      })),
    ),
  "GET /admin/config": async (ctx) =>
    json(200, {
      isolation: ctx.store.isolation.kind,
      isolationReason: ctx.store.isolation.reason ?? null,
      sharedNamespace: ctx.store.isolation.shared !== undefined,
      holder: ctx.store.isolation.unshare ? (ctx.store.isolation.unshare.python ? "holder.py" : "sh") : null,
      spawner: ctx.store.spawner.kind,
      dataDir: ctx.store.dataDir,
      maxLive: Number.isFinite(ctx.store.maxLive) ? ctx.store.maxLive : null,
    }),
};

export function matchAdmin(method: string, pathname: string, params: Record<string, string>): Route | undefined {
  const expire = /^\/admin\/sandboxes\/([^/]+)\/expire$/.exec(pathname);
  if (expire && method === "POST") {
    params.id = decodeURIComponent(expire[1] as string);
    return {
      flavor: "api",
      handle: async (ctx, info) => {
        info.req.resume();
        ctx.store.expire(info.params.id as string);
        return empty(204);
      },
    };
  }
  const gate = /^\/admin\/gates\/([A-Za-z0-9._-]+)$/.exec(pathname);
  if (gate && method === "POST") {
    params.name = gate[1] as string;
    return {
      flavor: "api",
      handle: async (ctx, info) => {
        info.req.resume();
        let opened = 0;
        for (const sb of ctx.store.all()) {
          if (!sb.running) continue;
          mkdirSync(join(sb.home, ".gates"), { recursive: true });
          writeFileSync(join(sb.home, ".gates", info.params.name as string), "");
          opened++;
        }
        return json(200, { opened });
      },
    };
  }
  const h = handlers[`${method} ${pathname}`];
  if (h) return { flavor: "api", handle: h };
  if (Object.keys(handlers).some((k) => k.endsWith(` ${pathname}`))) {
    return {
      flavor: "api",
      handle: async () => {
        throw new ApiError(405, `Method ${method} not allowed on ${pathname}`);
      },
    };
  }
  return undefined;
}
