/**
 * Calls to the Forkyard API with the token: JSON in and out, errors as ApiError (the API's
 * `{ error: { code, message, details } }`), a 401 forgets the token.
 */
import { authHeaders, forgetToken, REJECTED_TOKEN } from "./auth.ts";
import { h } from "./dom.ts";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export interface ApiOptions {
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

interface ErrorBody {
  error?: { code?: string; message?: string; details?: Record<string, unknown> };
}

export async function api<T>(path: string, opts: ApiOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json", ...authHeaders() };
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  Object.assign(headers, opts.headers);
  let res: Response;
  try {
    res = await fetch(path, {
      method: opts.method ?? "GET",
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
      cache: "no-store",
      credentials: "omit",
    });
  } catch (err) {
    if (isAbort(err)) throw err;
    throw new ApiError(0, "network_error", "Could not reach the Forkyard API.");
  }
  const text = await res.text();
  let body: unknown = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  if (!res.ok) {
    const e = (body as ErrorBody | null)?.error ?? {};
    if (res.status === 401) forgetToken(REJECTED_TOKEN);
    throw new ApiError(res.status, e.code ?? "http_" + res.status, e.message ?? "HTTP " + res.status, e.details);
  }
  return body as T;
}

export const isAbort = (err: unknown): boolean => (err as { name?: unknown } | null)?.name === "AbortError";

/** A 401 has already brought the token form back with its message: nothing more to show. */
export const isUnauthorized = (err: unknown): boolean => err instanceof ApiError && err.status === 401;

export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** A GET of a non-JSON resource (patches, artifacts) with the token. */
export async function authorizedBlob(path: string): Promise<Blob> {
  const res = await fetch(path, { headers: authHeaders(), cache: "no-store", credentials: "omit" });
  if (!res.ok) throw new Error("HTTP " + res.status + " for " + path);
  return res.blob();
}

/** Saves a resource that needs the token (no plain link can carry it) through a blob URL. */
export async function download(path: string, name: string): Promise<void> {
  const url = URL.createObjectURL(await authorizedBlob(path));
  const link = h("a", { href: url, download: name || "artifact" });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** crypto.randomUUID needs a secure context; an Idempotency-Key only needs to be unique. */
export function randomKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

export const runPath = (id: string): string => "/v1/runs/" + encodeURIComponent(id);

/** Items per page of the list views. */
export const PAGE_SIZE = 25;
