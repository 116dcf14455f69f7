import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, LogLevel } from "effect"
import { createHash } from "node:crypto"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { installationId } from "../src/db/installation.ts"
import { seedDemo } from "../src/db/seed/index.ts"
import { applyWorkspace } from "../src/definitions/apply.ts"
import { BackendCalls, ExecutionBackend } from "../src/runtime/backends/execution-backend.ts"
import { jobIdentity } from "../src/runtime/execution/job-identity.ts"
import { purgeCycle } from "../src/runtime/execution/purge.ts"
import { submitCycle } from "../src/runtime/execution/submit-loop.ts"
import { evaluatePass } from "../src/runtime/gaps/evaluate-pass.ts"
import { testBackends } from "./support/databases.ts"
import { compileExecution, demoPrograms, executionFixture, executionRuns } from "./support/execution.ts"
import { rawPackagesBehind } from "./support/lineage.ts"
import { localServeSetup } from "./support/local-serve.ts"
import { scratchDirs } from "./support/scratch.ts"

// The whole run life cycle on the local backend, on both databases: ccat serve takes DR21's
// scans through calibrate → baseline → map with the demo programs; failures retry and then
// stay failed with their exit code; a timeout is TIMEOUT; a hostile config value is inert data;
// a run marked before a crash is adopted, not submitted twice.

const tempDir = scratchDirs("ccat-exec")

const compile = (edit: (text: string) => string = (t) => t) => compileExecution(edit(executionFixture))

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex")

for (const backend of testBackends) {
  describe(`execution on the local backend, ${backend}`, () => {
    const { baseDir, config, layers, serveUntilIdle } = localServeSetup(tempDir, backend, {
      config: { backend: "local", softwarePath: [demoPrograms], container: "auto" },
      logLevel: LogLevel.Warning
    })

    layer(layers, { timeout: 180_000, excludeTestServices: true })((it) => {
      it.effect(
        "ccat serve runs the chain to COMPLETED: every product checksummed, the map's lineage names every scan",
        () =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            yield* seedDemo({ archiveDir: tempDir(`archive-${backend}`) })
            yield* applyWorkspace(compile(), { createdBy: "test" })
            yield* serveUntilIdle

            const all = yield* executionRuns
            expect(all.map((r) => [r.step, r.status, r.reason])).toEqual([
              ["calibrate", "COMPLETED", "NEW_DATA"],
              ["calibrate", "COMPLETED", "NEW_DATA"],
              ["baseline", "COMPLETED", "UPSTREAM_CHANGED"],
              ["baseline", "COMPLETED", "UPSTREAM_CHANGED"],
              ["map", "COMPLETED", "UPSTREAM_CHANGED"]
            ])
            expect(all.every((r) => r.exit_code === 0 && r.run_dir !== null && r.run_dir.startsWith(baseDir))).toBe(true)
            // Every status change is in the event log, in order.
            const events = yield* sql<{ run_id: string; path: string }>`
            SELECT run_id, string_agg(to_status, ' ' ORDER BY id) AS path FROM run_event GROUP BY run_id ORDER BY run_id`
            for (const e of events) expect(e.path).toMatch(/^PENDING STAGING_DATA SUBMITTED (RUNNING )?COLLECTING_RESULTS COMPLETED$/)

            // Products: the checksum in the database is the file's, every file has a physical copy.
            const products = yield* sql<{
              id: string
              run_dir: string
              relative_path: string
              checksum: string
              product_type: string
              size_bytes: string
              copies: number
            }>`
            SELECT p.id, r.run_dir, p.relative_path, p.checksum, p.product_type, p.size_bytes,
              (SELECT count(*)::int FROM physical_copy c WHERE c.data_product_id = p.id AND c.status = 'PRESENT') AS copies
            FROM data_product p JOIN executed_reduction_step r ON r.id = p.run_id ORDER BY p.id`
            expect(products.length).toBeGreaterThan(10)
            for (const p of products) {
              const file = join(p.run_dir, p.relative_path)
              expect(sha256(file), p.relative_path).toBe(p.checksum)
              expect(readFileSync(file).length).toBe(Number(p.size_bytes))
              expect(p.copies).toBe(1)
            }
            const types = new Set(products.map((p) => p.product_type))
            expect(types).toEqual(new Set(["INTERMEDIATE", "QA_METRIC", "PLOT", "STATISTICS", "LOG", "SCIENCE"]))
            // The cube's plot is a real PNG.
            const png = products.find((p) => p.product_type === "PLOT" && p.relative_path.startsWith("output/"))!
            expect(readFileSync(join(png.run_dir, png.relative_path)).subarray(0, 8)).toEqual(
              Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
            )

            // Lineage: from the map's science products back through baseline and calibrate to raw packages.
            const expected = (yield* sql<{ id: string }>`
            SELECT p.id::text AS id FROM raw_data_package p JOIN executed_obs_unit e ON e.id = p.executed_obs_unit_id
              JOIN obs_unit u ON u.id = e.obs_unit_id JOIN source s ON s.id = u.source_id JOIN instrument_module m ON m.id = p.instrument_module_id
              JOIN instrument i ON i.id = m.instrument_id WHERE s.name = 'DR21' AND i.name = 'CHAI' AND p.state = 'ARCHIVED' ORDER BY 1`).map(
              (r) => r.id
            )
            expect(expected.length).toBeGreaterThanOrEqual(2)
            expect(yield* rawPackagesBehind("map")).toEqual(expected)
            // The raw inputs were staged as read-only copies at the processing location, recorded as
            // physical copies, and removed (DELETED) once their run was collected.
            const staged = yield* sql<{ status: string; n: number }>`
            SELECT c.status, count(*)::int AS n FROM physical_copy c JOIN data_location l ON l.id = c.data_location_id
            WHERE l.location_type = 'PROCESSING' AND c.raw_data_file_id IS NOT NULL GROUP BY 1`
            expect(staged.map((s) => s.status)).toEqual(["DELETED"])
            expect(staged[0]!.n).toBeGreaterThan(0)
            for (const r of all) expect(existsSync(join(r.run_dir!, "input"))).toBe(false)
          }),
        120_000
      )

      it.effect(
        "a program that exits non-zero is retried `retries` times, then FAILED with its exit code and log",
        () =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            process.env["CCAT_DEMO_FAIL"] = "calibrate"
            yield* applyWorkspace(
              compile((t) => t.replace("tsys_max_k = 4000", "tsys_max_k = 4500")),
              { createdBy: "test" }
            )
            yield* serveUntilIdle.pipe(Effect.ensuring(Effect.sync(() => delete process.env["CCAT_DEMO_FAIL"])))
            const failed = (yield* executionRuns).filter((r) => r.reason === "CONFIG_CHANGED")
            expect(failed.map((r) => [r.step, r.status, r.retry_count, r.exit_code, r.failure_reason])).toEqual([
              ["calibrate", "FAILED", 2, 3, "EXIT_CODE 3"],
              ["calibrate", "FAILED", 2, 3, "EXIT_CODE 3"]
            ])
            const [events] = yield* sql<{ retries: number; failures: number }>`
            SELECT count(*) FILTER (WHERE reason LIKE 'RETRY %')::int AS retries, count(*) FILTER (WHERE to_status = 'FAILED')::int AS failures
            FROM run_event WHERE run_id = ${failed[0]!.id}`
            expect(events).toEqual({ retries: 2, failures: 3 })
            // Its log is kept as a product, and says why.
            const [log] = yield* sql<{
              relative_path: string
            }>`SELECT relative_path FROM data_product WHERE run_id = ${failed[0]!.id} AND product_type = 'LOG' AND relative_path LIKE '%stdout%'`
            expect(log).toBeDefined()
            expect(readFileSync(join(failed[0]!.run_dir!, log!.relative_path), "utf8")).toContain("CCAT_DEMO_FAIL")
            // The trigger does not reopen them.
            const pass = yield* evaluatePass({})
            expect(pass.steps.find((s) => s.step === "calibrate")!.counts).toEqual({ FAILED_FINAL: 2 })
          }),
        120_000
      )

      it.effect(
        "a job past its time limit is FAILED with TIMEOUT",
        () =>
          Effect.gen(function* () {
            process.env["CCAT_DEMO_SLEEP_SECONDS"] = "20"
            yield* applyWorkspace(
              compile((t) =>
                t.replace("tsys_max_k = 4000", "tsys_max_k = 4600").replace("timeout 30s", "timeout 1s").replace("retries 2", "retries 0")
              ),
              { createdBy: "test" }
            )
            yield* serveUntilIdle.pipe(Effect.ensuring(Effect.sync(() => delete process.env["CCAT_DEMO_SLEEP_SECONDS"])))
            const timedOut = (yield* executionRuns).filter((r) => r.status === "FAILED" && r.retry_count === 0 && r.step === "calibrate")
            expect(timedOut.map((r) => r.failure_reason)).toEqual(["TIMEOUT", "TIMEOUT"])
          }),
        120_000
      )

      it.effect(
        "a hostile config value reaches the program as one inert argument, never as shell",
        () =>
          Effect.gen(function* () {
            const marker = join(tempDir(`marker-${backend}`), "pwned")
            const hostile = `$(touch ${marker})\`touch ${marker}\`'"; touch ${marker}\nnext`
            const literal = JSON.stringify(hostile)
            yield* applyWorkspace(
              compile((t) => t.replace('calibration_mode = "hot_cold"', `calibration_mode = ${literal}`).replace("retries 2", "retries 0")),
              { createdBy: "test" }
            )
            yield* serveUntilIdle
            const attempts = (yield* executionRuns).filter((r) => r.step === "calibrate" && r.failure_reason === "EXIT_CODE 2")
            expect(attempts).toHaveLength(2)
            expect(existsSync(marker)).toBe(false)
            const manifest = JSON.parse(readFileSync(join(attempts[0]!.run_dir!, "config", "manifest.json"), "utf8")) as {
              config: { calibration_mode: string }
              software: { argv: Array<string> }
            }
            expect(manifest.config.calibration_mode).toBe(hostile)
            expect(manifest.software.argv).toEqual(["chai-calibrate", "--mode", hostile, "--tsys-max", "4000"])
          }),
        120_000
      )

      it.effect(
        "a run marked with its job name before a crash is adopted, not submitted twice",
        () =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            const backendService = yield* ExecutionBackend
            const calls = yield* BackendCalls
            yield* applyWorkspace(
              compile((t) => t.replace("tsys_max_k = 4000", "tsys_max_k = 4700")),
              { createdBy: "test" }
            )
            yield* evaluatePass({})
            const [run] = yield* sql<{ id: string }>`SELECT id FROM executed_reduction_step WHERE status = 'PENDING' ORDER BY id LIMIT 1`
            const runId = Number(run!.id)
            // The state a crash right after `submit` leaves: marked, job running, its id never recorded.
            const identity = jobIdentity((yield* installationId)!, runId, 1)
            const jobDir = tempDir(`crashed-${backend}`)
            yield* sql`
            UPDATE executed_reduction_step SET status = 'STAGING_DATA', job_name = ${identity.name}, attempt = 1, marked_at = ${new Date()}, run_dir = ${jobDir},
              lease_until = now() - interval '1 minute' WHERE id = ${runId}`
            const jobId = yield* backendService.submit({
              runId,
              attempt: 1,
              jobName: identity.name,
              comment: identity.comment,
              argv: ["sh", "-c", 'sleep 1; mkdir -p "$WORKFLOW_OUTPUT_DIR" && echo cube > "$WORKFLOW_OUTPUT_DIR/scan.fits"'],
              env: { WORKFLOW_OUTPUT_DIR: join(jobDir, "workspace", "calibrate") },
              runDir: jobDir,
              stdoutPath: join(jobDir, "logs", "stdout.txt"),
              stderrPath: join(jobDir, "logs", "stderr.txt"),
              resources: { cpus: 1, memoryBytes: null, timeSeconds: null, partition: null, gpus: null },
              timeoutSeconds: null,
              container: { runtime: "none" }
            })
            const spawnsBefore = (yield* calls.snapshot).get("spawn") ?? 0
            const cycle = yield* submitCycle({ ...config, submitBatch: 1 })
            expect(cycle).toMatchObject({ claimed: 1, adopted: 1, submitted: 0 })
            expect((yield* calls.snapshot).get("spawn") ?? 0).toBe(spawnsBefore)
            const [after] = yield* sql<{
              status: string
              backend_job_id: string
            }>`SELECT status, backend_job_id FROM executed_reduction_step WHERE id = ${runId}`
            expect(after).toEqual({ status: "SUBMITTED", backend_job_id: jobId })
            // The adopted job's end is collected like any other.
            yield* serveUntilIdle
            const [done] = yield* sql<{ status: string; retry_count: number; attempt: number; n: number }>`
            SELECT r.status, r.retry_count, r.attempt, (SELECT count(*)::int FROM data_product p WHERE p.run_id = r.id AND p.product_type = 'LOG') AS n
            FROM executed_reduction_step r WHERE r.id = ${runId}`
            expect(done).toEqual({ status: "COMPLETED", retry_count: 0, attempt: 1, n: 2 })
          }),
        120_000
      )

      it.effect(
        "under disk pressure (usage simulated), intermediates whose consumers completed are purged oldest first; nothing else",
        () =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            // Two baseline runs completed and the map read their products: the calibrate and
            // baseline intermediates of the first, COMPLETED chain are purgeable.
            const before = yield* sql<{ id: string; type: string; status: string }>`
            SELECT p.id, p.product_type AS type, c.status FROM data_product p JOIN physical_copy c ON c.data_product_id = p.id ORDER BY p.id`
            let checks = 0
            const pressure = { percentUsed: () => (checks++ < 3 ? 97 : 50) }
            const result = yield* purgeCycle(config, pressure)
            expect(result).toMatchObject({ locations: 1, purged: 2 })
            const after = yield* sql<{ id: string; type: string; status: string; run_dir: string; relative_path: string; step: string }>`
            SELECT p.id, p.product_type AS type, c.status, r.run_dir, p.relative_path, s.name AS step FROM data_product p
            JOIN physical_copy c ON c.data_product_id = p.id JOIN executed_reduction_step r ON r.id = p.run_id JOIN reduction_step s ON s.id = r.step_id
            ORDER BY p.id`
            const deleted = after.filter((p) => p.status === "DELETED")
            expect(deleted).toHaveLength(2)
            // The oldest intermediates: the first calibration's, records kept, files gone.
            expect(deleted.map((p) => p.id)).toEqual(
              before
                .filter((p) => p.type === "INTERMEDIATE")
                .slice(0, 2)
                .map((p) => p.id)
            )
            for (const p of deleted) {
              expect(p.type).toBe("INTERMEDIATE")
              expect(p.step).toBe("calibrate")
              expect(existsSync(join(p.run_dir, p.relative_path))).toBe(false)
            }
            expect(after.filter((p) => p.type !== "INTERMEDIATE").every((p) => p.status === "PRESENT")).toBe(true)
            // Without pressure nothing is purged.
            expect(yield* purgeCycle(config, { percentUsed: () => 50 })).toMatchObject({ locations: 0, purged: 0 })
          })
      )
    })
  })
}
