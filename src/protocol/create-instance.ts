import { isInstanceAlreadyExists } from "./engine-errors.ts";

/** What createInstanceOnce needs of a Workflow binding. */
export interface InstanceCreator<P> {
  create(options: { id: string; params: P }): Promise<unknown>;
}

/**
 * Creates a Workflow instance under a fixed id, once: a second launch of the same job (a repeated
 * call, a replayed step, a reconciler) finds it there and leaves it alone. True when this call
 * created it; false when it existed already. Any other failure is thrown.
 */
export async function createInstanceOnce<P>(workflow: InstanceCreator<P>, id: string, params: P): Promise<boolean> {
  try {
    await workflow.create({ id, params });
    return true;
  } catch (err) {
    if (isInstanceAlreadyExists(err)) return false;
    throw err;
  }
}
