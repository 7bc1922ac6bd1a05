/**
 * The running step's output in each running fork's card, live (`command.output` events of the run's
 * stream, issue 25): appended as it comes, what was shown already skipped by offset, a gap said as
 * such, the last 16,000 characters kept. Fork-written text, shown with textContent (never as HTML).
 */
import type { ForkView, RunEvent } from "../../lib/api-types.ts";
import { h } from "../../lib/dom.ts";

const MAX_CHARS = 16_000;

interface Chunk {
  step: string;
  stream: "stdout" | "stderr";
  offset: number;
  data: string;
}

interface Live {
  step: string;
  text: string;
  end: Record<Chunk["stream"], number>;
  pre: HTMLPreElement;
}

function chunkOf(event: RunEvent): Chunk | null {
  const c = event as RunEvent & Partial<Chunk>;
  if (typeof c.step !== "string" || (c.stream !== "stdout" && c.stream !== "stderr") || typeof c.offset !== "number" || typeof c.data !== "string") return null;
  return { step: c.step, stream: c.stream, offset: c.offset, data: c.data };
}

export class LiveOutputs {
  readonly #forks = new Map<number, Live>();

  /** Takes a command.output event; true when its fork's card must be drawn again (its first output of a step). */
  add(event: RunEvent): boolean {
    const chunk = chunkOf(event);
    if (event.fork === null || !chunk) return false;
    let live = this.#forks.get(event.fork);
    const fresh = !live || live.step !== chunk.step;
    if (!live || fresh) {
      live = { step: chunk.step, text: "", end: { stdout: 0, stderr: 0 }, pre: h("pre", { class: "live-text", tabindex: "0" }) };
      this.#forks.set(event.fork, live);
    }
    const end = live.end[chunk.stream];
    let data = chunk.data;
    if (chunk.offset > end) live.text += "[… " + (chunk.offset - end) + " characters not shown]\n";
    else data = data.slice(end - chunk.offset);
    live.end[chunk.stream] = Math.max(end, chunk.offset + chunk.data.length);
    if (data === "") return fresh;
    live.text = (live.text + data).slice(-MAX_CHARS);
    const atBottom = live.pre.scrollTop + live.pre.clientHeight >= live.pre.scrollHeight - 4;
    live.pre.textContent = live.text;
    if (atBottom) live.pre.scrollTop = live.pre.scrollHeight;
    return fresh;
  }

  /** The block for fork f's card: its running step's output so far (null when it has none). */
  block(f: ForkView): HTMLElement | null {
    const live = this.#forks.get(f.n);
    const current = f.steps.filter((s) => s.status === "running").at(-1);
    if (!live) return null;
    if (f.status !== "running" || current?.name !== live.step) {
      this.#forks.delete(f.n);
      return null;
    }
    return h("div", { class: "output live-output", dataset: { liveStep: live.step } }, h("p", { class: "muted" }, "Live output of ", h("code", null, live.step), " (running)"), live.pre);
  }
}
