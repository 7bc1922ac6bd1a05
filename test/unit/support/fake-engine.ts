import type { WorkflowEvent, WorkflowStep } from "cloudflare:workers";

/**
 * A Workflows engine as a resumed instance sees it: completed steps' results are kept by name (and
 * the how-manieth call of that name), a step found there returns its result without running its
 * body, and a restart runs the instance's run() again from the start over what was kept. A step
 * named in `crashAt` stops the instance the way the engine does (an "Aborting engine" error) before
 * its body runs, as a kill or deploy would mid-run.
 */
export class FakeEngine {
  readonly checkpoints = new Map<string, unknown>();
  /** Step bodies that ran, in order, over every run() of the instance. */
  readonly ran: string[] = [];
  crashAt: string | undefined;

  /** The `step` one run() of the instance gets. */
  step(): WorkflowStep {
    const calls = new Map<string, number>();
    const step = {
      do: async (name: string, ...rest: unknown[]) => {
        const k = calls.get(name) ?? 0;
        calls.set(name, k + 1);
        const key = `${name}#${k}`;
        if (this.checkpoints.has(key)) return structuredClone(this.checkpoints.get(key));
        if (name === this.crashAt) throw new Error(`Aborting engine: the instance restarts (at ${name})`);
        const body = rest.at(-1) as (ctx: { attempt: number }) => Promise<unknown>;
        this.ran.push(name);
        const value = await body({ attempt: 1 });
        this.checkpoints.set(key, structuredClone(value));
        return value;
      },
      sleep: async () => undefined,
      sleepUntil: async () => undefined,
      waitForEvent: async () => ({ payload: undefined, timestamp: new Date(), type: "none" }),
    };
    return step as unknown as WorkflowStep;
  }

  /** The names of the steps whose results are kept (the instance's checkpoints). */
  keptSteps(): string[] {
    return [...this.checkpoints.keys()].map((key) => key.replace(/#\d+$/, ""));
  }
}

export function workflowEvent<P>(payload: P, instanceId = "instance-1"): WorkflowEvent<P> {
  return { payload, instanceId, timestamp: new Date() } as WorkflowEvent<P>;
}
