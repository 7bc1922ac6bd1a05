import type { ForkTranscriptEntry } from "../../api/fork-transcript";
import { transcriptEntry, type TranscriptRecord } from "../../runs/fork-transcript";

interface TranscriptRow extends Record<string, SqlStorageValue> {
  seq: number;
  key: string;
  turn: number;
  data: string;
  at: string;
}

/**
 * Agent forks' transcripts in the Orchestrator's SQLite (table `fork_transcript`, schema v3). Each
 * fork's rows are numbered 1, 2, … in the order they were first recorded; a record whose key (its
 * step's name) is there already replaces its data in place — a step body that runs again records
 * its new answer, not a second entry.
 */
export class ForkTranscriptStore {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  record(n: number, records: TranscriptRecord[], now: string): void {
    for (const r of records) {
      this.#sql.exec(
        `INSERT INTO fork_transcript (fork, seq, key, turn, data, at)
         VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM fork_transcript WHERE fork = ?), ?, ?, ?, ?)
         ON CONFLICT (fork, key) DO UPDATE SET data = excluded.data, turn = excluded.turn`,
        n, n, r.key, r.turn, r.data, now,
      );
    }
  }

  /** Fork n's entries after `after` (a seq), at most `limit`, and `next` (null at the end of what is recorded). */
  page(n: number, after: number, limit: number): { entries: ForkTranscriptEntry[]; next: number | null } {
    const rows = this.#sql.exec<TranscriptRow>("SELECT seq, key, turn, data, at FROM fork_transcript WHERE fork = ? AND seq > ? ORDER BY seq LIMIT ?", n, after, limit + 1).toArray();
    const entries = rows.slice(0, limit).map(transcriptEntry);
    return { entries, next: rows.length > limit ? entries[entries.length - 1]!.seq : null };
  }
}
