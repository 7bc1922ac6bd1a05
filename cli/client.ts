import { LOCAL_API_TOKEN } from "./local-token.ts";
import type { ArtifactList, BranchResponse, MergeResponse, CompareView, CreateEvalBody, CreateRunBody, DeletedEval, DeletedRun, DeletedSession, EvalResults, ForkDiffView, EvalView, ForkTranscriptPage, PickResult, CreatedRun, CreatedSession, CreateSessionBody, ReaperResult, RunPage, RunStatus, RunView, SessionPage, SessionView, TranscriptPage } from "./types.ts";

/** An error answer of the API (`{error:{code,message,details}}`), or the API being unreachable (status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(status: number, code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** Worth retrying while watching a run: the Worker restarting, a dropped connection, 429. */
  get transient(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

export interface ClientOptions {
  url: string;
  token: string;
  fetch?: typeof fetch;
  /** Per-request timeout (not applied to event streams). */
  timeoutMs?: number;
}

/** A typed client of the Forkyard HTTP API (v1). */
export class ForkyardClient {
  readonly baseUrl: string;
  readonly #token: string;
  /** The token is the local stack's well-known one (not a secret: the default of every local install). */
  readonly usesLocalToken: boolean;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;

  constructor(opts: ClientOptions) {
    this.baseUrl = opts.url.replace(/\/+$/, "");
    this.#token = opts.token;
    this.usesLocalToken = opts.token === LOCAL_API_TOKEN;
    this.#fetch = opts.fetch ?? globalThis.fetch;
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
  }

  createRun(body: CreateRunBody, opts: { idempotencyKey?: string } = {}): Promise<CreatedRun> {
    const headers: Record<string, string> = opts.idempotencyKey ? { "Idempotency-Key": opts.idempotencyKey } : {};
    return this.#json("POST", "/v1/runs", { body, headers });
  }

  getRun(id: string, signal?: AbortSignal): Promise<RunView> {
    return this.#json("GET", `/v1/runs/${enc(id)}`, { signal });
  }

  listRuns(query: { status?: RunStatus | string; repo?: string; q?: string; limit?: number; cursor?: string } = {}): Promise<RunPage> {
    const params = new URLSearchParams();
    if (query.status) params.set("status", query.status);
    if (query.repo) params.set("repo", query.repo);
    if (query.q) params.set("q", query.q);
    if (query.limit !== undefined) params.set("limit", String(query.limit));
    if (query.cursor) params.set("cursor", query.cursor);
    const qs = params.toString();
    return this.#json("GET", `/v1/runs${qs ? `?${qs}` : ""}`);
  }

  control(id: string, action: "pause" | "resume" | "cancel"): Promise<RunView> {
    return this.#json("POST", `/v1/runs/${enc(id)}/${action}`);
  }

  /** Deletes an ended run for good (its state, objects and instances; a tombstone stays). */
  deleteRun(id: string): Promise<DeletedRun> {
    return this.#json("DELETE", `/v1/runs/${enc(id)}`);
  }

  cancelFork(id: string, n: number): Promise<RunView> {
    return this.#json("POST", `/v1/runs/${enc(id)}/forks/${n}/cancel`);
  }

  /** Sets a higher budget for the run; forks stopped for budget continue. */
  raiseBudget(id: string, budgetUsd: number): Promise<RunView> {
    return this.#json("POST", `/v1/runs/${enc(id)}/budget`, { body: { budgetUsd } });
  }

  judge(id: string, llm: { model?: string; rubric?: string }, mode?: "tournament"): Promise<RunView> {
    return this.#json("POST", `/v1/runs/${enc(id)}/judge`, { body: { llm, ...(mode ? { mode } : {}) } });
  }

  /** New forks from fork n's workspace (and conversation) as it is now. */
  branch(id: string, n: number, body: { count: number; prompt?: string; atStep?: string; model?: string }): Promise<BranchResponse> {
    return this.#json("POST", `/v1/runs/${enc(id)}/forks/${n}/branch`, { body });
  }

  /** A new fork whose agent combines these forks' patches. */
  merge(id: string, body: { forks: number[]; prompt?: string; model?: string }): Promise<MergeResponse> {
    return this.#json("POST", `/v1/runs/${enc(id)}/merge`, { body });
  }

  compare(id: string): Promise<CompareView> {
    return this.#json("GET", `/v1/runs/${enc(id)}/compare`);
  }

  /** Fork a's work against fork b's, file by file. */
  diffForks(id: string, a: number, b: number): Promise<ForkDiffView> {
    return this.#json("GET", `/v1/runs/${enc(id)}/compare/${a}/${b}`);
  }

  /** Takes fork n: its pull request (runs on GitHub) and the command that fetches its work. */
  pick(id: string, n: number): Promise<PickResult> {
    return this.#json("POST", `/v1/runs/${enc(id)}/forks/${n}/pick`);
  }

  createEval(body: CreateEvalBody): Promise<EvalView> {
    return this.#json("POST", "/v1/evals", { body });
  }

  getEval(id: string): Promise<EvalView> {
    return this.#json("GET", `/v1/evals/${enc(id)}`);
  }

  evalResults(id: string): Promise<EvalResults> {
    return this.#json("GET", `/v1/evals/${enc(id)}/results`);
  }

  listArtifacts(id: string, n: number): Promise<ArtifactList> {
    return this.#json("GET", `/v1/runs/${enc(id)}/forks/${n}/artifacts`);
  }

  /** One stored file's bytes. */
  async artifact(id: string, n: number, path: string): Promise<Uint8Array> {
    return new Uint8Array(await (await this.#raw(`/v1/runs/${enc(id)}/forks/${n}/artifacts/${path.split("/").map(enc).join("/")}`)).arrayBuffer());
  }

  /** The fork's patch (text/x-diff). */
  async patch(id: string, n: number): Promise<string> {
    return (await this.#raw(`/v1/runs/${enc(id)}/forks/${n}/patch`)).text();
  }

  createSession(body: CreateSessionBody): Promise<CreatedSession> {
    return this.#json("POST", "/v1/sessions", { body });
  }

  getSession(id: string): Promise<SessionView> {
    return this.#json("GET", `/v1/sessions/${enc(id)}`);
  }

  listSessions(query: { status?: string; limit?: number; cursor?: string } = {}): Promise<SessionPage> {
    const params = new URLSearchParams(Object.entries(query).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)]])));
    const qs = params.toString();
    return this.#json("GET", `/v1/sessions${qs ? `?${qs}` : ""}`);
  }

  sendMessage(id: string, prompt: string, model?: string): Promise<{ turn: number }> {
    return this.#json("POST", `/v1/sessions/${enc(id)}/messages`, { body: model ? { prompt, model } : { prompt } });
  }

  sessionAction(id: string, action: "pause" | "cancel"): Promise<SessionView> {
    return this.#json("POST", `/v1/sessions/${enc(id)}/${action}`);
  }

  destroySession(id: string): Promise<SessionView> {
    return this.#json("DELETE", `/v1/sessions/${enc(id)}`);
  }

  /** Deletes a session for good (DELETE …?purge=true). */
  deleteSession(id: string): Promise<DeletedSession> {
    return this.#json("DELETE", `/v1/sessions/${enc(id)}?purge=true`);
  }

  deleteEval(id: string): Promise<DeletedEval> {
    return this.#json("DELETE", `/v1/evals/${enc(id)}`);
  }

  removeMessage(id: string, turn: number): Promise<SessionView> {
    return this.#json("DELETE", `/v1/sessions/${enc(id)}/messages/${turn}`);
  }

  forkSession(id: string, count: number, title?: string, budgetUsd?: number): Promise<{ sessions: SessionView[]; pending?: { id: string; title: string; budgetUsd: number | null }[]; turn?: number }> {
    return this.#json("POST", `/v1/sessions/${enc(id)}/fork`, { body: { count, ...(title ? { title } : {}), ...(budgetUsd !== undefined ? { budgetUsd } : {}) } });
  }

  forkTranscript(id: string, n: number, after = 0, limit = 500): Promise<ForkTranscriptPage> {
    return this.#json("GET", `/v1/runs/${enc(id)}/forks/${n}/transcript?after=${after}&limit=${limit}`);
  }

  transcript(id: string, after = 0, limit = 500): Promise<TranscriptPage> {
    return this.#json("GET", `/v1/sessions/${enc(id)}/transcript?after=${after}&limit=${limit}`);
  }

  runReaper(): Promise<ReaperResult> {
    return this.#json("POST", "/v1/reaper/run");
  }

  /** Opens the run's Server-Sent Events stream; null when the API does not offer one. */
  async openEvents(id: string, signal: AbortSignal): Promise<ReadableStream<Uint8Array> | null> {
    // The stream may stay open for as long as the run: only its answer is timed out.
    const ctl = new AbortController();
    const abort = () => ctl.abort();
    signal.addEventListener("abort", abort, { once: true });
    const timer = setTimeout(abort, 5000);
    let res: Response;
    try {
      res = await this.#fetch(`${this.baseUrl}/v1/runs/${enc(id)}/events`, { headers: { ...this.#auth(), Accept: "text/event-stream" }, signal: ctl.signal });
    } catch {
      return null;
    } finally {
      clearTimeout(timer);
    }
    if (res.status === 200 && res.body && (res.headers.get("content-type") ?? "").includes("text/event-stream")) return res.body;
    await res.body?.cancel().catch(() => {});
    return null;
  }

  #auth(): Record<string, string> {
    return { Authorization: `Bearer ${this.#token}` };
  }

  /** A GET whose answer is not JSON (a download); errors are read as the API's JSON errors. */
  async #raw(path: string): Promise<Response> {
    let res: Response;
    try {
      res = await this.#fetch(this.baseUrl + path, { headers: this.#auth(), signal: AbortSignal.timeout(this.#timeoutMs * 10) });
    } catch (err) {
      throw new ApiError(0, "unreachable", `cannot reach ${this.baseUrl}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (res.ok) return res;
    const body = (await res.json().catch(() => undefined)) as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | undefined;
    throw new ApiError(res.status, body?.error?.code ?? `http_${res.status}`, body?.error?.message ?? `GET ${path}: ${res.statusText}`, body?.error?.details);
  }

  async #json<T>(method: string, path: string, opts: { body?: unknown; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<T> {
    const headers: Record<string, string> = { ...this.#auth(), Accept: "application/json", ...opts.headers };
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    let res: Response;
    try {
      res = await this.#fetch(this.baseUrl + path, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: opts.signal ? AbortSignal.any([opts.signal, AbortSignal.timeout(this.#timeoutMs)]) : AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      const inner = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
      const cause = inner?.code ?? inner?.message ?? (err instanceof Error ? err.message : String(err));
      throw new ApiError(0, "unreachable", `cannot reach ${this.baseUrl}: ${cause}`);
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (res.ok) {
      if (parsed === undefined) throw new ApiError(res.status, "bad_response", `${method} ${path}: expected JSON, got ${JSON.stringify(text.slice(0, 80))}`);
      return parsed as T;
    }
    const error = (parsed as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
    if (error && typeof error.code === "string") {
      const details = typeof error.details === "object" && error.details !== null ? (error.details as Record<string, unknown>) : undefined;
      throw new ApiError(res.status, error.code, typeof error.message === "string" ? error.message : res.statusText, details);
    }
    throw new ApiError(res.status, `http_${res.status}`, `${method} ${path}: ${res.statusText || "request failed"}`);
  }
}

const enc = encodeURIComponent;
