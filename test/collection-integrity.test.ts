import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Duration, Effect, Layer, Logger, LogLevel } from "effect"
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { seedDemo } from "../src/db/seed/index.ts"
import { applyWorkspace } from "../src/definitions/apply.ts"
import { BackendCallsLive } from "../src/runtime/backends/backend-calls.ts"
import { LocalBackendLive } from "../src/runtime/backends/local-backend.ts"
import { serve } from "../src/runtime/serve/serve.ts"
import { ServeStateLive } from "../src/runtime/serve/serve-state.ts"
import { testBackends, testDatabase } from "./support/databases.ts"
import { testExecutionConfig } from "./support/execution.ts"
import { compileIntegrity, sha256 } from "./support/integrity-fixture.ts"
import { scratchDirs } from "./support/scratch.ts"

// Collection takes only files the run made, as they were when checksummed (the hardening
// issue, item 2), on the local backend and both databases: a hard link to a file outside the
// run fails it and leaves that file as it was; a process the program leaves behind in its job is
// ended with the job, before collection; one that escaped the job and writes to a product while
// it is collected fails the run, naming the file.

const tempDir = scratchDirs("ccat-collection")
const compile = (mode: string, state: string) => compileIntegrity({ mode, state })

interface RunRow {
  readonly id: string
  readonly status: string
  readonly failure_reason: string | null
  readonly run_dir: string | null
}

/** The runs created for one config (one mode), oldest first. */
const runsOf = (mode: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql<RunRow>`SELECT id, status, failure_reason, run_dir FROM executed_reduction_step WHERE config->>'mode' = ${mode} ORDER BY id`
  )

const productsOf = (runId: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<{ relative_path: string; product_type: string; checksum: string }>`
      SELECT relative_path, product_type, checksum FROM data_product WHERE run_id = ${runId} ORDER BY relative_path`
  )

/** Whether a process still runs (a zombie no reaper collected has ended: state Z). */
const running = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0] !== "Z"
  } catch {
    return false
  }
}

const pidsIn = (path: string): ReadonlyArray<number> =>
  existsSync(path)
    ? readFileSync(path, "utf8")
        .trim()
        .split("\n")
        .filter((l) => l !== "")
        .map(Number)
    : []

for (const backend of testBackends) {
  describe(`collection takes only files the run made, ${backend}`, () => {
    const config = testExecutionConfig(tempDir(`runs-${backend}`))
    const backendLayer = LocalBackendLive({ registryDir: tempDir(`registry-${backend}`), maxParallel: 2 }).pipe(
      Layer.provideMerge(BackendCallsLive)
    )
    const layers = Layer.mergeAll(testDatabase(backend, { pglitePool: 1 }), NodeContext.layer, backendLayer, ServeStateLive)
    const serveUntilIdle = serve({ execution: config, triggerInterval: Duration.millis(500), httpPort: null, exitWhenIdle: true }).pipe(
      Effect.timeout(Duration.minutes(2)),
      Logger.withMinimumLogLevel(LogLevel.Error)
    )

    layer(layers, { timeout: 180_000, excludeTestServices: true })((it) => {
      it.effect(
        "a product that is a hard link to a file outside the run fails the run; that file keeps its mode and content and is nobody's product",
        () =>
          Effect.gen(function* () {
            yield* seedDemo({ archiveDir: tempDir(`archive-${backend}`) })
            const state = tempDir(`hard-link-${backend}`)
            const victim = join(state, "victim")
            writeFileSync(victim, "someone else's file\n", { mode: 0o644 })
            yield* applyWorkspace(compile("hard-link", state), { createdBy: "test" })
            yield* serveUntilIdle
            const runs = yield* runsOf("hard-link")
            expect(runs).toHaveLength(2)
            for (const run of runs) {
              expect(run.status).toBe("FAILED")
              expect(run.failure_reason).toMatch(
                /^COLLECT_FAILED: output\/science\/victim\.fits is a hard link \(\d+ names for one file\): a product must be a file the run wrote/
              )
              expect((yield* productsOf(run.id)).filter((p) => p.product_type !== "LOG")).toEqual([])
            }
            expect(statSync(victim).mode & 0o777).toBe(0o644)
            expect(readFileSync(victim, "utf8")).toBe("someone else's file\n")
          })
      )

      it.effect(
        "a process the program leaves behind is ended (SIGTERM) when the program exits, before collection: the product's recorded checksum is its content",
        () =>
          Effect.gen(function* () {
            const state = tempDir(`leftover-${backend}`)
            yield* applyWorkspace(compile("leftover", state), { createdBy: "test" })
            yield* serveUntilIdle
            // Every leftover has ended (by the signal, or after writing: what it would do unchecked).
            const leftovers = pidsIn(join(state, "leftover-pids"))
            expect(leftovers.length).toBeGreaterThanOrEqual(2)
            for (let i = 0; i < 300 && leftovers.some(running); i++) yield* Effect.sleep(Duration.millis(100))
            expect(leftovers.filter(running)).toEqual([])
            expect(readFileSync(join(state, "leftover-ended"), "utf8").trim().split("\n")).toEqual(leftovers.map(() => "terminated"))
            const runs = yield* runsOf("leftover")
            expect(runs.map((r) => [r.status, r.failure_reason])).toEqual([
              ["COMPLETED", null],
              ["COMPLETED", null]
            ])
            for (const run of runs) {
              const products = (yield* productsOf(run.id)).filter((p) => p.product_type === "SCIENCE")
              expect(products.map((p) => p.relative_path)).toEqual(["output/science/scan.fits"])
              expect(sha256(join(run.run_dir!, "output", "science", "scan.fits"))).toBe(products[0]!.checksum)
            }
          })
      )

      it.effect(
        "a product that a process which escaped its job (a new session) writes to while it is collected fails the run, naming the file",
        () =>
          Effect.gen(function* () {
            const state = tempDir(`escape-${backend}`)
            // The escaped writers stop when `stop` exists (and after a minute in any case).
            yield* Effect.addFinalizer(() => Effect.sync(() => writeFileSync(join(state, "stop"), "")))
            yield* applyWorkspace(compile("escape", state), { createdBy: "test" })
            yield* serveUntilIdle
            const runs = yield* runsOf("escape")
            expect(runs).toHaveLength(2)
            for (const run of runs) {
              expect(run.status).toBe("FAILED")
              expect(run.failure_reason).toMatch(
                /^COLLECT_FAILED: output\/science\/a\.fits changed after it was checksummed \(.+\): a process the job left behind may still be writing to it$/
              )
              expect((yield* productsOf(run.id)).filter((p) => p.product_type !== "LOG")).toEqual([])
            }
          }).pipe(Effect.scoped)
      )
    })
  })
}
