import type { SessionView, TranscriptEntry, TurnStatus, TurnView } from "../../api/sessions";
import type { AgentTurn, Exchange, ModelTurn, ToolTurn } from "../../agent/conversation";
import { toolInput, toolUses } from "../../agent/conversation";
import type { TokenUsage } from "../../agent/pricing";
import { ZERO_USAGE } from "../../agent/pricing";
import { TRUNCATED_TOOL_CALL } from "../../agent/loop";
import { roundUsd } from "../../core/costs";
import { BudgetLedger } from "../shared/budget-ledger";
import type { ReplayCall } from "../../protocol/session-job";
import type { SessionRecord } from "./session-record";

export type { PendingFork, SessionRecord } from "./session-record";

interface TurnRow extends Record<string, SqlStorageValue> {
  n: number;
  prompt: string;
  model: string;
  status: TurnStatus;
  stop_reason: string | null;
  summary: string | null;
  tool_calls: number;
  tokens: string | null;
  error: string | null;
  instance_id: string | null;
  /** The turn's model spend, fixed when it ended (a fork's copy of the turn keeps it). */
  cost_usd: number | null;
  queued_at: string;
  started_at: string | null;
  finished_at: string | null;
}

interface TranscriptRow extends Record<string, SqlStorageValue> {
  seq: number;
  key: string;
  turn: number;
  kind: "prompt" | "model" | "tool";
  data: string;
  at: string;
}

/** What a fork of a session starts from: its parent's ended turns and their transcript. */
export interface SessionHistory {
  turns: TurnRow[];
  transcript: TranscriptRow[];
}

/**
 * The history of a session that continues an agent fork: one turn per exchange, in order — a
 * branched fork's exchanges before its branch first (its parent's, whose cost its parent paid),
 * then its own, which carries the fork's figures (`last`).
 */
export function historyOfExchanges(exchanges: Exchange[], last: Omit<TurnView, "n" | "prompt" | "error">): SessionHistory {
  const at = last.finishedAt ?? last.startedAt ?? new Date().toISOString();
  const inherited: Omit<TurnView, "n" | "prompt" | "error"> = { ...last, status: "succeeded", stopReason: null, summary: null, toolCalls: 0, tokens: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 }, costUsd: 0 };
  const history: SessionHistory = { turns: [], transcript: [] };
  const add = (row: Pick<TranscriptRow, "key" | "turn" | "kind" | "data">) => history.transcript.push({ ...row, seq: history.transcript.length + 1, at });
  exchanges.forEach((exchange, i) => {
    const n = i + 1;
    const turn = i === exchanges.length - 1 ? last : { ...inherited, toolCalls: exchange.turns.reduce((sum, t) => sum + t.tools.length, 0) };
    add({ key: promptKey(n), turn: n, kind: "prompt", data: JSON.stringify({ prompt: exchange.prompt }) });
    exchange.turns.forEach((t, j) => {
      const k = j + 1;
      add({ key: modelKey(n, k), turn: n, kind: "model", data: JSON.stringify(t.model) });
      const uses = toolUses(t.model);
      t.tools.forEach((result, index) => {
        const use = uses.find((u) => u.id === result.toolUseId);
        const record: ToolRecord = { id: result.toolUseId, name: use?.name ?? "", input: use ? toolInput(use) : {}, result };
        add({ key: toolKey(n, k, index), turn: n, kind: "tool", data: JSON.stringify(record) });
      });
    });
    history.turns.push({
      n,
      prompt: exchange.prompt,
      model: turn.model,
      status: turn.status,
      stop_reason: turn.stopReason,
      summary: turn.summary,
      tool_calls: turn.toolCalls,
      tokens: JSON.stringify(turn.tokens),
      error: null,
      instance_id: null,
      cost_usd: turn.costUsd,
      queued_at: turn.startedAt ?? at,
      started_at: turn.startedAt,
      finished_at: turn.finishedAt,
    });
  });
  return history;
}

/** A tool call with its result, as a tool step recorded it. */
interface ToolRecord {
  id: string;
  name: string;
  input: unknown;
  result: ToolTurn;
}

/** Told to the model for a call its turn never ran (the turn was cancelled or failed first). */
export const TOOL_CALL_NOT_RUN = "This tool call was not run: the turn was stopped before it.";

export const TERMINAL_TURN_STATUSES: readonly TurnStatus[] = ["succeeded", "failed", "cancelled", "budget_exceeded"];

/** Transcript keys: one per prompt, per model call (k) and per tool call (k, i) of a turn. */
const promptKey = (turn: number) => `t${turn}:prompt`;
const modelKey = (turn: number, k: number) => `t${turn}:m${k}`;
const toolKey = (turn: number, k: number, i: number) => `t${turn}:m${k}:${i}`;

/**
 * A session's state in its Durable Object's SQLite: the record, the turns, the transcript and the
 * ledger (BudgetLedger, by turn). The schema is session/schema.ts (the object migrates it; the
 * store runs no DDL).
 */
export class SessionStore {
  readonly #sql: SqlStorage;
  /** The session's model costs and the reservations of its model calls in flight. */
  readonly ledger: BudgetLedger;
  #record: SessionRecord | null | undefined;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    this.ledger = new BudgetLedger(sql, "turn");
  }

  record(): SessionRecord | null {
    this.#record ??= this.#sql.exec<{ record: string }>("SELECT record FROM meta").toArray().map((r) => JSON.parse(r.record) as SessionRecord)[0] ?? null;
    return this.#record;
  }

  save(record: SessionRecord): void {
    record.updatedAt = new Date().toISOString();
    this.#sql.exec("INSERT INTO meta (id, record) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET record = excluded.record", JSON.stringify(record));
    this.#record = record;
  }

  /** Drops the cached record (its rows were deleted: the session's delete). */
  forget(): void {
    this.#record = undefined;
  }

  /** Changes the record and saves it. */
  update(change: (record: SessionRecord) => void): SessionRecord {
    const record = structuredClone(this.record()!);
    change(record);
    this.save(record);
    return record;
  }

  // ---- Turns ----------------------------------------------------------------------------------

  /** Queues a turn. Its prompt enters the transcript when it starts (startTurn), not now. */
  addTurn(prompt: string, model: string, now: string): number {
    const n = (this.#sql.exec<{ n: number | null }>("SELECT MAX(n) AS n FROM turns").one().n ?? 0) + 1;
    this.#sql.exec("INSERT INTO turns (n, prompt, model, status, queued_at) VALUES (?, ?, ?, 'queued', ?)", n, prompt, model, now);
    return n;
  }

  turn(n: number): TurnRow | undefined {
    return this.#sql.exec<TurnRow>("SELECT * FROM turns WHERE n = ?", n).toArray()[0];
  }

  runningTurn(): TurnRow | undefined {
    return this.#sql.exec<TurnRow>("SELECT * FROM turns WHERE status = 'running' ORDER BY n LIMIT 1").toArray()[0];
  }

  nextQueued(): TurnRow | undefined {
    return this.#sql.exec<TurnRow>("SELECT * FROM turns WHERE status = 'queued' ORDER BY n LIMIT 1").toArray()[0];
  }

  queuedCount(): number {
    return this.#sql.exec<{ c: number }>("SELECT COUNT(*) AS c FROM turns WHERE status = 'queued'").one().c;
  }

  /**
   * Starts a queued turn and writes its prompt to the transcript. Turns run one at a time, so the
   * transcript (in `seq` order) is in turn order: a prompt written when it was queued would come
   * before the answers of the turns queued ahead of it.
   */
  startTurn(n: number, instanceId: string, now: string): void {
    this.#sql.exec("UPDATE turns SET status = 'running', instance_id = ?, started_at = COALESCE(started_at, ?) WHERE n = ? AND status = 'queued'", instanceId, now, n);
    const turn = this.turn(n);
    if (turn?.status === "running") this.#sql.exec("INSERT OR IGNORE INTO transcript (key, turn, kind, data, at) VALUES (?, ?, 'prompt', ?, ?)", promptKey(n), n, JSON.stringify({ prompt: turn.prompt }), now);
  }

  /** Running turn n goes on in instance `to` (a continuation of `from`, near its step limit); false when it runs as neither. */
  continueTurnInstance(n: number, from: string, to: string): boolean {
    return this.#sql.exec("UPDATE turns SET instance_id = ? WHERE n = ? AND status = 'running' AND instance_id IN (?, ?)", to, n, from, to).rowsWritten > 0;
  }

  /** Ends a turn once; false when it had ended already. */
  finishTurn(n: number, status: TurnStatus, now: string, result: { stopReason?: string; summary?: string; toolCalls?: number; tokens?: TokenUsage; error?: { code: string; message: string } }): boolean {
    const turn = this.turn(n);
    if (!turn || TERMINAL_TURN_STATUSES.includes(turn.status)) return false;
    this.#sql.exec(
      "UPDATE turns SET status = ?, stop_reason = ?, summary = ?, tool_calls = ?, tokens = ?, error = ?, finished_at = ?, cost_usd = ? WHERE n = ?",
      status,
      result.stopReason ?? null,
      result.summary ?? null,
      result.toolCalls ?? this.#toolCallsOf(n),
      JSON.stringify(result.tokens ?? this.#tokensOf(n)),
      result.error ? JSON.stringify(result.error) : null,
      now,
      roundUsd(this.llmUsd(n)),
      n,
    );
    return true;
  }

  /** Ended turns not yet written to the D1 metrics table. */
  unexportedTurns(): TurnRow[] {
    return this.#sql.exec<TurnRow>("SELECT * FROM turns WHERE exported = 0 AND finished_at IS NOT NULL AND status NOT IN ('queued','running')").toArray();
  }

  markExported(ns: number[]): void {
    for (const n of ns) this.#sql.exec("UPDATE turns SET exported = 1 WHERE n = ?", n);
  }

  /** Queued turns that will never run (the session failed or was destroyed). */
  dropQueued(status: TurnStatus, now: string, error: { code: string; message: string }): void {
    this.#sql.exec("UPDATE turns SET status = ?, error = ?, finished_at = ?, tokens = ? WHERE status = 'queued'", status, JSON.stringify(error), now, JSON.stringify(ZERO_USAGE));
  }

  /** The last turn that ended (0 for none): a fork's history goes up to it. */
  lastFinishedTurn(): number {
    const running = this.#sql.exec<{ n: number | null }>("SELECT MIN(n) AS n FROM turns WHERE status IN ('running','queued')").one().n;
    return running !== null ? running - 1 : (this.#sql.exec<{ n: number | null }>("SELECT MAX(n) AS n FROM turns").one().n ?? 0);
  }

  #tokensOf(n: number): TokenUsage {
    return this.#modelTurns(n).reduce<TokenUsage>(
      (sum, m) => ({ input: sum.input + m.usage.input, output: sum.output + m.usage.output, cacheRead: sum.cacheRead + m.usage.cacheRead, cacheWrite: sum.cacheWrite + m.usage.cacheWrite }),
      ZERO_USAGE,
    );
  }

  #toolCallsOf(n: number): number {
    return this.#sql.exec<{ c: number }>("SELECT COUNT(*) AS c FROM transcript WHERE turn = ? AND kind = 'tool'", n).one().c;
  }

  #modelTurns(n: number): ModelTurn[] {
    return this.#sql.exec<{ data: string }>("SELECT data FROM transcript WHERE turn = ? AND kind = 'model' ORDER BY seq", n).toArray().map((r) => JSON.parse(r.data) as ModelTurn);
  }

  // ---- Transcript -----------------------------------------------------------------------------

  /** A model call's answer (k-th of turn n); a re-run step's answer replaces the earlier one. */
  recordModel(turn: number, k: number, model: ModelTurn, now: string): void {
    this.#upsert(modelKey(turn, k), turn, "model", JSON.stringify(model), now);
  }

  recordTool(turn: number, k: number, index: number, call: { id: string; name: string; input: unknown }, result: ToolTurn, now: string): void {
    this.#upsert(toolKey(turn, k, index), turn, "tool", JSON.stringify({ ...call, result } satisfies ToolRecord), now);
  }

  #upsert(key: string, turn: number, kind: TranscriptRow["kind"], data: string, now: string): void {
    this.#sql.exec("INSERT INTO transcript (key, turn, kind, data, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET data = excluded.data", key, turn, kind, data, now);
  }

  /**
   * The conversation of turns 1..upTo, as the agent loop takes it. A model call whose tool calls
   * have no result (the turn stopped first) gets a result saying so: the Messages API wants one.
   */
  history(upTo: number): Exchange[] {
    const exchanges: Exchange[] = [];
    let current: Exchange | undefined;
    let pending: AgentTurn | undefined;
    const closePending = () => {
      if (!pending) return;
      const done = new Set(pending.tools.map((t) => t.toolUseId));
      for (const use of toolUses(pending.model)) if (!done.has(use.id)) pending.tools.push({ toolUseId: use.id, content: TOOL_CALL_NOT_RUN, isError: true });
      pending = undefined;
    };
    for (const row of this.#transcriptRows(0, upTo)) {
      const data = JSON.parse(row.data) as Record<string, unknown>;
      if (row.kind === "prompt") {
        closePending();
        current = { prompt: data.prompt as string, turns: [] };
        exchanges.push(current);
      } else if (row.kind === "model" && current) {
        closePending();
        pending = { model: data as unknown as ModelTurn, tools: [] };
        current.turns.push(pending);
      } else if (row.kind === "tool" && pending) {
        pending.tools.push((data as unknown as ToolRecord).result);
      }
    }
    closePending();
    return exchanges;
  }

  /** Transcript entries after `after` (a seq), at most `limit`, for GET …/transcript: in turn order, as `seq` is (startTurn). */
  transcript(after: number, limit: number): TranscriptEntry[] {
    return this.#sql
      .exec<TranscriptRow>("SELECT * FROM transcript WHERE seq > ? ORDER BY seq LIMIT ?", after, limit)
      .toArray()
      .map((row): TranscriptEntry => {
        const data = JSON.parse(row.data) as Record<string, unknown>;
        const base = { seq: row.seq, turn: row.turn, at: row.at };
        if (row.kind === "prompt") return { ...base, role: "user", text: data.prompt as string };
        if (row.kind === "model") {
          const model = data as unknown as ModelTurn;
          const text = model.content.flatMap((b) => (b.type === "text" ? [b.text] : [])).join("\n");
          return { ...base, role: "assistant", text, toolCalls: toolUses(model).map((u) => ({ id: u.id, name: u.name, input: toolInput(u) })) };
        }
        const tool = data as unknown as ToolRecord;
        return { ...base, role: "tool", toolUseId: tool.id, name: tool.name, content: tool.result.content, isError: tool.result.isError };
      });
  }

  /** Turn order (each turn's rows in the order they were written), whatever order the turns wrote in. */
  #transcriptRows(fromTurn: number, upTo: number): TranscriptRow[] {
    return this.#sql.exec<TranscriptRow>("SELECT * FROM transcript WHERE turn > ? AND turn <= ? ORDER BY turn, seq", fromTurn, upTo).toArray();
  }

  /**
   * Turns 1..upTo and their transcript, for a fork of this session. A fork taken at a step boundary
   * of turn upTo has that turn as far as it got, ended in the fork's copy (`cancelled`, error `forked`).
   */
  exportHistory(upTo: number, now: string): SessionHistory {
    const turns = this.#sql.exec<TurnRow>("SELECT * FROM turns WHERE n <= ? ORDER BY n", upTo).toArray().map((t): TurnRow => {
      if (TERMINAL_TURN_STATUSES.includes(t.status)) return t;
      const error = { code: "forked", message: "This session was forked from this turn at a step boundary: the rest of the turn ran in the parent only." };
      return { ...t, status: "cancelled", error: JSON.stringify(error), instance_id: null, tokens: JSON.stringify(this.#tokensOf(t.n)), tool_calls: this.#toolCallsOf(t.n), cost_usd: roundUsd(this.llmUsd(t.n)), finished_at: now };
    });
    return { turns, transcript: this.#transcriptRows(0, upTo) };
  }

  /** The tool calls of turns fromTurn+1..upTo that ran, in order, with their outputs (a rebuild replays them). */
  toolCalls(fromTurn: number, upTo: number): ReplayCall[] {
    return this.#transcriptRows(fromTurn, upTo).flatMap((row) => {
      if (row.kind !== "tool") return [];
      const t = JSON.parse(row.data) as ToolRecord;
      return t.result.content === TOOL_CALL_NOT_RUN || t.result.content === TRUNCATED_TOOL_CALL ? [] : [{ turn: row.turn, name: t.name, input: JSON.stringify(t.input ?? {}), output: t.result.content }];
    });
  }

  /** A fork's copy of its parent's turns (its own spend starts at zero: the copied turns keep their cost). */
  importHistory(history: SessionHistory): void {
    for (const t of history.turns) {
      this.#sql.exec(
        "INSERT OR IGNORE INTO turns (n, prompt, model, status, stop_reason, summary, tool_calls, tokens, error, cost_usd, queued_at, started_at, finished_at, exported) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
        t.n,
        t.prompt,
        t.model,
        t.status,
        t.stop_reason,
        t.summary,
        t.tool_calls,
        t.tokens,
        t.error,
        t.cost_usd,
        t.queued_at,
        t.started_at,
        t.finished_at,
      );
    }
    for (const r of history.transcript) this.#sql.exec("INSERT OR IGNORE INTO transcript (key, turn, kind, data, at) VALUES (?, ?, ?, ?, ?)", r.key, r.turn, r.kind, r.data, r.at);
  }

  /** The model spend of one turn, or of the whole session. */
  llmUsd(turn?: number): number {
    return this.ledger.spentOn("llm", turn);
  }

  // ---- View -----------------------------------------------------------------------------------

  turns(): TurnView[] {
    return this.#sql
      .exec<TurnRow>("SELECT * FROM turns ORDER BY n")
      .toArray()
      .map((t) => ({
        n: t.n,
        prompt: t.prompt,
        model: t.model,
        status: t.status,
        stopReason: t.stop_reason,
        summary: t.summary,
        toolCalls: t.tool_calls,
        tokens: t.tokens ? (JSON.parse(t.tokens) as TokenUsage) : this.#tokensOf(t.n),
        costUsd: t.cost_usd ?? roundUsd(this.llmUsd(t.n)),
        ...(t.error ? { error: JSON.parse(t.error) as { code: string; message: string } } : {}),
        startedAt: t.started_at,
        finishedAt: t.finished_at,
      }));
  }

  /** Sandbox milliseconds billed so far (running time only). */
  sandboxMs(record: SessionRecord, now: number): number {
    return record.sandboxMs + (record.runningSince !== null ? Math.max(0, now - record.runningSince) : 0);
  }

  view(sandboxUsd: number, links: SessionView["links"]): SessionView {
    const r = this.record()!;
    const llm = this.llmUsd();
    return {
      id: r.id,
      title: r.title,
      status: r.status,
      repo: r.repo,
      branch: r.branch,
      workBranch: r.workBranch,
      model: r.model,
      system: r.system,
      idleSeconds: r.idleSeconds,
      sandbox: { id: r.sandboxId, state: r.sandboxState, ...r.sandbox },
      turns: this.turns(),
      queued: this.queuedCount(),
      costUsd: { sandbox: roundUsd(sandboxUsd), llm: roundUsd(llm), total: roundUsd(sandboxUsd + llm) },
      budgetUsd: r.budgetUsd,
      ...(r.parent ? { parent: r.parent } : {}),
      ...(r.run ? { run: r.run } : {}),
      ...(r.error ? { error: r.error } : {}),
      ...(r.work ? { work: { turn: r.work.turn, at: r.work.at, diff: r.work.diff, patch: r.work.patch ? { ...r.work.patch, href: `/v1/sessions/${r.id}/patch` } : null } } : {}),
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
      links,
    };
  }
}
