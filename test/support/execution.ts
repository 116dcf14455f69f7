import { SqlClient } from "@effect/sql"
import { Duration, Effect } from "effect"
import { readFileSync } from "node:fs"
import { createServer } from "node:net"
import { join } from "node:path"
import { compileSources } from "../../src/compiler/compile.ts"
import type { IrWorkspace } from "../../src/compiler/ir.ts"
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

const fixturePath = "test/fixtures/execution/workspace.ccat"

/** The execution tests' workspace (calibrate → baseline → map over DR21's scans), as text. */
export const executionFixture = readFileSync(join(repoRoot, fixturePath), "utf8")

/**
 * The execution workspace compiled, or a text made from it (under a path of its own); throws with
 * the diagnostics where it does not compile.
 */
export const compileExecution = (text: string = executionFixture, path: string = fixturePath): IrWorkspace => {
  const result = compileSources([{ path, text }])
  if (result.ir === undefined) throw new Error(result.diagnostics.map((d) => d.message).join("\n"))
  return result.ir
}

/** A run with its step's name. */
export interface ExecutionRun {
  readonly id: string
  readonly step: string
  readonly sub_group_key: string
  readonly status: string
  readonly reason: string
  readonly retry_count: number
  readonly exit_code: number | null
  readonly failure_reason: string | null
  readonly run_dir: string | null
}

/** Every run, oldest first. */
export const executionRuns = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  return yield* sql<ExecutionRun>`
    SELECT r.id, s.name AS step, r.sub_group_key, r.status, r.reason, r.retry_count, r.exit_code, r.failure_reason, r.run_dir
    FROM executed_reduction_step r JOIN reduction_step s ON s.id = r.step_id ORDER BY r.id`
})
