import { Duration, Effect } from "effect"
import { createServer } from "node:net"
import { join } from "node:path"
import type { ExecutionConfig } from "../../src/runtime/execution/execution-config.ts"
import { repoRoot } from "./workspace.ts"

/** The test programs (test/fixtures/execution/bin) and the demo's (pipelines/software/bin). */
export const testPrograms = join(repoRoot, "test", "fixtures", "execution", "bin")
export const demoPrograms = join(repoRoot, "pipelines", "software", "bin")

/**
 * How the execution tests run the loops: runs under `baseDir`, programs run directly, short
 * intervals and backoffs so that a chain settles in seconds.
 */
export const testExecutionConfig = (baseDir: string, over: Partial<ExecutionConfig> = {}): ExecutionConfig => ({
  backend: null,
  location: null,
  baseDir,
  defaultBaseDir: baseDir,
  softwarePath: [testPrograms],
  container: "none",
  submitInterval: Duration.millis(300),
  collectInterval: Duration.millis(300),
  lostGrace: Duration.minutes(10),
  retryBackoff: Duration.millis(100),
  maxParallel: 2,
  submitBatch: 16,
  purgeInterval: Duration.minutes(5),
  ...over
})

/** A free TCP port on loopback, for a serve's /healthz and /metrics. */
export const freePort: Effect.Effect<number> = Effect.promise(
  () =>
    new Promise<number>((resolve) => {
      const server = createServer()
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
      })
    })
)
