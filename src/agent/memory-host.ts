/**
 * An in-memory AgentHost: the loop without Workflows (benchmarks, tests, local experiments). Step
 * results are kept as structured clones, like a Workflow's checkpoints, and a host can be seeded
 * with another host's first N results to replay a crash at any step.
 */
import type { ModelTurn, ToolTurn } from "./conversation";
import type { AgentHost } from "./loop";
import { modelStepName, toolStepName } from "./step-names";

type StepResult = { kind: "model"; value: ModelTurn } | { kind: "tool"; value: ToolTurn };

export class MemoryHost implements AgentHost {
  readonly #results = new Map<string, StepResult>();
  /** Step names in the order their results were stored. */
  readonly #order: string[] = [];
  /** Step names whose bodies actually ran on this host (replayed steps are not listed). */
  readonly executed: string[] = [];

  /** A host holding the first `steps` results of `source`, as if the process had died right after them. */
  static replayOf(source: MemoryHost, steps: number): MemoryHost {
    const host = new MemoryHost();
    for (const name of source.#order.slice(0, steps)) {
      const result = source.#results.get(name);
      if (result) host.#store(name, result);
    }
    return host;
  }

  get stepNames(): readonly string[] {
    return this.#order;
  }

  async modelStep(turn: number, call: () => Promise<ModelTurn>): Promise<ModelTurn> {
    const name = modelStepName(turn);
    const cached = this.#results.get(name);
    if (cached?.kind === "model") return structuredClone(cached.value);
    this.executed.push(name);
    const value = await call();
    this.#store(name, { kind: "model", value });
    return structuredClone(value);
  }

  async toolStep(turn: number, index: number, _use: unknown, call: () => Promise<ToolTurn>): Promise<ToolTurn> {
    const name = toolStepName(turn, index);
    const cached = this.#results.get(name);
    if (cached?.kind === "tool") return structuredClone(cached.value);
    this.executed.push(name);
    const value = await call();
    this.#store(name, { kind: "tool", value });
    return structuredClone(value);
  }

  #store(name: string, result: StepResult): void {
    this.#results.set(name, structuredClone(result));
    this.#order.push(name);
  }
}
