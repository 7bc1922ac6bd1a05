// Standalone vitest config for the local-sandbox Node tests, so they can run independently of the
// project's main config:  npx vitest run --root . --config local-sandbox/vitest.config.ts
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "local-sandbox",
    environment: "node",
    include: ["test/node/local-sandbox*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
