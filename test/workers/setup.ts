import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll } from "vitest";
import { cleanUpAfterFile } from "./cleanup";

const testEnv = env as unknown as { DB: D1Database; TEST_MIGRATIONS: Parameters<typeof applyD1Migrations>[1] };
await applyD1Migrations(testEnv.DB, testEnv.TEST_MIGRATIONS);

// The files share one runtime: each leaves nothing going for the next (cleanup.ts).
afterAll(cleanUpAfterFile, 120_000);
