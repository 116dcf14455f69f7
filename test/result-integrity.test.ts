import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer, Logger, LogLevel } from "effect"
import { execFileSync } from "node:child_process"
import { existsSync, readFileSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { installationId } from "../src/db/installation.ts"
import { seedDemo } from "../src/db/seed/index.ts"
import { applyWorkspace } from "../src/definitions/apply.ts"
import { BackendCallsLive } from "../src/runtime/backends/backend-calls.ts"
import { ExecutionBackend } from "../src/runtime/backends/execution-backend.ts"
import { LocalBackendLive } from "../src/runtime/backends/local-backend.ts"
import { DiskSpace, makeDiskSpace } from "../src/runtime/execution/disk-space.ts"
import type { ExecutionConfig } from "../src/runtime/execution/execution-config.ts"
import { jobIdentity } from "../src/runtime/execution/job-identity.ts"
import { submitCycle } from "../src/runtime/execution/submit-loop.ts"
import { explainWhy } from "../src/runtime/explain/why.ts"
import { evaluatePass } from "../src/runtime/gaps/evaluate-pass.ts"
import { findRun } from "../src/runtime/ops/run-row.ts"
import { serve } from "../src/runtime/serve/serve.ts"
import { ServeStateLive } from "../src/runtime/serve/serve-state.ts"
import { testBackends, testDatabase } from "./support/databases.ts"
import { freePort, testExecutionConfig } from "./support/execution.ts"
import { compileIntegrity, sha256 } from "./support/integrity-fixture.ts"
import { runsOfMode } from "./support/runs-of-mode.ts"
import { scratchDirs } from "./support/scratch.ts"

// A run's result is exactly its own, whatever its program does (the result-integrity issue), on
// the local backend and both databases: a retry publishes only its own files; a program that
// writes to its input fails and the archive keeps its checksums; a run that produced nothing
// fails; a job under the run's name that another database submitted is never adopted; a full
// disk (a real, small tmpfs) pauses work and nothing fails.

const tempDir = scratchDirs("ccat-integrity")
const compile = compileIntegrity

const productsOf = (runId: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<{ relative_path: string; product_type: string; checksum: string; size_bytes: string }>`
      SELECT relative_path, product_type, checksum, size_bytes FROM data_product WHERE run_id = ${runId} ORDER BY relative_path`
  )

/** Every raw file in the archive still has the SHA-256 the archive recorded. */
const archiveIntact = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const files = yield* sql<{ path: string; checksum: string }>`
    SELECT CASE WHEN c.path LIKE '/%' THEN c.path ELSE l.root_path || '/' || c.path END AS path, f.checksum
    FROM raw_data_file f JOIN physical_copy c ON c.raw_data_file_id = f.id JOIN data_location l ON l.id = c.data_location_id
    WHERE c.status = 'PRESENT' AND l.location_type <> 'PROCESSING'`
  expect(files.length).toBeGreaterThan(0)
  return files.filter((f) => sha256(f.path) !== f.checksum).map((f) => f.path)
})

for (const backend of testBackends) {
  describe(`a run's result is exactly its own, ${backend}`, () => {
    const baseDir = tempDir(`runs-${backend}`)
    const registryDir = tempDir(`registry-${backend}`)
    const config = testExecutionConfig(baseDir)
    const backendLayer = LocalBackendLive({ registryDir, maxParallel: 2 }).pipe(Layer.provideMerge(BackendCallsLive))
    const layers = Layer.mergeAll(testDatabase(backend, { pglitePool: 1 }), NodeContext.layer, backendLayer, ServeStateLive)
    const serveUntilIdle = (execution: ExecutionConfig = config) =>
      serve({ execution, triggerInterval: Duration.millis(500), httpPort: null, exitWhenIdle: true }).pipe(
        Effect.timeout(Duration.minutes(2)),
        Logger.withMinimumLogLevel(LogLevel.Error)
      )

    layer(layers, { timeout: 180_000, excludeTestServices: true })((it) => {
      it.effect("a retry that succeeds publishes only its own files; the run's failure fields describe the attempt that counted", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* seedDemo({ archiveDir: tempDir(`archive-${backend}`) })
          yield* applyWorkspace(compile({ mode: "flaky", state: tempDir(`flaky-${backend}`) }), { createdBy: "test" })
          yield* serveUntilIdle()
          const runs = yield* runsOfMode("flaky")
          expect(runs).toHaveLength(2)
          for (const run of runs) {
            // The first attempt failed (leaving stale.fits in its folder); the second succeeded.
            expect(run).toMatchObject({ status: "COMPLETED", retry_count: 1, attempt: 2, exit_code: 0, failure_reason: null })
            expect(run.run_dir!.endsWith(join(`run-${run.id}`, "attempt-2"))).toBe(true)
            const products = yield* productsOf(run.id)
            expect(products.filter((p) => p.product_type === "SCIENCE").map((p) => p.relative_path)).toEqual(["output/science/scan.fits"])
            for (const p of products) {
              expect(sha256(join(run.run_dir!, p.relative_path)), p.relative_path).toBe(p.checksum)
            }
            // The failed attempt's file is still in its own folder, and is nobody's product.
            expect(existsSync(join(run.run_dir!, "..", "attempt-1", "output", "science", "stale.fits"))).toBe(true)
            expect(products.some((p) => p.relative_path.includes("stale"))).toBe(false)
            const summary = yield* findRun(Number(run.id))
            expect(summary).toMatchObject({ attempt: 2, retryCount: 1, failureReason: null })
            // The event log keeps the failed attempt.
            const [events] = yield* sql<{
              failures: number
            }>`SELECT count(*) FILTER (WHERE reason = 'EXIT_CODE 1')::int AS failures FROM run_event WHERE run_id = ${run.id}`
            expect(events!.failures).toBe(1)
          }
        })
      )

      it.effect("a program that writes to its input fails with INPUT_MODIFIED; the archive's files keep their SHA-256", () =>
        Effect.gen(function* () {
          yield* applyWorkspace(compile({ mode: "append-input", state: tempDir(`append-${backend}`) }), { createdBy: "test" })
          yield* serveUntilIdle()
          const runs = yield* runsOfMode("append-input")
          expect(runs).toHaveLength(2)
          for (const run of runs) {
            expect(run.status).toBe("FAILED")
            expect(run.failure_reason).toMatch(/^INPUT_MODIFIED: input\/.+ (changed size|was written to)/)
            expect((yield* productsOf(run.id)).filter((p) => p.product_type !== "LOG")).toEqual([])
          }
          expect(yield* archiveIntact).toEqual([])
        })
      )

      it.effect(
        "a run that produced nothing fails with NO_OUTPUTS; a step that may produce none says so; a pattern counts only its files",
        () =>
          Effect.gen(function* () {
            yield* applyWorkspace(compile({ mode: "nothing", state: tempDir(`nothing-${backend}`) }), { createdBy: "test" })
            yield* serveUntilIdle()
            expect((yield* runsOfMode("nothing")).map((r) => [r.status, r.failure_reason])).toEqual([
              [
                "FAILED",
                "NO_OUTPUTS: the run produced no science file (a step that may produce none says so: `outputs { science min 0 }`)"
              ],
              ["FAILED", "NO_OUTPUTS: the run produced no science file (a step that may produce none says so: `outputs { science min 0 }`)"]
            ])

            yield* applyWorkspace(compile({ mode: "nothing", state: tempDir(`may-${backend}`) }, "outputs { science min 0 }"), {
              createdBy: "test"
            })
            yield* serveUntilIdle()
            const allowed = (yield* runsOfMode("nothing")).slice(2)
            expect(allowed.map((r) => r.status)).toEqual(["COMPLETED", "COMPLETED"])
            for (const r of allowed) expect(new Set((yield* productsOf(r.id)).map((p) => p.product_type))).toEqual(new Set(["LOG"]))

            yield* applyWorkspace(compile({ mode: "one-fits", state: tempDir(`fits-${backend}`) }, 'outputs { science "*.fits" min 2 }'), {
              createdBy: "test"
            })
            yield* serveUntilIdle()
            expect((yield* runsOfMode("one-fits")).map((r) => [r.status, r.failure_reason])).toEqual([
              ["FAILED", 'NO_OUTPUTS: science "*.fits": found 1 file, at least 2 required'],
              ["FAILED", 'NO_OUTPUTS: science "*.fits": found 1 file, at least 2 required']
            ])
          })
      )

      it.effect(
        "a job under the run's name that another database submitted, or that predates the mark, is reported and never adopted; the run runs its own program",
        () =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            const local = yield* ExecutionBackend
            const state = tempDir(`own-${backend}`)
            yield* applyWorkspace(compile({ mode: "good", state }), { createdBy: "test" })
            yield* evaluatePass({})
            const pending = yield* runsOfMode("good")
            expect(pending.map((r) => r.status)).toEqual(["PENDING", "PENDING"])
            const installation = (yield* installationId)!
            const strangerDir = tempDir(`stranger-${backend}`)
            // What a crash between the mark and the backend's answer leaves: marked, no job id. A
            // job under the same name exists: for the first run another database's (its comment
            // names another installation), for the second one submitted before the mark.
            const submitUnderName = (runId: number, comment: string) =>
              local.submit({
                runId,
                attempt: 1,
                jobName: jobIdentity(installation, runId, 1).name,
                comment,
                argv: ["sh", "-c", 'mkdir -p "$WORKFLOW_OUTPUT_DIR/science" && echo "not ours" > "$WORKFLOW_OUTPUT_DIR/science/scan.fits"'],
                env: { WORKFLOW_OUTPUT_DIR: join(strangerDir, String(runId), "output") },
                runDir: strangerDir,
                stdoutPath: join(strangerDir, String(runId), "stdout.txt"),
                stderrPath: join(strangerDir, String(runId), "stderr.txt"),
                resources: { cpus: 1, memoryBytes: null, timeSeconds: null, partition: null, gpus: null },
                timeoutSeconds: null,
                container: { runtime: "none" }
              })
            const [first, second] = pending.map((r) => Number(r.id)) as [number, number]
            const strangers = [
              yield* submitUnderName(first, `ccat installation=00000000-1111-2222-3333-444444444444 run=${first} attempt=1`),
              yield* submitUnderName(second, jobIdentity(installation, second, 1).comment)
            ]
            // (They end at once; until then they hold the backend's slots.)
            for (let i = 0; i < 100 && [...(yield* local.poll(strangers)).values()].some((j) => j.state === "RUNNING"); i++)
              yield* Effect.sleep(Duration.millis(100))
            const markedAt = new Date(Date.now() + 5_000)
            for (const id of [first, second]) {
              yield* sql`
              UPDATE executed_reduction_step SET status = 'STAGING_DATA', job_name = ${jobIdentity(installation, id, 1).name}, attempt = 1,
                marked_at = ${id === second ? markedAt : new Date()}, lease_until = now() - interval '1 minute' WHERE id = ${id}`
            }
            const cycle = yield* submitCycle(config)
            expect(cycle).toMatchObject({ claimed: 2, adopted: 0, submitted: 2 })
            const events = yield* sql<{
              run_id: string
              reason: string
            }>`SELECT run_id, reason FROM run_event WHERE reason LIKE 'NOT_ADOPTED:%' ORDER BY run_id`
            expect(events.map((e) => [Number(e.run_id), e.reason])).toEqual([
              [
                first,
                expect.stringMatching(
                  new RegExp(`^NOT_ADOPTED: job ${strangers[0]} .* is not this run's: its comment is "ccat installation=00000000-1111`)
                )
              ],
              [
                second,
                expect.stringMatching(
                  new RegExp(
                    `^NOT_ADOPTED: job ${strangers[1]} .* is not this run's: it was submitted at .* before this attempt was marked`
                  )
                )
              ]
            ])
            yield* serveUntilIdle()
            for (const run of yield* runsOfMode("good")) {
              expect(run).toMatchObject({ status: "COMPLETED", attempt: 2, retry_count: 0 })
              expect(readFileSync(join(run.run_dir!, "output", "science", "scan.fits"), "utf8")).toBe("good\n")
            }
            // Each run's own program ran once, under its attempt-2 name; the strangers' outputs are nobody's.
            const invocations = readFileSync(join(state, "invocations"), "utf8").trim().split("\n").sort()
            expect(invocations).toEqual([first, second].map((id) => `${jobIdentity(installation, id, 2).name} ${id} good`).sort())
            // `ccat why` tells of it.
            const why = yield* explainWhy({ pipeline: "integrity", step: "reduce", subGroupKey: pending[0]!.sub_group_key })
            expect(why.join("\n")).toContain(`run ${first}: job ${strangers[0]} (`)
          })
      )

      it.effect(
        "a full disk (a real tmpfs) pauses work: nothing fails or stays half-staged, /healthz says degraded, work resumes by itself when there is room",
        () =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            const disk = yield* makeDiskSpace()
            const mount = tempDir(`full-${backend}`)
            const [sizes] = yield* sql<{ largest: string }>`
            SELECT max(s)::text AS largest FROM (
              SELECT sum(f.size_bytes) AS s FROM raw_data_file f JOIN raw_data_package p ON p.id = f.raw_data_package_id
              JOIN executed_obs_unit e ON e.id = p.executed_obs_unit_id JOIN obs_unit u ON u.id = e.obs_unit_id JOIN source s ON s.id = u.source_id
              WHERE s.name = 'DR21' GROUP BY p.id) t`
            const input = Number(sizes!.largest)
            // Room for the folders, not for the inputs of one run.
            const tooSmall = Math.floor(input / 2)
            expect(tooSmall).toBeGreaterThan(8192)
            execFileSync("mount", ["-t", "tmpfs", "-o", `size=${tooSmall}`, "tmpfs", mount])
            yield* Effect.addFinalizer(() => Effect.sync(() => execFileSync("umount", ["-l", mount])))
            const full: ExecutionConfig = { ...config, baseDir: mount }
            const state = tempDir(`fill-${backend}`)
            yield* applyWorkspace(compile({ mode: "fill", state, bytes: 4 * 1024 * 1024 }), { createdBy: "test" })
            yield* evaluatePass({})

            const first = yield* submitCycle(full).pipe(Effect.provideService(DiskSpace, disk))
            expect(first).toMatchObject({ submitted: 0, failed: 0 })
            expect(first.outOfSpace).toBeGreaterThanOrEqual(1)
            const paused = yield* runsOfMode("fill")
            expect(paused.map((r) => [r.status, r.retry_count, r.attempt])).toEqual([
              ["PENDING", 0, 0],
              ["PENDING", 0, 0]
            ])
            // Nothing half-staged: no attempt folder, no staged copy recorded.
            expect(readdirSync(mount, { recursive: true }).filter((p) => String(p).includes("attempt-"))).toEqual([])
            const [staged] = yield* sql<{
              n: number
            }>`SELECT count(*)::int AS n FROM physical_copy WHERE path LIKE ${`%run-${paused[0]!.id}/%`}`
            expect(staged!.n).toBe(0)
            expect((yield* disk.shortages).map((s) => [s.location, s.folder])).toEqual([["here", mount]])
            // No work is claimed for the location while it is full.
            expect(yield* submitCycle(full).pipe(Effect.provideService(DiskSpace, disk))).toMatchObject({ claimed: 0 })

            // `ccat serve` says so on /healthz, and waits.
            const port = yield* freePort
            const serving = yield* serve({
              execution: full,
              triggerInterval: Duration.millis(500),
              httpPort: port,
              exitWhenIdle: false
            }).pipe(Logger.withMinimumLogLevel(LogLevel.Error), Effect.provideService(DiskSpace, disk), Effect.fork)
            const health = yield* Effect.promise(async () => {
              for (let i = 0; i < 100; i++) {
                const r = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null)
                if (r !== null)
                  return {
                    code: r.status,
                    body: (await r.json()) as { status: string; outOfSpace: Array<{ location: string; folder: string }> }
                  }
                await new Promise((ok) => setTimeout(ok, 100))
              }
              return null
            })
            expect(health).toMatchObject({ code: 503, body: { status: "degraded", outOfSpace: [{ location: "here", folder: mount }] } })
            const metrics = yield* Effect.promise(() => fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()))
            expect(metrics).toContain(`ccat_location_out_of_space{location="here",folder="${mount}"} 1`)
            yield* Fiber.interrupt(serving)

            // Room for the inputs but not for what the program writes: the job runs out of space,
            // and its run waits again, not counted as a failure.
            execFileSync("mount", ["-o", `remount,size=${input * 2 + 512 * 1024}`, mount])
            const fresh = yield* makeDiskSpace()
            const running = yield* serve({
              execution: full,
              triggerInterval: Duration.millis(500),
              httpPort: null,
              exitWhenIdle: false
            }).pipe(Logger.withMinimumLogLevel(LogLevel.Error), Effect.provideService(DiskSpace, fresh), Effect.fork)
            // Until a job ran out of space and nothing is on its way any more (the location is blocked).
            for (let i = 0; i < 600; i++) {
              const [s] = yield* sql<{ out: number; busy: number }>`
              SELECT (SELECT count(*)::int FROM run_event WHERE reason LIKE 'OUT_OF_SPACE: job %') AS out,
                (SELECT count(*)::int FROM executed_reduction_step WHERE status IN ('STAGING_DATA', 'SUBMITTED', 'RUNNING', 'COLLECTING_RESULTS')) AS busy`
              if (s!.out > 0 && s!.busy === 0) break
              yield* Effect.promise(() => new Promise((ok) => setTimeout(ok, 100)))
            }
            yield* Fiber.interrupt(running)
            const interrupted = yield* runsOfMode("fill")
            expect(interrupted.every((r) => r.status !== "FAILED" && r.retry_count === 0)).toBe(true)
            const [outOfSpace] = yield* sql<{ n: number }>`
            SELECT count(*)::int AS n FROM run_event WHERE reason LIKE 'OUT_OF_SPACE: job %' AND run_id IN ${sql.in(interrupted.map((r) => r.id))}`
            expect(outOfSpace!.n).toBeGreaterThanOrEqual(1)
            expect((yield* fresh.shortages).length).toBe(1)

            // Room for all of it: the runs complete by themselves, no attempt counted as failed.
            execFileSync("mount", ["-o", "remount,size=64m", mount])
            yield* serveUntilIdle(full).pipe(Effect.provideService(DiskSpace, fresh))
            const done = yield* runsOfMode("fill")
            expect(done.map((r) => [r.status, r.retry_count, r.failure_reason])).toEqual([
              ["COMPLETED", 0, null],
              ["COMPLETED", 0, null]
            ])
            expect(yield* fresh.shortages).toEqual([])
            // The staged inputs are gone after collection; the products stay.
            for (const r of done) {
              expect(existsSync(join(r.run_dir!, "input"))).toBe(false)
              expect(readFileSync(join(r.run_dir!, "output", "science", "big.fits")).length).toBe(4 * 1024 * 1024)
            }
          }).pipe(Effect.scoped)
      )
    })
  })
}
