import { SqlClient } from "@effect/sql"
import { describe, expect, it as plainIt, layer } from "@effect/vitest"
import { Deferred, Duration, Effect, Fiber, Option } from "effect"
import { execFileSync } from "node:child_process"
import { createHash } from "node:crypto"
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { dirname, join, relative } from "node:path"
import { compileSources } from "../src/compiler/compile.ts"
import { applyWorkspace } from "../src/definitions/apply.ts"
import type { ExecutionConfig } from "../src/runtime/execution/execution-config.ts"
import { purgeCycle, realDiskUsage, type DiskUsage } from "../src/runtime/execution/purge.ts"
import { evaluatePass, type PassSummary, type StepOutcome } from "../src/runtime/gaps/evaluate-pass.ts"
import { previewPass } from "../src/runtime/gaps/preview.ts"
import { reasonDescriptions } from "../src/runtime/gaps/reasons.ts"
import { recordManualRequest } from "../src/runtime/gaps/trigger-requests.ts"
import { retryRun } from "../src/runtime/ops/retry.ts"
import { scanByStart } from "./support/chai-scans.ts"
import { seededTestDatabase, testBackends, type TestBackend } from "./support/databases.ts"
import { capturingLogs } from "./support/capture-logs.ts"
import { scratchDirs } from "./support/scratch.ts"

// Purging never breaks later work (docs/design/runtime.md §5.3, §5.4): an intermediate a future run reads is either
// kept or, once purged, made again first. The per-scan calibrations of NGC1068 fan in to its
// per-source cube; the calibrations are purged under (injected) disk pressure; when a new scan
// arrives, the purged calibrations are rebuilt (INPUT_PURGED) while the cube waits
// (WAITING_UPSTREAM), and the cube then runs on the rebuilt products. The collect loop is played
// by `finish`, which writes what it writes: the product files in the run's folder, the products
// and their PRESENT copies at the processing location, the COMPLETED status and its event.
// The real disk cannot be filled here: purge is driven with a DiskUsage that says it is full.

const tempDir = scratchDirs("ccat-purge-rebuild")

const workspaceText = `
location here {
  description "This machine"
  backend local { max_parallel 2 }
  container none
  purge_above 80%
}

grouping ngc1068 {
  description "NGC1068 with CHAI"
  where Instrument.name == "CHAI" and RawDataPackage.state == "ARCHIVED" and Source.name == "NGC1068"
}

software chai_calibration {
  image "docker://ghcr.io/ccatobs/chai-calibration:{version}"
  versions "2.4.2"
  command "chai-calibrate --mode {config.calibration_mode}"
}

software chai_gridding {
  image "docker://ghcr.io/ccatobs/chai-gridding:{version}"
  versions "0.10.0"
  command "chai-grid --pixel {config.pixel_arcsec}"
}

pipeline reduce {
  data ngc1068
  location here
  trigger continuous

  step calibrate {
    run chai_calibration ^2.4
    group_by executed_obs_unit
    config { calibration_mode = "hot_cold" }
  }

  step map {
    after calibrate
    run chai_gridding ~0.10
    group_by source, line
    config { pixel_arcsec = 6.5 }
  }
}
`

const compile = (text: string) => {
  const result = compileSources([{ path: "test/purge-rebuild.ccat", text }])
  if (result.ir === undefined) throw new Error(result.diagnostics.map((d) => d.message).join("\n"))
  return result.ir
}
const compiled = compile(workspaceText)

const full: DiskUsage = { percentUsed: () => 100 }

const executionConfig = (baseDir: string): ExecutionConfig => ({
  backend: "local",
  location: null,
  baseDir,
  defaultBaseDir: baseDir,
  softwarePath: [],
  container: "none",
  submitInterval: Duration.seconds(1),
  collectInterval: Duration.seconds(1),
  lostGrace: Duration.minutes(10),
  retryBackoff: Duration.seconds(1),
  maxParallel: 2,
  submitBatch: 16,
  purgeInterval: Duration.minutes(5)
})

const seededDatabase = (backend: TestBackend) => seededTestDatabase(backend, tempDir(`archive-${backend}`))

// ---------------------------------------------------------------------------------------------
// Reading the database as a user would (ccat runs, ccat why).

interface Run {
  readonly id: number
  readonly step: string
  readonly sub_group_key: string
  readonly status: string
  readonly reason: string
  readonly request_tag: string
}

const runs = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<Run & { id: string }>`
    SELECT r.id, s.name AS step, r.sub_group_key, r.status, r.reason, r.request_tag
    FROM executed_reduction_step r JOIN reduction_step s ON s.id = r.step_id ORDER BY r.id`
  return rows.map((r) => ({ ...r, id: Number(r.id) }))
})

const outcome = (summary: PassSummary, step: string): StepOutcome => summary.steps.find((s) => s.step === step)!

const counts = (summary: PassSummary) => Object.fromEntries(summary.steps.map((s) => [s.step, s.counts]))

/**
 * One pass of the trigger loop (remembering, deciding only what changed), checked against a full
 * evaluation of the same moment (a preview, rolled back): same counts, same runs created.
 * Returns the full evaluation's decisions and the loop pass's runs.
 */
const loopPass = Effect.gen(function* () {
  const everything = yield* previewPass({ explain: {} })
  const loop = yield* evaluatePass({ remember: true })
  expect(counts(loop)).toEqual(counts(everything))
  expect(loop.created).toBe(everything.created)
  return { decided: everything, created: loop.created }
})

/** Whether every product a run reads has a PRESENT copy and its file is where staging takes it from. */
const inputsOnDisk = (runId: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const inputs = yield* sql<{ id: string; run_id: string; file: string; present: boolean }>`
      SELECT p.id, p.run_id, r.run_dir || '/' || p.relative_path AS file,
        EXISTS (SELECT 1 FROM physical_copy c WHERE c.data_product_id = p.id AND c.status = 'PRESENT') AS present
      FROM run_input i JOIN data_product p ON p.id = i.data_product_id JOIN executed_reduction_step r ON r.id = p.run_id
      WHERE i.run_id = ${runId} ORDER BY p.id`
    return inputs.map((i) => ({ product: Number(i.id), madeBy: Number(i.run_id), present: i.present, onDisk: existsSync(i.file) }))
  })

const copyStatuses = (step: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql<{ run_id: string; status: string; file: string }>`
      SELECT p.run_id, c.status, l.root_path || '/' || c.path AS file
      FROM physical_copy c JOIN data_location l ON l.id = c.data_location_id
      JOIN data_product p ON p.id = c.data_product_id JOIN executed_reduction_step r ON r.id = p.run_id
      JOIN reduction_step s ON s.id = r.step_id
      WHERE s.name = ${step} ORDER BY p.id`
  ).pipe(Effect.map((rows) => rows.map((r) => ({ run: Number(r.run_id), status: r.status, onDisk: existsSync(r.file) }))))

// ---------------------------------------------------------------------------------------------
// Playing the collect loop.

/** The run ended well: its product file written in its folder, then recorded as collect does. */
const finish = (baseDir: string, runId: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [run] = yield* sql<{ step: string; sub_group_key: string; status: string }>`
      SELECT s.name AS step, r.sub_group_key, r.status FROM executed_reduction_step r JOIN reduction_step s ON s.id = r.step_id WHERE r.id = ${runId}`
    expect(run?.status).toBe("PENDING")
    const runDir = join(baseDir, "reduce", run!.step, run!.sub_group_key, `run-${runId}`)
    const [path, type] =
      run!.step === "calibrate" ? ["workspace/calibrate/calibrated.fits", "INTERMEDIATE"] : ["output/science/cube.fits", "SCIENCE"]
    const file = join(runDir, path)
    const content = `product of run ${runId}\n`
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, content)
    yield* sql.withTransaction(
      Effect.gen(function* () {
        yield* sql`
          UPDATE executed_reduction_step SET status = 'COMPLETED', run_dir = ${runDir}, finished_at = now(), updated_at = now()
          WHERE id = ${runId}`
        yield* sql`
          INSERT INTO run_event (run_id, at, actor, from_status, to_status, reason)
          VALUES (${runId}, now(), 'collect', 'PENDING', 'COMPLETED', 'job finished')`
        const [product] = yield* sql<{ id: string }>`
          INSERT INTO data_product (run_id, product_type, relative_path, size_bytes, checksum)
          VALUES (${runId}, ${type}, ${path}, ${content.length}, ${createHash("sha256").update(content).digest("hex")})
          RETURNING id`
        yield* sql`
          INSERT INTO data_location (id, name, location_type, storage_type, site, root_path)
          VALUES (gen_random_uuid(), 'processing:here', 'PROCESSING', 'DISK', 'ccat', ${baseDir})
          ON CONFLICT (name) DO NOTHING`
        yield* sql`
          INSERT INTO physical_copy (data_location_id, data_product_id, path, status)
          SELECT id, ${product!.id}, ${relative(baseDir, file)}, 'PRESENT' FROM data_location WHERE name = 'processing:here'`
      })
    )
  })

const finishPending = (baseDir: string, step: string) =>
  Effect.gen(function* () {
    const pending = (yield* runs).filter((r) => r.step === step && r.status === "PENDING")
    for (const r of pending) yield* finish(baseDir, r.id)
    return pending
  })

/** The CHAI packages of NGC1068's newest scan: held back as TRANSFERRING, then "arriving". */
const newestScan = scanByStart("NGC1068", "last")

const setScanState = (scan: string, from: string, to: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql`UPDATE raw_data_package SET state = ${to} WHERE executed_obs_unit_id = ${scan} AND state = ${from}`
  )

const failedOrCancelled = Effect.map(runs, (rs) => rs.filter((r) => r.status === "FAILED" || r.status === "CANCELLED"))

// ---------------------------------------------------------------------------------------------

describe("purge measures disk use as df does", () => {
  plainIt("realDiskUsage gives df's Use% for a real file system (df --output=pcent)", () => {
    const dir = tempDir("statfs")
    const df = () => Number(execFileSync("df", ["--output=pcent", dir], { encoding: "utf8" }).split("\n")[1]!.trim().replace("%", ""))
    // Other processes write to the same disk: compare when df says the same before and after.
    for (let attempt = 0; ; attempt++) {
      const before = df()
      const ours = realDiskUsage.percentUsed(dir)
      const after = df()
      if (before !== after && attempt < 20) continue
      expect(ours).toBe(before)
      break
    }
  })
})

for (const backend of testBackends) {
  layer(seededDatabase(backend), { timeout: 120_000, excludeTestServices: true })(`purge and rebuild, ${backend}`, (it) => {
    const baseDir = tempDir(`runs-${backend}`)
    const config = executionConfig(baseDir)
    let scan6 = ""
    let mapKey = ""

    it.effect("a cube that is UP_TO_DATE with purged calibrations creates nothing and asks for no rebuild (disk fullness injected)", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        // The newest scan is still being transferred: it arrives in the next test.
        scan6 = yield* newestScan
        yield* setScanState(scan6, "ARCHIVED", "TRANSFERRING")
        expect((yield* applyWorkspace(compiled, { createdBy: "test" }))._tag).toBe("Applied")

        const first = yield* loopPass
        expect(counts(first.decided)).toEqual({ calibrate: { NEW_DATA: 5 }, map: { WAITING_UPSTREAM: 1 } })
        yield* finishPending(baseDir, "calibrate")
        const second = yield* loopPass
        expect(counts(second.decided)).toEqual({ calibrate: { UP_TO_DATE: 5 }, map: { UPSTREAM_CHANGED: 1 } })
        mapKey = outcome(second.decided, "map").decisions![0]!.subGroupKey
        yield* finishPending(baseDir, "map")
        expect((yield* copyStatuses("calibrate")).map((c) => [c.status, c.onDisk])).toEqual(Array(5).fill(["PRESENT", true]))
        const [size] = yield* sql<{
          bytes: number
        }>`SELECT sum(size_bytes)::int AS bytes FROM data_product WHERE product_type = 'INTERMEDIATE'`

        // The disk is full: every calibration the cube has used goes, files and all; the cube stays.
        const { result, lines } = yield* capturingLogs(purgeCycle(config, full))
        expect(result).toMatchObject({ locations: 1, purged: 5 })
        expect(lines).toContain(
          `purge: here was 100% full as df reports it (limit 80%): deleted 5 intermediate files, ${size!.bytes} bytes`
        )
        expect((yield* copyStatuses("calibrate")).map((c) => [c.status, c.onDisk])).toEqual(Array(5).fill(["DELETED", false]))
        expect((yield* copyStatuses("map")).map((c) => [c.status, c.onDisk])).toEqual([["PRESENT", true]])

        // Nothing needs the calibrations now: nothing is rebuilt, the cube stays as it is.
        const after = yield* loopPass
        expect(counts(after.decided)).toEqual({ calibrate: { UP_TO_DATE: 5 }, map: { UP_TO_DATE: 1 } })
        expect(after.created).toBe(0)
        const [requests] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM rebuild_request`
        expect(requests!.n).toBe(0)
        expect((yield* runs).length).toBe(6)
      })
    )

    it.effect(
      "a new scan for the source: the purged calibrations are rebuilt first (INPUT_PURGED), the cube waits (WAITING_UPSTREAM), then runs on the rebuilt products; nothing fails (disk fullness injected)",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* setScanState(scan6, "TRANSFERRING", "ARCHIVED")
          const arrived = yield* loopPass
          expect(counts(arrived.decided)).toEqual({ calibrate: { UP_TO_DATE: 5, NEW_DATA: 1 }, map: { WAITING_UPSTREAM: 1 } })
          expect(arrived.created).toBe(1)
          yield* finishPending(baseDir, "calibrate")

          // The cube would run on six calibrations, five of them purged: it does not. The same pass
          // has the five rebuilt, and the cube waits for them.
          const before = (yield* runs).filter((r) => r.step === "calibrate" && r.reason === "NEW_DATA" && r.sub_group_key !== scan6)
          const rebuilding = yield* loopPass
          expect(counts(rebuilding.decided)).toEqual({ calibrate: { UP_TO_DATE: 1, INPUT_PURGED: 5 }, map: { WAITING_UPSTREAM: 1 } })
          expect(rebuilding.created).toBe(5)
          const rebuilds = (yield* runs).filter((r) => r.reason === "INPUT_PURGED")
          expect(rebuilds.map((r) => [r.step, r.sub_group_key, r.status, r.request_tag])).toEqual(
            before.map((r) => ["calibrate", r.sub_group_key, "PENDING", `rebuild-${r.id}`])
          )
          // `ccat why` words: the cube waits for the five rebuilds in flight.
          const cube = outcome(rebuilding.decided, "map").decisions![0]!
          expect(cube).toMatchObject({ subGroupKey: mapKey, reason: "WAITING_UPSTREAM", creates: false, upstreamInFlight: 5 })
          expect(reasonDescriptions.INPUT_PURGED).toMatch(/purged/)
          // Every request was answered by the run it asked for.
          const [open] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM rebuild_request`
          expect(open!.n).toBe(0)

          // Passes meanwhile create nothing more.
          const waiting = yield* loopPass
          expect(counts(waiting.decided)).toEqual({ calibrate: { UP_TO_DATE: 1, IN_FLIGHT: 5 }, map: { WAITING_UPSTREAM: 1 } })
          expect(waiting.created).toBe(0)

          yield* finishPending(baseDir, "calibrate")
          const ready = yield* loopPass
          expect(counts(ready.decided)).toEqual({ calibrate: { UP_TO_DATE: 6 }, map: { UPSTREAM_CHANGED: 1 } })
          expect(ready.created).toBe(1)
          const [map] = (yield* runs).filter((r) => r.step === "map" && r.status === "PENDING")
          // It reads the rebuilt calibrations and the new scan's, all on disk where staging takes them from.
          const inputs = yield* inputsOnDisk(map!.id)
          const newScanRun = (yield* runs).find((r) => r.step === "calibrate" && r.sub_group_key === scan6)!
          expect(inputs.map((i) => i.madeBy).sort((a, b) => a - b)).toEqual(
            [newScanRun.id, ...rebuilds.map((r) => r.id)].sort((a, b) => a - b)
          )
          expect(inputs.every((i) => i.present && i.onDisk)).toBe(true)
          yield* finishPending(baseDir, "map")

          const settled = yield* loopPass
          expect(counts(settled.decided)).toEqual({ calibrate: { UP_TO_DATE: 6 }, map: { UP_TO_DATE: 1 } })
          expect(settled.created).toBe(0)
          expect(yield* failedOrCancelled).toEqual([])
        })
    )

    it.effect("a step evaluation under way holds purge back: purge then keeps what the new run reads", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        // A scan's data is re-ingested: it is calibrated again, and the cube will read that
        // calibration and the five others, which the last cube used (so purge may take them).
        const [scan1] = (yield* runs).filter((r) => r.step === "calibrate" && r.sub_group_key !== scan6)
        yield* sql`UPDATE raw_data_package SET checksum = 're-ingested' WHERE executed_obs_unit_id = ${scan1!.sub_group_key} AND state = 'ARCHIVED'`
        expect((yield* loopPass).created).toBe(1)
        const [recalibration] = yield* finishPending(baseDir, "calibrate")

        // The trigger pass creates the cube's run in a transaction that has not committed yet.
        const gate = yield* Deferred.make<void>()
        const inPass = yield* Deferred.make<PassSummary>()
        const pass = yield* Effect.fork(
          sql.withTransaction(
            Effect.gen(function* () {
              const summary = yield* evaluatePass({ explain: {} })
              yield* Deferred.succeed(inPass, summary)
              yield* Deferred.await(gate)
              return summary
            })
          )
        )
        const summary = yield* Deferred.await(inPass)
        expect(outcome(summary, "map").counts).toEqual({ UPSTREAM_CHANGED: 1 })
        // Purge under pressure meanwhile: it waits for that transaction.
        const purging = yield* Effect.fork(purgeCycle(config, full))
        yield* waitUntilBlocked(backend, purging)
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(pass)
        const purged = yield* Fiber.join(purging)

        // It then sees the new run: it purges only the calibration the new run does not read (the
        // one the re-ingested scan's recalibration replaces) and keeps the rest.
        expect(purged).toMatchObject({ purged: 1 })
        const [map] = (yield* runs).filter((r) => r.step === "map" && r.status === "PENDING")
        const inputs = yield* inputsOnDisk(map!.id)
        expect(inputs).toHaveLength(6)
        expect(inputs.some((i) => i.madeBy === recalibration!.id)).toBe(true)
        expect(inputs.every((i) => i.present && i.onDisk)).toBe(true)
        yield* finishPending(baseDir, "map")
      })
    )

    it.effect("a purge under way holds the trigger back: the pass then sees the purge and waits for rebuilds instead of reading it", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const [scan1] = (yield* runs).filter((r) => r.step === "calibrate" && r.sub_group_key !== scan6)
        yield* sql`UPDATE raw_data_package SET checksum = 're-ingested again' WHERE executed_obs_unit_id = ${scan1!.sub_group_key} AND state = 'ARCHIVED'`
        expect((yield* loopPass).created).toBe(1)
        yield* finishPending(baseDir, "calibrate")

        // Purge marks the calibrations the last cube used in a transaction that has not committed.
        const gate = yield* Deferred.make<void>()
        const marked = yield* Deferred.make<number>()
        const purging = yield* Effect.fork(
          sql.withTransaction(
            Effect.gen(function* () {
              const result = yield* purgeCycle(config, full)
              yield* Deferred.succeed(marked, result.purged)
              yield* Deferred.await(gate)
              return result
            })
          )
        )
        expect(yield* Deferred.await(marked)).toBe(6)
        // A trigger pass meanwhile: it waits for that transaction.
        const pass = yield* Effect.fork(evaluatePass({ explain: {} }))
        yield* waitUntilBlocked(backend, pass)
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(purging)
        const summary = yield* Fiber.join(pass)

        // The cube would read five purged calibrations: it waits for their rebuilds, made in the same pass.
        expect(outcome(summary, "map").counts).toEqual({ WAITING_UPSTREAM: 1 })
        expect(outcome(summary, "calibrate").counts).toEqual({ UP_TO_DATE: 1, INPUT_PURGED: 5 })
        const readingPurged = yield* sql<{ run_id: string }>`
          SELECT DISTINCT i.run_id FROM run_input i JOIN executed_reduction_step r ON r.id = i.run_id
          WHERE r.status IN ('PENDING', 'STAGING_DATA', 'SUBMITTED', 'RUNNING', 'COLLECTING_RESULTS')
            AND NOT EXISTS (SELECT 1 FROM physical_copy c WHERE c.data_product_id = i.data_product_id AND c.status = 'PRESENT')
            AND i.data_product_id IS NOT NULL`
        expect(readingPurged).toEqual([])
        yield* finishPending(baseDir, "calibrate")
        expect(counts((yield* loopPass).decided)).toEqual({ calibrate: { UP_TO_DATE: 6 }, map: { UPSTREAM_CHANGED: 1 } })
        const [map] = (yield* runs).filter((r) => r.step === "map" && r.status === "PENDING")
        expect((yield* inputsOnDisk(map!.id)).every((i) => i.present && i.onDisk)).toBe(true)
        expect(yield* failedOrCancelled).toEqual([])
        yield* finishPending(baseDir, "map")
      })
    )

    it.effect(
      "`ccat run --step map` on a manual pipeline has the purged calibrations rebuilt, though calibrate is outside the request, and then closes",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          expect(
            (yield* applyWorkspace(compile(workspaceText.replace("trigger continuous", "trigger manual")), { createdBy: "test" }))._tag
          ).toBe("Applied")
          expect((yield* purgeCycle(config, full)).purged).toBe(6)
          const requestId = yield* recordManualRequest({
            pipeline: "reduce",
            step: "map",
            force: true,
            requestedBy: "carol",
            now: new Date()
          })

          const first = yield* evaluatePass({ explain: {} })
          expect(outcome(first, "map").counts).toEqual({ WAITING_UPSTREAM: 1 })
          // Only the sub-groups asked for are decided in the step outside the request.
          expect(outcome(first, "calibrate")).toMatchObject({
            status: { _tag: "Evaluated", request: null },
            counts: { INPUT_PURGED: 6 },
            created: 6
          })
          expect(first.consumedRequests).toEqual([])
          yield* finishPending(baseDir, "calibrate")

          const second = yield* evaluatePass({ explain: {} })
          expect(outcome(second, "calibrate").status).toEqual({ _tag: "NotTriggered", why: "outside-request" })
          expect(outcome(second, "map").counts).toEqual({ MANUAL: 1 })
          expect(second.consumedRequests).toEqual([requestId])
          const [map] = (yield* runs).filter((r) => r.step === "map" && r.status === "PENDING")
          expect(map!.request_tag).toBe(`request-${requestId}`)
          expect((yield* inputsOnDisk(map!.id)).every((i) => i.present && i.onDisk)).toBe(true)
          yield* finishPending(baseDir, "map")
          const [open] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM rebuild_request`
          expect(open!.n).toBe(0)
          expect(yield* failedOrCancelled).toEqual([])
        })
    )

    it.effect("a purge that died between marking a copy and removing its file is finished by the next cycle, under pressure or not", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const [copy] = yield* sql<{ id: string; file: string }>`
          UPDATE physical_copy c SET status = 'DELETION_IN_PROGRESS'
          FROM data_location l
          WHERE c.id = (SELECT min(c2.id) FROM physical_copy c2 JOIN data_product p ON p.id = c2.data_product_id
                        WHERE c2.status = 'PRESENT' AND p.product_type = 'INTERMEDIATE')
            AND l.id = c.data_location_id
          RETURNING c.id, l.root_path || '/' || c.path AS file`
        expect(existsSync(copy!.file)).toBe(true)
        expect(yield* purgeCycle(config, { percentUsed: () => 10 })).toMatchObject({ locations: 0, purged: 0 })
        expect(existsSync(copy!.file)).toBe(false)
        const [after] = yield* sql<{ status: string }>`SELECT status FROM physical_copy WHERE id = ${copy!.id}`
        expect(after!.status).toBe("DELETED")
      })
    )

    it.effect("`ccat retry` of a run whose inputs were purged since is refused, naming what makes them again; nothing changes", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        // The first cube read the five calibrations purged in the first test. Had it failed for
        // good, its frozen inputs could not be staged again.
        const [first] = (yield* runs).filter((r) => r.step === "map")
        yield* sql`UPDATE executed_reduction_step SET status = 'FAILED', failure_reason = 'EXIT_CODE 1' WHERE id = ${first!.id}`
        const refused = yield* Effect.flip(retryRun({ runId: first!.id, actor: "tester", now: new Date() }))
        expect(refused).toMatchObject({
          _tag: "NotRetryable",
          why: "5 of its input products were purged since it ran; `ccat run reduce --step map` has them made again and runs the step on them"
        })
        const [still] = yield* sql<{ status: string }>`SELECT status FROM executed_reduction_step WHERE id = ${first!.id}`
        expect(still!.status).toBe("FAILED")
      })
    )
  })
}

/**
 * Wait until `fiber` is blocked behind the other transaction: on PostgreSQL, until it waits for
 * the purge lock; on PGlite, whose socket server runs one transaction at a time, until it has
 * made no progress for a while.
 */
const waitUntilBlocked = <A, E>(backend: TestBackend, fiber: Fiber.RuntimeFiber<A, E>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    for (let n = 0; n < 200; n++) {
      expect(Option.isNone(yield* fiber.poll)).toBe(true)
      if (backend === "postgres") {
        // The purge lock ("purg", 0), in this database.
        const [row] = yield* sql<{ n: number }>`
          SELECT count(*)::int AS n FROM pg_locks
          WHERE locktype = 'advisory' AND NOT granted AND classid::bigint = ${0x70757267} AND objid::bigint = 0 AND objsubid = 2
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`
        if (row!.n > 0) return
      } else if (n >= 5) {
        // PGlite's socket server runs one transaction at a time: a query here would wait too.
        return
      }
      yield* Effect.sleep(Duration.millis(50))
    }
    throw new Error("the other side never blocked")
  })
