import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Duration, Effect, Layer, Logger, LogLevel, Queue } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { hostname } from "node:os"
import { join } from "node:path"
import { compileSources } from "../src/compiler/compile.ts"
import { seedDemo } from "../src/db/seed/index.ts"
import { applyWorkspace } from "../src/definitions/apply.ts"
import { BackendCallsLive } from "../src/runtime/backends/backend-calls.ts"
import { LocalBackendLive } from "../src/runtime/backends/local-backend.ts"
import { LeaseOwner } from "../src/runtime/execution/lease.ts"
import { serve } from "../src/runtime/serve/serve.ts"
import { ServeStateLive } from "../src/runtime/serve/serve-state.ts"
import { testBackends, testDatabase } from "./support/databases.ts"
import { testExecutionConfig } from "./support/execution.ts"
import { scratchDirs } from "./support/scratch.ts"
import { repoRoot } from "./support/workspace.ts"

// Replicas share work exactly (the replicas issue, item 4): two `ccat serve`s on one database,
// each with its own local backend and its own lease owner (two serves in this process, each
// given an owner of its own: LeaseOwner), over many quick runs. Every run is staged, submitted
// and collected once; its lineage and copies are written once; and the two together never run
// more programs at once than the location's `max_parallel 3`, as the programs themselves count
// (test/fixtures/execution/bin/ccat-concurrency-probe). The acceptance used 300 runs;
// the test uses the archived packages of three nights (44) to stay quick, on both databases.

const tempDir = scratchDirs("ccat-replicas")
const fixture = readFileSync(join(repoRoot, "test", "fixtures", "execution", "replicas.ccat"), "utf8")

/** The packages the runs are made for: `like` over the archived packages' names. */
const packages = "chai_lfa_2026050%"

const compile = (state: string) => {
  const text = fixture
    .replace('like "PACKAGES"', `like ${JSON.stringify(packages)}`)
    .replace('state = "STATE"', `state = ${JSON.stringify(state)}`)
  const result = compileSources([{ path: "replicas.ccat", text }])
  if (result.ir === undefined) throw new Error(result.diagnostics.map((d) => d.message).join("\n"))
  return result.ir
}

const lines = (path: string): ReadonlyArray<string> =>
  existsSync(path)
    ? readFileSync(path, "utf8")
        .split("\n")
        .filter((l) => l.trim() !== "")
    : []

for (const backend of testBackends) {
  describe(`replicas share work exactly, ${backend}`, () => {
    const baseDir = tempDir(`runs-${backend}`)
    // One machine's replicas: one data folder, so one registry of local jobs.
    const registryDir = tempDir(`registry-${backend}`)
    const layers = Layer.mergeAll(testDatabase(backend, { pglitePool: 1 }), NodeContext.layer)

    /**
     * One `ccat serve` until nothing is left to do, with its own backend (its jobs wake its
     * collect loop, as `ccat serve` sets it up), state and lease owner.
     */
    const replica = (name: string) =>
      Effect.gen(function* () {
        const jobEnded = yield* Queue.sliding<void>(1)
        const backend = LocalBackendLive({ registryDir, maxParallel: 3, onJobEnd: () => void jobEnded.unsafeOffer(undefined) }).pipe(
          Layer.provideMerge(BackendCallsLive)
        )
        return yield* serve({
          // No CCAT_MAX_PARALLEL: the location's `max_parallel 3` is the cap.
          execution: testExecutionConfig(baseDir, { maxParallel: null }),
          triggerInterval: Duration.millis(500),
          httpPort: null,
          exitWhenIdle: true,
          collectWake: jobEnded
        }).pipe(Effect.provide(Layer.mergeAll(backend, ServeStateLive)))
      }).pipe(
        Effect.provideService(LeaseOwner, `${hostname()}:${process.pid}/${name}`),
        Effect.timeout(Duration.minutes(4)),
        Logger.withMinimumLogLevel(LogLevel.Error)
      )

    layer(layers, { timeout: 300_000, excludeTestServices: true })((it) => {
      it.effect(
        "two serves on one database stage, submit and collect every run once, write its lineage and copies once, and never run more programs at once than max_parallel",
        () =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            const state = tempDir(`probe-${backend}`)
            yield* seedDemo({ archiveDir: tempDir(`archive-${backend}`) })
            yield* applyWorkspace(compile(state), { createdBy: "test" })
            yield* Effect.all([replica("replica-a"), replica("replica-b")], { concurrency: "unbounded" })

            const [expected] = yield* sql<{
              n: number
            }>`SELECT count(*)::int AS n FROM raw_data_package WHERE state = 'ARCHIVED' AND name LIKE ${packages}`
            const runs = yield* sql<{
              id: string
              status: string
              lease_owner: string | null
              staged: number
              submitted: number
              collecting: number
            }>`
            SELECT r.id, r.status, r.lease_owner,
              count(*) FILTER (WHERE e.to_status = 'STAGING_DATA')::int AS staged,
              count(*) FILTER (WHERE e.to_status = 'SUBMITTED')::int AS submitted,
              count(*) FILTER (WHERE e.to_status = 'COLLECTING_RESULTS')::int AS collecting
            FROM executed_reduction_step r JOIN run_event e ON e.run_id = r.id
            GROUP BY r.id ORDER BY r.id`
            expect(runs.length).toBe(expected!.n)
            expect(runs.length).toBeGreaterThan(40)
            // Each run's history: claimed, submitted and collected exactly once, then COMPLETED.
            expect(runs.filter((r) => r.status !== "COMPLETED" || r.staged !== 1 || r.submitted !== 1 || r.collecting !== 1)).toEqual([])
            // Each program ran once.
            const invoked = lines(join(state, "invocations"))
            expect(invoked.length).toBe(runs.length)
            expect(new Set(invoked).size).toBe(runs.length)
            // Both replicas did the work, not one of them alone: the last lease of each run names its collector.
            expect(new Set(runs.map((r) => r.lease_owner))).toEqual(
              new Set([`${hostname()}:${process.pid}/replica-a`, `${hostname()}:${process.pid}/replica-b`])
            )

            // Lineage and copies written once: one edge per product and input, one copy per product.
            const [lineage] = yield* sql<{ edges: number; distinct_edges: number; expected_edges: number }>`
            SELECT (SELECT count(*)::int FROM data_product_lineage) AS edges,
              (SELECT count(*)::int FROM (SELECT DISTINCT product_id, parent_product_id, raw_data_package_id FROM data_product_lineage) d) AS distinct_edges,
              (SELECT count(*)::int FROM data_product p JOIN run_input i ON i.run_id = p.run_id WHERE p.product_type <> 'LOG') AS expected_edges`
            expect(lineage).toEqual({
              edges: lineage!.expected_edges,
              distinct_edges: lineage!.expected_edges,
              expected_edges: lineage!.expected_edges
            })
            expect(lineage!.expected_edges).toBeGreaterThanOrEqual(runs.length)
            const copies = yield* sql<{ product_id: string; n: number }>`
            SELECT p.id AS product_id, count(c.id)::int AS n FROM data_product p LEFT JOIN physical_copy c ON c.data_product_id = p.id
            GROUP BY p.id HAVING count(c.id) <> 1`
            expect(copies).toEqual([])

            // At most 3 programs at once, as the programs counted themselves.
            const overlaps = lines(join(state, "overlaps")).map(Number)
            expect(overlaps.length).toBe(runs.length)
            expect(Math.max(...overlaps)).toBeLessThanOrEqual(3)
          })
      )
    })
  })
}
