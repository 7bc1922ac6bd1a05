// Lets Node run the Worker's TypeScript modules directly (benchmarks reuse src/agent): relative
// imports without an extension resolve to the `.ts` file, as the Worker's bundler resolves them.
import { registerHooks } from "node:module";

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (err) {
      if (specifier.startsWith(".") && !/\.[cm]?[jt]s$/.test(specifier)) return nextResolve(`${specifier}.ts`, context);
      throw err;
    }
  },
});
