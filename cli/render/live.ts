import type { Colors } from "../output.ts";
import type { OutStream } from "../io.ts";
import type { RunView } from "../types.ts";
import { isTerminalFork } from "../types.ts";
import { colorStatus, currentStep, forkElapsedMs, formatDuration, formatUsd, stepLabel, taskCommands } from "./format.ts";
import { forkTable, liveForkTable, runHeadline, runSummary } from "./run-view.ts";
import { truncateVisible } from "./text.ts";

/** Shows a run while it is watched: redrawn in place on a terminal, one line per change otherwise. */
export interface LiveView {
  update(view: RunView, now: number): void;
  /** The final table and summary. */
  end(view: RunView, now: number): void;
}

export function createLiveView(stream: OutStream, c: Colors): LiveView {
  return stream.isTTY ? new TtyLiveView(stream, c) : new PlainLiveView(stream, c);
}

const CSI = "\x1b[";

class TtyLiveView implements LiveView {
  readonly #stream: OutStream;
  readonly #c: Colors;
  #drawn = 0;

  constructor(stream: OutStream, c: Colors) {
    this.#stream = stream;
    this.#c = c;
  }

  update(view: RunView, now: number): void {
    const width = Math.max(20, (this.#stream.columns || 100) - 1);
    // Lines never wrap: a wrapped line would throw off the count of lines to move up over.
    const lines = fitRows([truncateVisible(runHeadline(view, this.#c, now), width), ...liveForkTable(view, this.#c, now, width)], this.#stream.rows, this.#c);
    this.#redraw(lines);
  }

  end(view: RunView, now: number): void {
    const width = Math.max(20, (this.#stream.columns || 100) - 1);
    this.#redraw([...forkTable(view, this.#c, now, width), "", ...runSummary(view, this.#c, now)]);
    this.#drawn = 0;
  }

  /** Moves up over the previous frame, clears it and writes the new one in a single write. */
  #redraw(lines: string[]): void {
    const up = this.#drawn > 0 ? `${CSI}${this.#drawn}F` : "";
    this.#stream.write(`${up}${CSI}J${lines.join("\n")}\n`);
    this.#drawn = lines.length;
  }
}

/** Keeps a frame within the terminal's height (a taller frame cannot be redrawn in place). */
function fitRows(lines: string[], rows: number | undefined, c: Colors): string[] {
  const max = Math.max(4, (rows || 40) - 1);
  if (lines.length <= max) return lines;
  return [...lines.slice(0, max - 1), c.dim(`… ${lines.length - max + 1} more forks`)];
}

class PlainLiveView implements LiveView {
  readonly #stream: OutStream;
  readonly #c: Colors;
  readonly #seen = new Map<number, string>();
  #runStatus: string | undefined;

  constructor(stream: OutStream, c: Colors) {
    this.#stream = stream;
    this.#c = c;
  }

  update(view: RunView, now: number): void {
    const c = this.#c;
    const out: string[] = [];
    if (view.status !== this.#runStatus) {
      out.push(`run ${view.id}: ${colorStatus(view.status, c)}`);
      this.#runStatus = view.status;
    }
    const commands = taskCommands(view);
    for (const f of view.forks) {
      const step = currentStep(f);
      const key = `${f.status}|${step?.name ?? ""}|${step?.status ?? ""}`;
      if (this.#seen.get(f.n) === key) continue;
      this.#seen.set(f.n, key);
      const stepText = !step ? "" : isTerminalFork(f) ? ` at ${stepLabel(step, commands, 60)}` : ` ${stepLabel(step, commands, 60)}${step.status === "running" ? "" : ` (${step.status})`}`;
      const timing = f.startedAt ? c.dim(` ${formatDuration(forkElapsedMs(f, now))} ${formatUsd(f.costUsd.total)}`) : "";
      out.push(`fork ${f.n}: ${colorStatus(f.status, c)}${stepText}${timing}`);
    }
    if (out.length) this.#stream.write(out.join("\n") + "\n");
  }

  end(view: RunView, now: number): void {
    this.update(view, now);
    this.#stream.write(["", ...forkTable(view, this.#c, now), "", ...runSummary(view, this.#c, now)].join("\n") + "\n");
  }
}
