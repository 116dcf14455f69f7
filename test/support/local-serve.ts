import { NodeContext } from "@effect/platform-node"
import { Duration, Effect, Layer, Logger, LogLevel } from "effect"
import { BackendCallsLive } from "../../src/runtime/backends/backend-calls.ts"
import { LocalBackendLive } from "../../src/runtime/backends/local-backend.ts"
import type { ExecutionConfig } from "../../src/runtime/execution/execution-config.ts"
import { serve } from "../../src/runtime/serve/serve.ts"
import { ServeStateLive } from "../../src/runtime/serve/serve-state.ts"
import { testDatabase, type TestBackend } from "./databases.ts"
import { testExecutionConfig } from "./execution.ts"

/**
 * What a test of `ccat serve` on the local backend needs, per database: a run folder, the
 * execution config, the layers (database, local backend with its own job registry, serve state)
 * and a serve that stops once idle (2 minutes at most).
 */
export const localServeSetup = (
  tempDir: (name: string) => string,
  backend: TestBackend,
  options: { readonly config?: Partial<ExecutionConfig>; readonly logLevel?: LogLevel.LogLevel } = {}
) => {
  const baseDir = tempDir(`runs-${backend}`)
  const config = testExecutionConfig(baseDir, options.config)
  const backendLayer = LocalBackendLive({ registryDir: tempDir(`registry-${backend}`), maxParallel: 2 }).pipe(
    Layer.provideMerge(BackendCallsLive)
  )
  const layers = Layer.mergeAll(testDatabase(backend, { pglitePool: 1 }), NodeContext.layer, backendLayer, ServeStateLive)
  const serveUntilIdle = serve({ execution: config, triggerInterval: Duration.millis(500), httpPort: null, exitWhenIdle: true }).pipe(
    Effect.timeout(Duration.minutes(2)),
    Logger.withMinimumLogLevel(options.logLevel ?? LogLevel.Error)
  )
  return { baseDir, config, layers, serveUntilIdle }
}
