import type { Context } from "hono";
import { NotFoundError } from "../core/errors";

/**
 * GET …/events: the Durable Object's own event stream (a run's Orchestrator, a Session), from
 * after Last-Event-ID (or `?after=`). The object answers 404, and nothing else does, when it holds
 * no run or session: that is the API's 404 for `id`.
 */
export async function forwardEvents(c: Context, object: { fetch(request: Request): Promise<Response> }, what: "run" | "session" | "eval", id: string): Promise<Response> {
  const headers = new Headers();
  const lastEventId = c.req.header("Last-Event-ID") ?? c.req.query("after");
  if (lastEventId) headers.set("Last-Event-ID", lastEventId);
  const res = await object.fetch(new Request(`https://${what}/events`, { headers }));
  if (res.status === 404) throw new NotFoundError(what, id);
  // Through the context, so the headers set on it (X-Request-Id) are on the stream too.
  return c.newResponse(res.body, res);
}
