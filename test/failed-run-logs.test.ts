import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Duration, Effect, Layer, Logger, LogLevel } from "effect"
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { compileSources } from "../src/compiler/compile.ts"
import { seedDemo } from "../src/db/seed/index.ts"
import { applyWorkspace } from "../src/definitions/apply.ts"
import { BackendCallsLive } from "../src/runtime/backends/backend-calls.ts"
import { LocalBackendLive } from "../src/runtime/backends/local-backend.ts"
import { serve } from "../src/runtime/serve/serve.ts"
import { ServeStateLive } from "../src/runtime/serve/serve-state.ts"
import { testBackends, testDatabase } from "./support/databases.ts"
import { testExecutionConfig } from "./support/execution.ts"
import { scratchDirs } from "./support/scratch.ts"
import { repoRoot } from "./support/workspace.ts"

// A failed run keeps its logs (the replicas issue, item 5): whatever failed at collection (the
// job's exit code, outputs it did not write, a link out of its folder, an input it wrote to),
// the run's standard output and error are LOG products, with the bytes the program wrote, on
// the local backend and both databases.

const tempDir = scratchDirs("ccat-failed-logs")
const fixture = readFileSync(join(repoRoot, "test", "fixtures", "execution", "failed-logs.ccat"), "utf8")

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex")

interface FailedRun {
  readonly id: string
  readonly pipeline: string
  readonly status: string
  readonly failure_reason: string | null
  readonly run_dir: string | null
}

for (const backend of testBackends) {
  describe(`a failed run keeps its logs, ${backend}`, () => {
    const baseDir = tempDir(`runs-${backend}`)
    const backendLayer = LocalBackendLive({ registryDir: tempDir(`registry-${backend}`), maxParallel: 4 }).pipe(
      Layer.provideMerge(BackendCallsLive)
    )
    const layers = Layer.mergeAll(testDatabase(backend, { pglitePool: 1 }), NodeContext.layer, backendLayer, ServeStateLive)

    layer(layers, { timeout: 180_000, excludeTestServices: true })((it) => {
      it.effect(
        "a run that fails at collection (exit code, no outputs, a link out of its folder, a modified input) has its stdout and stderr as LOG products",
        () =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            yield* seedDemo({ archiveDir: tempDir(`archive-${backend}`) })
            const compiled = compileSources([{ path: "failed-logs.ccat", text: fixture }])
            if (compiled.ir === undefined) throw new Error(compiled.diagnostics.map((d) => d.message).join("\n"))
            yield* applyWorkspace(compiled.ir, { createdBy: "test" })
            yield* serve({
              execution: testExecutionConfig(baseDir, { maxParallel: 4 }),
              triggerInterval: Duration.millis(500),
              httpPort: null,
              exitWhenIdle: true
            }).pipe(Effect.timeout(Duration.minutes(2)), Logger.withMinimumLogLevel(LogLevel.Error))
            const runs = yield* sql<FailedRun>`
            SELECT r.id, p.name AS pipeline, r.status, r.failure_reason, r.run_dir FROM executed_reduction_step r
            JOIN reduction_step s ON s.id = r.step_id JOIN pipeline p ON p.id = s.pipeline_id ORDER BY p.name`
            expect(runs.map((r) => [r.pipeline, r.status, r.failure_reason?.split(":")[0]])).toEqual([
              ["exits_3", "FAILED", "EXIT_CODE 3"],
              ["links_out", "FAILED", "COLLECT_FAILED"],
              ["writes_input", "FAILED", "INPUT_MODIFIED"],
              ["writes_nothing", "FAILED", "NO_OUTPUTS"]
            ])
            for (const run of runs) {
              const products = yield* sql<{ relative_path: string; product_type: string; checksum: string }>`
              SELECT relative_path, product_type, checksum FROM data_product WHERE run_id = ${run.id} ORDER BY relative_path`
              const logs = products.filter((p) => p.product_type === "LOG" && /^logs\/std(out|err)\.txt$/.test(p.relative_path))
              expect(
                logs.map((p) => p.relative_path),
                run.pipeline
              ).toEqual(["logs/stderr.txt", "logs/stdout.txt"])
              // What the program wrote, byte for byte, and a copy of each at the location.
              for (const log of logs) {
                const text = readFileSync(join(run.run_dir!, log.relative_path), "utf8")
                expect(text, `${run.pipeline} ${log.relative_path}`).toContain(
                  `${log.relative_path.includes("stdout") ? "stdout" : "stderr"} of run ${run.id}`
                )
                expect(sha256(join(run.run_dir!, log.relative_path))).toBe(log.checksum)
              }
              const [copies] = yield* sql<{ n: number }>`
              SELECT count(*)::int AS n FROM physical_copy c JOIN data_product p ON p.id = c.data_product_id
              WHERE p.run_id = ${run.id} AND p.product_type = 'LOG' AND c.status = 'PRESENT'`
              expect(copies!.n, run.pipeline).toBe(products.filter((p) => p.product_type === "LOG").length)
              // A failed run publishes no science.
              expect(
                products.filter((p) => p.product_type !== "LOG"),
                run.pipeline
              ).toEqual([])
            }
          })
      )
    })
  })
}
