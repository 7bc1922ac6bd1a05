/**
 * Live output of running commands (issue 25 item 4): what a fork's Workflow sends its run's
 * Orchestrator while a command or an agent's tool call runs, and what watchers of the run's events
 * get as `command.output`. Live only: never written to the event log (the durable record is the
 * step's stored tail); the Orchestrator keeps a small tail in memory for watchers that join late.
 */

/** The events stream's event type for a piece of live output (it carries no `id`: not in the log). */
export const COMMAND_OUTPUT_EVENT = "command.output";

/** A piece of one stream of a running step's output. */
export interface OutputChunk {
  /** The step that runs the command (`command-0`, `tool-3-1`, …). */
  step: string;
  stream: "stdout" | "stderr";
  /** Characters of this stream before `data` (since the step's command started): a gap means output not shown. */
  offset: number;
  data: string;
}

/** The most one chunk carries: more output in one interval is cut to its end (the offset tells). */
export const MAX_CHUNK_CHARS = 8192;

/** Live events a run's Orchestrator sends per second across all its forks: the busier the run, the wider each fork's interval. */
export const RUN_OUTPUT_EVENTS_PER_SECOND = 40;

/** Cuts a chunk to its last MAX_CHUNK_CHARS characters, moving its offset past what it dropped. */
export function capChunk(chunk: OutputChunk, max = MAX_CHUNK_CHARS): OutputChunk {
  if (chunk.data.length <= max) return chunk;
  const cut = chunk.data.length - max;
  return { ...chunk, offset: chunk.offset + cut, data: chunk.data.slice(cut) };
}
