import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { afterAll, describe, expect, it as plainIt, layer } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { compileSources } from "../src/compiler/compile.ts"
import type { IrWorkspace } from "../src/compiler/ir.ts"
import { seedDemo, seedMore } from "../src/db/seed/index.ts"
import { applyWorkspace } from "../src/definitions/apply.ts"
import { evaluatePass, type PassOptions, type PassSummary, type StepOutcome } from "../src/runtime/gaps/evaluate-pass.ts"
import type { ReasonCode } from "../src/runtime/gaps/reasons.ts"
import { latestTick, recordManualRequest } from "../src/runtime/gaps/trigger-requests.ts"
import { testBackends, testDatabase, type TestBackend } from "./support/databases.ts"
import { cancelRun, completeAll, completeRun, failRun, inFlightRunsOf, runsOf, type ProductSpec } from "./support/runs.ts"
import { loadCcatFiles, repoRoot } from "./support/workspace.ts"

/*
 * The trigger's gap decisions (docs/design/runtime.md §2.5) as an operator sees them, scenario by scenario, on
 * both database backends: which runs a pass creates, for which sub-groups, and why; and what
 * it holds back, and why. test/support/runs.ts plays the submit and collect loops.
 *
 * The demo is seeded once per backend; every describe group starts from a clean slate
 * (`freshStart`: no definitions, runs or requests, observation data as seeded) and applies one
 * small workspace of test/fixtures/gaps/ (common/ plus one pipeline folder). Its grouping selects
 * the archived CHAI packages of NGC1068 (CO(4-3), six scans with an archived package) and DR21
 * ([CI](1-0), two scans), plus every scan of the nights `seedMore` adds. The tests of a group
 * continue from each other, in order, and set the TestClock explicitly: runs are stamped with
 * the Clock's time, so cooldowns and cron ticks are exact.
 */

// ---------------------------------------------------------------------------------------------
// Fixture: databases, workspaces, time.

const archives: Array<string> = []
afterAll(() => {
  for (const dir of archives) rmSync(dir, { recursive: true, force: true })
})

/** A fresh migrated database with the demo seeded into it (archive files in a temporary folder); one per backend. */
const seededDatabase = (backend: TestBackend) => {
  const archiveDir = mkdtempSync(join(tmpdir(), "ccat-gaps-archive-"))
  archives.push(archiveDir)
  const seeded = Layer.effectDiscard(seedDemo({ archiveDir }).pipe(Effect.provide(NodeContext.layer), Effect.orDie))
  return Layer.provideMerge(seeded, testDatabase(backend))
}

/**
 * Seeding takes seconds per database, so the groups of a backend share one: each group starts
 * with this, which removes every definition, run, product and trigger request, and puts the
 * observation data back as seeded (the first call records it): checksums the scenarios changed
 * are restored and scans `seedMore` added are removed.
 */
const freshStart = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql.withTransaction(
    Effect.gen(function* () {
      yield* sql`CREATE TABLE IF NOT EXISTS gaps_test_seeded_package (id uuid PRIMARY KEY, checksum text)`
      yield* sql`CREATE TABLE IF NOT EXISTS gaps_test_seeded_scan (id uuid PRIMARY KEY)`
      yield* sql`INSERT INTO gaps_test_seeded_package SELECT id, checksum FROM raw_data_package WHERE NOT EXISTS (SELECT 1 FROM gaps_test_seeded_package)`
      yield* sql`INSERT INTO gaps_test_seeded_scan SELECT id FROM executed_obs_unit WHERE NOT EXISTS (SELECT 1 FROM gaps_test_seeded_scan)`
      yield* sql`DELETE FROM physical_copy WHERE data_product_id IS NOT NULL`
      for (const table of [
        "run_input",
        "run_coverage",
        "run_event",
        "data_product_lineage",
        "data_product",
        "executed_reduction_step",
        "trigger_request",
        "reduction_step_upstream",
        "reduction_step",
        "pipeline",
        "data_grouping",
        "reduction_software_version",
        "reduction_software",
        "location",
        "definitions_generation"
      ]) {
        yield* sql`DELETE FROM ${sql(table)}`
      }
      const added = sql`SELECT id FROM raw_data_package WHERE id NOT IN (SELECT id FROM gaps_test_seeded_package)`
      yield* sql`
        DELETE FROM physical_copy WHERE raw_data_package_id IN (${added})
          OR raw_data_file_id IN (SELECT id FROM raw_data_file WHERE raw_data_package_id IN (${added}))`
      yield* sql`DELETE FROM raw_data_file WHERE raw_data_package_id IN (${added})`
      yield* sql`DELETE FROM raw_data_package WHERE id IN (${added})`
      yield* sql`DELETE FROM executed_obs_unit WHERE id NOT IN (SELECT id FROM gaps_test_seeded_scan)`
      yield* sql`
        UPDATE raw_data_package p SET checksum = o.checksum FROM gaps_test_seeded_package o
        WHERE o.id = p.id AND p.checksum IS DISTINCT FROM o.checksum`
    })
  )
})

const fixtures = join(repoRoot, "test", "fixtures", "gaps")

/**
 * The IR of test/fixtures/gaps/common plus one pipeline folder, after replacing each `from`
 * text (which must occur exactly once in the workspace) by its `to` text.
 */
const workspace = (name: string, edits: ReadonlyArray<readonly [from: string, to: string]> = []): IrWorkspace => {
  let files = [...loadCcatFiles(join(fixtures, "common")), ...loadCcatFiles(join(fixtures, name))]
  for (const [from, to] of edits) {
    const occurrences = files.reduce((n, f) => n + f.text.split(from).length - 1, 0)
    if (occurrences !== 1) throw new Error(`workspace ${name}: ${JSON.stringify(from)} occurs ${occurrences} times, not once`)
    files = files.map((f) => (f.text.includes(from) ? { ...f, text: f.text.replace(from, to) } : f))
  }
  const result = compileSources(files)
  if (result.ir === undefined) throw new Error(`workspace ${name} does not compile: ${result.diagnostics.map((d) => d.message).join("; ")}`)
  return result.ir
}

const apply = (ir: IrWorkspace) =>
  Effect.gen(function* () {
    const result = yield* applyWorkspace(ir, { createdBy: "test" })
    expect(result._tag).toBe("Applied")
  })

const stepOf = (ir: IrWorkspace, pipeline: string, step: string) =>
  ir.pipelines.find((p) => p.name === pipeline)!.steps.find((s) => s.name === step)!

const T0 = Date.parse("2026-12-01T00:00:00Z")
const second = 1000
const minute = 60 * second
const hour = 60 * minute
const day = 24 * hour

/** Sets the TestClock to T0 + offset (milliseconds). */
const at = (offset: number) => TestClock.setTime(T0 + offset)

// ---------------------------------------------------------------------------------------------
// Reading passes and data.

/** One pass that keeps every decision. */
const pass = (options: PassOptions = {}) => evaluatePass({ explain: {}, ...options })

/** The outcome of a step in a pass (each fixture workspace has one pipeline). */
const outcome = (summary: PassSummary, step: string): StepOutcome => {
  const found = summary.steps.find((s) => s.step === step)
  if (found === undefined) throw new Error(`step ${step} is not in the pass: ${summary.steps.map((s) => s.step).join(", ")}`)
  return found
}

/** The sub-group keys a step decided with `reason`, sorted. */
const keysWith = (o: StepOutcome, reason: ReasonCode): Array<string> =>
  (o.decisions ?? [])
    .filter((d) => d.reason === reason)
    .map((d) => d.subGroupKey)
    .sort()

const decisionOf = (o: StepOutcome, key: string) => {
  const found = (o.decisions ?? []).find((d) => d.subGroupKey === key)
  if (found === undefined) throw new Error(`no decision for ${key} in ${o.step}`)
  return found
}

const sorted = <A>(xs: Iterable<A>): Array<A> => [...xs].sort()

interface ScanRow {
  readonly scan: string
  readonly source: string
  readonly line: string
  /** Archived packages of the scan. */
  readonly packages: number
}

/**
 * The scans of the fixture grouping with at least one archived package, computed with plain
 * joins, independently of the selection engine under test.
 */
const fixtureScans = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  return yield* sql<ScanRow>`
    SELECT e.id::text AS scan, s.name AS source, ou.line_id AS line, count(*)::int AS packages
    FROM raw_data_package p
    JOIN executed_obs_unit e ON e.id = p.executed_obs_unit_id
    JOIN obs_unit ou ON ou.id = e.obs_unit_id
    JOIN source s ON s.id = ou.source_id
    JOIN instrument_module im ON im.id = p.instrument_module_id
    JOIN instrument i ON i.id = im.instrument_id
    WHERE i.name = 'CHAI' AND p.state = 'ARCHIVED'
      AND (s.name IN ('NGC1068', 'DR21') OR e.start_time >= '2026-06-19T00:00:00Z')
    GROUP BY e.id, s.name, ou.line_id
    ORDER BY e.id`
})

const scansOf = (scans: ReadonlyArray<ScanRow>, source: string) =>
  scans
    .filter((s) => s.source === source)
    .map((s) => s.scan)
    .sort()

/** Gives one archived package of a scan a new checksum (the archive re-ingested it); returns its id. */
const changePackage = (scan: string, checksum: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<{ id: string }>`
      UPDATE raw_data_package SET checksum = ${checksum}
      WHERE id = (SELECT id FROM raw_data_package WHERE executed_obs_unit_id = ${scan} AND state = 'ARCHIVED' ORDER BY name LIMIT 1)
      RETURNING id`
    expect(row).toBeDefined()
    return row!.id
  })

interface InputRow {
  readonly raw_data_package_id: string | null
  readonly data_product_id: string | null
  readonly checksum: string | null
}

const inputsOf = (runId: number) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<InputRow>`SELECT raw_data_package_id::text, data_product_id::text, checksum FROM run_input WHERE run_id = ${runId}`
  )

const runById = (runs: ReadonlyArray<{ readonly id: number; readonly sub_group_key: string }>, key: string) => {
  const run = runs.find((r) => r.sub_group_key === key)
  if (run === undefined) throw new Error(`no run for sub-group ${key}`)
  return run
}

/** The rows of a cron pipeline's trigger requests, oldest first. */
const cronRequests = (pipeline: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql<{ id: string; tick_at: Date; consumed_at: Date | null }>`
      SELECT r.id, r.tick_at, r.consumed_at FROM trigger_request r JOIN pipeline p ON p.id = r.pipeline_id
      WHERE p.name = ${pipeline} AND r.kind = 'cron' ORDER BY r.id`
  ).pipe(
    Effect.map((rows) =>
      rows.map((r) => ({ id: Number(r.id), tickAt: new Date(r.tick_at).toISOString(), consumed: r.consumed_at !== null }))
    )
  )

/** Products every baseline run of the fan-in scenario leaves: two the map reads, one it must not. */
const baselineProducts: ReadonlyArray<ProductSpec> = [
  { type: "SCIENCE", path: "science/spectra.fits" },
  { type: "INTERMEDIATE", path: "intermediate/weights.fits" },
  { type: "LOG", path: "logs/baseline.log" }
]

const ngc1068 = "NGC1068__CO43"
const dr21 = "DR21__CI10"

// ---------------------------------------------------------------------------------------------

describe("cron ticks, without a database", () => {
  const daily = { mode: "cron", cron: "0 3 * * *", timezone: null } as const

  plainIt("a tick exactly at `now`, or less than a second before it, has passed", () => {
    const tick = "2026-12-01T03:00:00.000Z"
    expect(latestTick(daily, new Date("2026-12-01T02:59:59.999Z"))?.toISOString()).toBe("2026-11-30T03:00:00.000Z")
    expect(latestTick(daily, new Date(tick))?.toISOString()).toBe(tick)
    expect(latestTick(daily, new Date("2026-12-01T03:00:00.500Z"))?.toISOString()).toBe(tick)
    expect(latestTick(daily, new Date("2026-12-01T03:00:01.000Z"))?.toISOString()).toBe(tick)
    expect(latestTick(daily, new Date("2026-12-04T04:00:00.000Z"))?.toISOString()).toBe("2026-12-04T03:00:00.000Z")
  })
})

for (const backend of testBackends) {
  layer(seededDatabase(backend))(backend, (it) => {
    describe("per-scan runs, cooldown, config and compatible upgrades", () => {
      const ir = workspace("per-scan")

      it.effect("every archived scan gets one NEW_DATA run; a second pass creates nothing (IN_FLIGHT)", () =>
        Effect.gen(function* () {
          yield* freshStart
          yield* at(0)
          const scans = yield* fixtureScans
          // The fixture's shape: six NGC1068 scans with an archived package (a seventh has none) and two of DR21.
          expect(scansOf(scans, "NGC1068")).toHaveLength(6)
          expect(scansOf(scans, "DR21")).toHaveLength(2)
          yield* apply(ir)

          const first = outcome(yield* pass(), "calibrate")
          expect(first.status._tag).toBe("Evaluated")
          expect(first.counts).toEqual({ NEW_DATA: 8 })
          expect(first.created).toBe(8)
          expect(keysWith(first, "NEW_DATA")).toEqual(sorted(scans.map((s) => s.scan)))

          const runs = yield* runsOf("scans", "calibrate")
          expect(runs.map((r) => r.sub_group_key).sort()).toEqual(sorted(scans.map((s) => s.scan)))
          for (const run of runs) {
            expect(run).toMatchObject({ status: "PENDING", reason: "NEW_DATA", software_version: "2.4.2", request_tag: "" })
            expect(run.created_at.getTime()).toBe(T0)
            // Its inputs: exactly the archived packages of its scan, with their checksums.
            const inputs = yield* inputsOf(run.id)
            expect(inputs).toHaveLength(scans.find((s) => s.scan === run.sub_group_key)!.packages)
            for (const input of inputs) {
              expect(input.raw_data_package_id).not.toBeNull()
              expect(input.data_product_id).toBeNull()
              expect(input.checksum).not.toBeNull()
            }
          }
          const sql = yield* SqlClient.SqlClient
          const events = yield* sql<{ n: number }>`
            SELECT count(*)::int AS n FROM run_event WHERE from_status IS NULL AND to_status = 'PENDING' AND reason = 'NEW_DATA' AND actor = 'trigger'`
          expect(events[0]!.n).toBe(8)

          yield* at(10 * second)
          const secondPass = outcome(yield* pass(), "calibrate")
          expect(secondPass.counts).toEqual({ IN_FLIGHT: 8 })
          expect(secondPass.created).toBe(0)
          expect(yield* runsOf("scans", "calibrate")).toHaveLength(8)
        })
      )

      it.effect("a scan whose data changes after its run completed waits out the 60 s cooldown, then gets a NEW_DATA run", () =>
        Effect.gen(function* () {
          yield* at(20 * second)
          yield* completeAll("scans", "calibrate")
          const [scan] = (yield* fixtureScans).map((s) => s.scan)
          const changed = yield* changePackage(scan!, "re-ingested-1")

          yield* at(30 * second)
          const held = outcome(yield* pass(), "calibrate")
          expect(held.counts).toEqual({ UP_TO_DATE: 7, COOLDOWN: 1 })
          expect(held.created).toBe(0)
          expect(keysWith(held, "COOLDOWN")).toEqual([scan])
          // Measured from the creation of the previous run, at T0.
          expect(decisionOf(held, scan!).cooldownUntil?.getTime()).toBe(T0 + 60 * second)

          yield* at(60 * second - 1)
          expect(outcome(yield* pass(), "calibrate").counts).toEqual({ UP_TO_DATE: 7, COOLDOWN: 1 })

          yield* at(60 * second)
          const reopened = outcome(yield* pass(), "calibrate")
          expect(reopened.counts).toEqual({ UP_TO_DATE: 7, NEW_DATA: 1 })
          expect(reopened.created).toBe(1)
          const runs = (yield* runsOf("scans", "calibrate")).filter((r) => r.sub_group_key === scan)
          expect(runs.map((r) => [r.status, r.reason])).toEqual([
            ["COMPLETED", "NEW_DATA"],
            ["PENDING", "NEW_DATA"]
          ])
          expect(runs[1]!.created_at.getTime()).toBe(T0 + 60 * second)
          const inputs = yield* inputsOf(runs[1]!.id)
          expect(inputs.find((i) => i.raw_data_package_id === changed)?.checksum).toBe("re-ingested-1")
        })
      )

      it.effect("data that changes while its run is in flight waits for that run (AFTER_IN_FLIGHT), then runs again", () =>
        Effect.gen(function* () {
          const [scan] = (yield* fixtureScans).map((s) => s.scan)
          yield* changePackage(scan!, "re-ingested-2")
          yield* at(70 * second)
          const waiting = outcome(yield* pass(), "calibrate")
          expect(waiting.counts).toEqual({ UP_TO_DATE: 7, AFTER_IN_FLIGHT: 1 })
          expect(waiting.created).toBe(0)

          yield* completeAll("scans", "calibrate")
          // The run that just ended was created at T0 + 60 s: the next may start at T0 + 120 s.
          yield* at(119 * second)
          expect(outcome(yield* pass(), "calibrate").counts).toEqual({ UP_TO_DATE: 7, COOLDOWN: 1 })
          yield* at(120 * second)
          const after = outcome(yield* pass(), "calibrate")
          expect(after.counts).toEqual({ UP_TO_DATE: 7, NEW_DATA: 1 })
          expect(keysWith(after, "NEW_DATA")).toEqual([scan])
          yield* completeAll("scans", "calibrate")
        })
      )

      it.effect("a config change reprocesses every scan (CONFIG_CHANGED), once", () =>
        Effect.gen(function* () {
          yield* at(10 * minute)
          const changed = workspace("per-scan", [["tsys_max_k = 4000", "tsys_max_k = 3500"]])
          expect(stepOf(changed, "scans", "calibrate").fingerprint).not.toBe(stepOf(ir, "scans", "calibrate").fingerprint)
          yield* apply(changed)

          const first = outcome(yield* pass(), "calibrate")
          expect(first.counts).toEqual({ CONFIG_CHANGED: 8 })
          expect(first.created).toBe(8)
          const runs = yield* inFlightRunsOf("scans", "calibrate")
          expect(runs.map((r) => r.sub_group_key).sort()).toEqual(sorted((yield* fixtureScans).map((s) => s.scan)))
          expect(runs.every((r) => r.reason === "CONFIG_CHANGED" && r.software_version === "2.4.2")).toBe(true)
          const sql = yield* SqlClient.SqlClient
          const configs = yield* sql<{ tsys: number }>`
            SELECT DISTINCT (config->>'tsys_max_k')::int AS tsys FROM executed_reduction_step WHERE reason = 'CONFIG_CHANGED'`
          expect(configs).toEqual([{ tsys: 3500 }])

          yield* at(11 * minute)
          expect(outcome(yield* pass(), "calibrate").counts).toEqual({ IN_FLIGHT: 8 })
          yield* completeAll("scans", "calibrate")
        })
      )

      it.effect("a compatible release (2.4.3 under ^2.4) reprocesses nothing; new scans run with 2.4.3", () =>
        Effect.gen(function* () {
          yield* at(20 * minute)
          const before = workspace("per-scan", [["tsys_max_k = 4000", "tsys_max_k = 3500"]])
          const upgraded = workspace("per-scan", [
            ["tsys_max_k = 4000", "tsys_max_k = 3500"],
            [`versions "2.3.1", "2.4.0", "2.4.2"`, `versions "2.3.1", "2.4.0", "2.4.2", "2.4.3"`]
          ])
          const step = stepOf(upgraded, "scans", "calibrate")
          expect(step.software.version).toBe("2.4.3")
          expect(step.fingerprint).toBe(stepOf(before, "scans", "calibrate").fingerprint)
          yield* apply(upgraded)

          const old = sorted((yield* fixtureScans).map((s) => s.scan))
          yield* seedMore({ scans: 3 }).pipe(Effect.provide(NodeContext.layer))
          const all = sorted((yield* fixtureScans).map((s) => s.scan))
          const added = all.filter((s) => !old.includes(s))
          expect(added).toHaveLength(3)

          const result = outcome(yield* pass(), "calibrate")
          expect(result.counts).toEqual({ UP_TO_DATE: 8, NEW_DATA: 3 })
          expect(keysWith(result, "UP_TO_DATE")).toEqual(old)
          expect(keysWith(result, "NEW_DATA")).toEqual(added)
          const fresh = yield* inFlightRunsOf("scans", "calibrate")
          expect(fresh.map((r) => r.sub_group_key).sort()).toEqual(added)
          expect(fresh.map((r) => r.software_version)).toEqual(["2.4.3", "2.4.3", "2.4.3"])
          const sql = yield* SqlClient.SqlClient
          const images = yield* sql<{ image: string }>`SELECT DISTINCT image FROM executed_reduction_step WHERE status = 'PENDING'`
          expect(images).toEqual([{ image: "docker://ghcr.io/ccatobs/chai-calibration:2.4.3" }])
          // The completed runs keep the version they ran with.
          const completed = (yield* runsOf("scans", "calibrate")).filter((r) => r.status === "COMPLETED")
          expect(new Set(completed.map((r) => r.software_version))).toEqual(new Set(["2.4.2"]))
        })
      )

      it.effect("a cancelled run is not restarted by the trigger (CANCELLED); `ccat run` without --force reopens it (MANUAL)", () =>
        Effect.gen(function* () {
          yield* at(21 * minute)
          const [cancelled, ...others] = yield* inFlightRunsOf("scans", "calibrate")
          yield* cancelRun(cancelled!.id)
          for (const run of others) yield* completeRun(run.id)
          const held = outcome(yield* pass(), "calibrate")
          expect(held.counts).toEqual({ UP_TO_DATE: 10, CANCELLED: 1 })
          expect(keysWith(held, "CANCELLED")).toEqual([cancelled!.sub_group_key])

          yield* at(2 * hour)
          expect(outcome(yield* pass(), "calibrate").counts).toEqual({ UP_TO_DATE: 10, CANCELLED: 1 })
          const requestId = yield* recordManualRequest({
            pipeline: "scans",
            step: null,
            force: false,
            requestedBy: "carol",
            now: new Date(T0 + 2 * hour)
          })
          const reopened = yield* pass()
          expect(outcome(reopened, "calibrate").counts).toEqual({ UP_TO_DATE: 10, MANUAL: 1 })
          expect(reopened.consumedRequests).toEqual([requestId])
          const runs = (yield* runsOf("scans", "calibrate")).filter((r) => r.sub_group_key === cancelled!.sub_group_key)
          expect(runs.map((r) => [r.status, r.reason, r.request_tag, r.software_version])).toEqual([
            ["CANCELLED", "NEW_DATA", "", "2.4.3"],
            ["PENDING", "MANUAL", `request-${requestId}`, "2.4.3"]
          ])
        })
      )
    })

    describe("per-scan steps fanning in to a per-source map", () => {
      const ir = workspace("fan-in")

      it.effect("the per-source map waits for the calibrations in flight, then takes all of them", () =>
        Effect.gen(function* () {
          yield* freshStart
          yield* at(0)
          yield* apply(ir)
          const scans = yield* fixtureScans
          const first = yield* pass()
          expect(outcome(first, "calibrate").counts).toEqual({ NEW_DATA: 8 })
          // The runs just created in the same pass hold the baseline back.
          expect(outcome(first, "baseline").counts).toEqual({ WAITING_UPSTREAM: 8 })
          // Calibrations in flight two steps up hold the maps of their sources too.
          expect(outcome(first, "map").counts).toEqual({ WAITING_UPSTREAM: 2 })

          yield* at(1 * minute)
          yield* completeAll("standing", "calibrate")
          const secondPass = yield* pass()
          expect(outcome(secondPass, "calibrate").counts).toEqual({ UP_TO_DATE: 8 })
          // A downstream step's first runs are UPSTREAM_CHANGED.
          expect(outcome(secondPass, "baseline").counts).toEqual({ UPSTREAM_CHANGED: 8 })
          expect(outcome(secondPass, "map").counts).toEqual({ WAITING_UPSTREAM: 2 })
          expect(keysWith(outcome(secondPass, "map"), "WAITING_UPSTREAM")).toEqual(sorted([dr21, ngc1068]))
          const baselines = yield* runsOf("standing", "baseline")
          expect(baselines.every((r) => r.reason === "UPSTREAM_CHANGED" && r.software_version === "1.2.3")).toBe(true)

          // DR21 done, NGC1068 half done.
          yield* at(2 * minute)
          const ngc = scansOf(scans, "NGC1068")
          for (const scan of [...scansOf(scans, "DR21"), ...ngc.slice(0, 3)])
            yield* completeRun(runById(baselines, scan).id, baselineProducts)
          const third = outcome(yield* pass(), "map")
          expect(third.counts).toEqual({ UPSTREAM_CHANGED: 1, WAITING_UPSTREAM: 1 })
          expect(keysWith(third, "UPSTREAM_CHANGED")).toEqual([dr21])
          expect(decisionOf(third, ngc1068)).toMatchObject({ upstreamInFlight: 3, upstreamFailed: 0 })
          // Two scans, each with a SCIENCE and an INTERMEDIATE product; the log is no input.
          expect(decisionOf(third, dr21).inputCount).toBe(4)

          yield* at(3 * minute)
          for (const scan of ngc.slice(3)) yield* completeRun(runById(baselines, scan).id, baselineProducts)
          const fourth = outcome(yield* pass(), "map")
          expect(fourth.counts).toEqual({ UPSTREAM_CHANGED: 1, IN_FLIGHT: 1 })
          expect(keysWith(fourth, "UPSTREAM_CHANGED")).toEqual([ngc1068])

          const maps = yield* runsOf("standing", "map")
          expect(maps.map((r) => [r.sub_group_key, r.reason, r.status, r.software_version])).toEqual([
            [dr21, "UPSTREAM_CHANGED", "PENDING", "0.10.0"],
            [ngc1068, "UPSTREAM_CHANGED", "PENDING", "0.10.0"]
          ])
          // The NGC1068 cube reads every SCIENCE and INTERMEDIATE product of the six scans' baselines...
          const sql = yield* SqlClient.SqlClient
          const expected = yield* sql<{ id: string }>`
            SELECT p.id::text AS id FROM data_product p
            WHERE p.run_id IN ${sql.in(ngc.map((scan) => runById(baselines, scan).id))} AND p.product_type IN ('SCIENCE', 'INTERMEDIATE')
            ORDER BY p.id`
          expect(expected).toHaveLength(12)
          const inputs = yield* inputsOf(runById(maps, ngc1068).id)
          expect(inputs.map((i) => i.data_product_id).sort()).toEqual(expected.map((r) => r.id).sort())
          expect(inputs.every((i) => i.raw_data_package_id === null)).toBe(true)
          // ...and covers every raw package of them.
          const coverage = yield* sql<{
            n: number
          }>`SELECT count(*)::int AS n FROM run_coverage WHERE run_id = ${runById(maps, ngc1068).id}`
          expect(coverage[0]!.n).toBe(scans.filter((s) => s.source === "NGC1068").reduce((n, s) => n + s.packages, 0))
        })
      )

      it.effect("an exact-policy gridder release (0.10.1) reprocesses every cube once the daily cooldown allows (SOFTWARE_CHANGED)", () =>
        Effect.gen(function* () {
          yield* at(4 * minute)
          yield* completeAll("standing", "map")
          const upgraded = workspace("fan-in", [[`versions "0.9.1", "0.9.2", "0.10.0"`, `versions "0.9.1", "0.9.2", "0.10.0", "0.10.1"`]])
          const map = stepOf(upgraded, "standing", "map")
          expect(map.software.version).toBe("0.10.1")
          expect(map.fingerprint).not.toBe(stepOf(ir, "standing", "map").fingerprint)
          expect(stepOf(upgraded, "standing", "baseline").fingerprint).toBe(stepOf(ir, "standing", "baseline").fingerprint)
          yield* apply(upgraded)

          const held = yield* pass()
          expect(outcome(held, "calibrate").counts).toEqual({ UP_TO_DATE: 8 })
          expect(outcome(held, "baseline").counts).toEqual({ UP_TO_DATE: 8 })
          // The cubes were built minutes ago; `cooldown 1d` holds the rebuild.
          expect(outcome(held, "map").counts).toEqual({ COOLDOWN: 2 })
          expect(decisionOf(outcome(held, "map"), ngc1068).cooldownUntil?.getTime()).toBe(T0 + 3 * minute + day)

          yield* at(3 * minute + day)
          const rebuilt = yield* pass()
          expect(outcome(rebuilt, "calibrate").counts).toEqual({ UP_TO_DATE: 8 })
          expect(outcome(rebuilt, "baseline").counts).toEqual({ UP_TO_DATE: 8 })
          expect(outcome(rebuilt, "map").counts).toEqual({ SOFTWARE_CHANGED: 2 })
          const fresh = yield* inFlightRunsOf("standing", "map")
          expect(fresh.map((r) => [r.sub_group_key, r.reason, r.software_version])).toEqual([
            [dr21, "SOFTWARE_CHANGED", "0.10.1"],
            [ngc1068, "SOFTWARE_CHANGED", "0.10.1"]
          ])
          // Same products in, so the same number of inputs as the cubes they replace.
          expect(yield* inputsOf(runById(fresh, ngc1068).id)).toHaveLength(12)
        })
      )
    })

    describe("failures upstream and downstream", () => {
      const ir = workspace("fan-in")
      // The scans whose runs fail in this group: two of NGC1068, F1 in calibration, F2 in baseline.
      const failed = { f1: "", f2: "" }

      it.effect("a calibration that failed for good is not retried (FAILED_FINAL) and its baseline reports FAILED_UPSTREAM", () =>
        Effect.gen(function* () {
          yield* freshStart
          yield* at(0)
          yield* apply(ir)
          const scans = yield* fixtureScans
          const ngc = scansOf(scans, "NGC1068")
          failed.f1 = ngc[0]!
          failed.f2 = ngc[1]!
          expect(outcome(yield* pass(), "calibrate").counts).toEqual({ NEW_DATA: 8 })

          yield* at(1 * minute)
          const calibrations = yield* runsOf("standing", "calibrate")
          yield* failRun(runById(calibrations, failed.f1).id, { final: true, reason: "tsys above limit" })
          yield* completeAll("standing", "calibrate")
          const next = yield* pass()
          expect(outcome(next, "calibrate").counts).toEqual({ UP_TO_DATE: 7, FAILED_FINAL: 1 })
          expect(keysWith(outcome(next, "calibrate"), "FAILED_FINAL")).toEqual([failed.f1])
          expect(outcome(next, "baseline").counts).toEqual({ UPSTREAM_CHANGED: 7, FAILED_UPSTREAM: 1 })
          expect(keysWith(outcome(next, "baseline"), "FAILED_UPSTREAM")).toEqual([failed.f1])
          expect(decisionOf(outcome(next, "baseline"), failed.f1)).toMatchObject({ upstreamFailed: 1, upstreamInFlight: 0, inputCount: 0 })

          // Much later: still not retried, and nothing waits for it.
          yield* at(1 * hour)
          const later = yield* pass()
          expect(outcome(later, "calibrate").counts).toEqual({ UP_TO_DATE: 7, FAILED_FINAL: 1 })
          expect(outcome(later, "calibrate").created).toBe(0)
          expect(outcome(later, "baseline").counts).toEqual({ IN_FLIGHT: 7, FAILED_UPSTREAM: 1 })
          expect(yield* runsOf("standing", "calibrate")).toHaveLength(8)
        })
      )

      it.effect("a failed attempt with retries left is waited for, not left out", () =>
        Effect.gen(function* () {
          // F2's baseline fails once and goes back to PENDING for its retry: still in flight.
          yield* at(1 * hour + 1 * minute)
          const baselines = yield* runsOf("standing", "baseline")
          yield* failRun(runById(baselines, failed.f2).id, { final: false, reason: "lustre read error" })
          for (const run of yield* inFlightRunsOf("standing", "baseline")) {
            if (run.sub_group_key !== failed.f2) yield* completeRun(run.id)
          }
          const waiting = yield* pass()
          expect(outcome(waiting, "baseline").counts).toEqual({ UP_TO_DATE: 6, IN_FLIGHT: 1, FAILED_UPSTREAM: 1 })
          // NGC1068 waits for F2's retry; DR21 is complete.
          expect(outcome(waiting, "map").counts).toEqual({ UPSTREAM_CHANGED: 1, WAITING_UPSTREAM: 1 })
          expect(keysWith(outcome(waiting, "map"), "UPSTREAM_CHANGED")).toEqual([dr21])
          expect(decisionOf(outcome(waiting, "map"), ngc1068)).toMatchObject({ upstreamInFlight: 1, upstreamFailed: 0 })
          yield* completeAll("standing", "map")
        })
      )

      it.effect("a cube is built from the scans that succeeded; a cube whose every upstream failed reports FAILED_UPSTREAM", () =>
        Effect.gen(function* () {
          const scans = yield* fixtureScans
          const dr21Scans = scansOf(scans, "DR21")
          // DR21: both scans re-ingested while F2's retry is still in flight.
          yield* at(1 * hour + 2 * minute)
          for (const scan of dr21Scans) yield* changePackage(scan, `reingested-${scan}`)
          const recalibrate = yield* pass()
          expect(outcome(recalibrate, "calibrate").counts).toEqual({ UP_TO_DATE: 5, NEW_DATA: 2, FAILED_FINAL: 1 })
          expect(keysWith(outcome(recalibrate, "calibrate"), "NEW_DATA")).toEqual(dr21Scans)
          expect(outcome(recalibrate, "baseline").counts).toEqual({ UP_TO_DATE: 4, IN_FLIGHT: 1, WAITING_UPSTREAM: 2, FAILED_UPSTREAM: 1 })
          // Both cubes wait: NGC1068 for F2's retry, DR21 for its recalibrations two steps up.
          expect(outcome(recalibrate, "map").counts).toEqual({ WAITING_UPSTREAM: 2 })

          yield* at(1 * hour + 3 * minute)
          yield* completeAll("standing", "calibrate")
          const rebaseline = yield* pass()
          expect(outcome(rebaseline, "baseline").counts).toEqual({ UP_TO_DATE: 4, IN_FLIGHT: 1, UPSTREAM_CHANGED: 2, FAILED_UPSTREAM: 1 })
          expect(outcome(rebaseline, "map").counts).toEqual({ WAITING_UPSTREAM: 2 })
          // F2's retry and both new DR21 baselines fail for good.
          for (const run of yield* inFlightRunsOf("standing", "baseline")) yield* failRun(run.id, { final: true })

          yield* at(1 * hour + 4 * minute)
          const result = yield* pass()
          expect(outcome(result, "baseline").counts).toEqual({ UP_TO_DATE: 4, FAILED_FINAL: 3, FAILED_UPSTREAM: 1 })
          expect(keysWith(outcome(result, "baseline"), "FAILED_FINAL")).toEqual(sorted([failed.f2, ...dr21Scans]))
          const map = outcome(result, "map")
          expect(map.counts).toEqual({ UPSTREAM_CHANGED: 1, FAILED_UPSTREAM: 1 })
          // NGC1068: the four scans whose baselines completed, one product each; F2 left out and reported.
          expect(decisionOf(map, ngc1068)).toMatchObject({
            reason: "UPSTREAM_CHANGED",
            inputCount: 4,
            upstreamFailed: 1,
            upstreamInFlight: 0
          })
          expect(decisionOf(map, dr21)).toMatchObject({ reason: "FAILED_UPSTREAM", inputCount: 0, upstreamFailed: 2, upstreamInFlight: 0 })
          const cube = runById(yield* inFlightRunsOf("standing", "map"), ngc1068)
          expect(yield* inputsOf(cube.id)).toHaveLength(4)

          yield* at(1 * hour + 5 * minute)
          const again = yield* pass()
          expect(outcome(again, "map").counts).toEqual({ IN_FLIGHT: 1, FAILED_UPSTREAM: 1 })
          expect(again.created).toBe(0)
          yield* completeAll("standing", "map")
        })
      )

      it.effect("`ccat run --step baseline` without --force reopens the runs that failed for good (MANUAL), once", () =>
        Effect.gen(function* () {
          yield* at(2 * hour)
          const now = new Date(T0 + 2 * hour)
          const requestId = yield* recordManualRequest({ pipeline: "standing", step: "baseline", force: false, requestedBy: "alice", now })
          const result = yield* pass()
          const baseline = outcome(result, "baseline")
          expect(baseline.counts).toEqual({ UP_TO_DATE: 4, MANUAL: 3, FAILED_UPSTREAM: 1 })
          expect(result.consumedRequests).toEqual([requestId])
          const scans = yield* fixtureScans
          expect(keysWith(baseline, "MANUAL")).toEqual(sorted([failed.f2, ...scansOf(scans, "DR21")]))
          const reopened = yield* inFlightRunsOf("standing", "baseline")
          expect(reopened.map((r) => [r.reason, r.request_tag])).toEqual(Array(3).fill(["MANUAL", `request-${requestId}`]))
          // The cubes wait for them.
          expect(outcome(result, "map").counts).toEqual({ WAITING_UPSTREAM: 2 })

          yield* at(2 * hour + 1 * minute)
          const after = yield* pass()
          expect(outcome(after, "baseline").counts).toEqual({ UP_TO_DATE: 4, IN_FLIGHT: 3, FAILED_UPSTREAM: 1 })
          expect(after.created).toBe(0)
        })
      )

      it.effect("a run that failed for good reopens when its inputs change", () =>
        Effect.gen(function* () {
          yield* at(3 * hour)
          yield* changePackage(failed.f1, "f1-reingested")
          const result = yield* pass()
          expect(outcome(result, "calibrate").counts).toEqual({ UP_TO_DATE: 7, NEW_DATA: 1 })
          expect(keysWith(outcome(result, "calibrate"), "NEW_DATA")).toEqual([failed.f1])
          expect(decisionOf(outcome(result, "baseline"), failed.f1).reason).toBe("WAITING_UPSTREAM")
          const runs = (yield* runsOf("standing", "calibrate")).filter((r) => r.sub_group_key === failed.f1)
          expect(runs.map((r) => [r.status, r.reason])).toEqual([
            ["FAILED", "NEW_DATA"],
            ["PENDING", "NEW_DATA"]
          ])
        })
      )
    })

    describe("cron ticks", () => {
      const ir = workspace("cron")

      it.effect("a new cron pipeline waits for its next tick", () =>
        Effect.gen(function* () {
          yield* freshStart
          yield* at(0)
          yield* apply(ir)
          const first = yield* pass()
          expect(first.steps.map((s) => [s.step, s.status])).toEqual([
            ["calibrate", { _tag: "NotTriggered", why: "no-request" }],
            ["summary", { _tag: "NotTriggered", why: "no-request" }]
          ])
          // The tick before it was first seen is recorded as handled.
          expect(yield* cronRequests("nightly")).toMatchObject([{ tickAt: "2026-11-30T03:00:00.000Z", consumed: true }])
          yield* at(3 * hour - 1)
          expect((yield* pass()).steps.every((s) => s.status._tag === "NotTriggered")).toBe(true)
          expect(yield* runsOf("nightly", "calibrate")).toEqual([])
        })
      )

      it.effect("after 03:00 the tick is evaluated, and stays open until the whole pipeline could be decided", () =>
        Effect.gen(function* () {
          // The tick itself is covered above, without a database; here a pass comes a little later.
          yield* at(3 * hour + 30 * second)
          const tick = yield* pass()
          expect(outcome(tick, "calibrate").status._tag).toBe("Evaluated")
          expect(outcome(tick, "calibrate").counts).toEqual({ NEW_DATA: 8 })
          expect(outcome(tick, "summary").counts).toEqual({ WAITING_UPSTREAM: 1 })
          expect(tick.consumedRequests).toEqual([])
          const requests = yield* cronRequests("nightly")
          expect(requests).toMatchObject([
            { tickAt: "2026-11-30T03:00:00.000Z", consumed: true },
            { tickAt: "2026-12-01T03:00:00.000Z", consumed: false }
          ])

          yield* at(3 * hour + 5 * minute)
          const still = yield* pass()
          expect(outcome(still, "calibrate").counts).toEqual({ IN_FLIGHT: 8 })
          expect(outcome(still, "summary").counts).toEqual({ WAITING_UPSTREAM: 1 })
          expect(still.consumedRequests).toEqual([])

          yield* completeAll("nightly", "calibrate")
          yield* at(3 * hour + 10 * minute)
          const done = yield* pass()
          expect(outcome(done, "calibrate").counts).toEqual({ UP_TO_DATE: 8 })
          expect(outcome(done, "summary").counts).toEqual({ UPSTREAM_CHANGED: 1 })
          expect(done.consumedRequests).toEqual([requests[1]!.id])

          yield* at(3 * hour + 15 * minute)
          expect((yield* pass()).steps.every((s) => s.status._tag === "NotTriggered")).toBe(true)
          yield* completeAll("nightly", "summary")
          expect(yield* cronRequests("nightly")).toHaveLength(2)
        })
      )

      it.effect("three missed nights are caught up once, not replayed", () =>
        Effect.gen(function* () {
          // Nothing ran from 12-01 03:15 until 12-04 04:00: the ticks of 12-02, 12-03 and 12-04 passed.
          yield* at(3 * day + 4 * hour)
          const catchUp = yield* pass()
          expect(catchUp.steps.every((s) => s.status._tag === "Evaluated")).toBe(true)
          expect(outcome(catchUp, "calibrate").counts).toEqual({ UP_TO_DATE: 8 })
          expect(outcome(catchUp, "summary").counts).toEqual({ UP_TO_DATE: 1 })
          expect(catchUp.consumedRequests).toHaveLength(1)
          expect(catchUp.created).toBe(0)

          for (const offset of [3 * day + 5 * hour, 3 * day + 23 * hour]) {
            yield* at(offset)
            expect((yield* pass()).steps.every((s) => s.status._tag === "NotTriggered")).toBe(true)
          }
          expect(yield* cronRequests("nightly")).toEqual([
            { id: expect.any(Number), tickAt: "2026-11-30T03:00:00.000Z", consumed: true },
            { id: expect.any(Number), tickAt: "2026-12-01T03:00:00.000Z", consumed: true },
            { id: expect.any(Number), tickAt: "2026-12-04T03:00:00.000Z", consumed: true }
          ])
        })
      )
    })

    describe("manual runs", () => {
      const ir = workspace("manual")

      it.effect("a manual pipeline does nothing until asked", () =>
        Effect.gen(function* () {
          yield* freshStart
          yield* at(0)
          yield* apply(ir)
          const result = yield* pass()
          expect(outcome(result, "calibrate").status).toEqual({ _tag: "NotTriggered", why: "no-request" })
          expect(result.created).toBe(0)
          expect(yield* runsOf("reprocess", "calibrate")).toEqual([])
        })
      )

      it.effect("`ccat run` without --force creates the gap runs only, as NEW_DATA", () =>
        Effect.gen(function* () {
          yield* at(1 * minute)
          const requestId = yield* recordManualRequest({
            pipeline: "reprocess",
            step: null,
            force: false,
            requestedBy: "alice",
            now: new Date(T0 + 1 * minute)
          })
          const result = yield* pass()
          const step = outcome(result, "calibrate")
          expect(step.status).toMatchObject({ _tag: "Evaluated", request: { id: requestId, kind: "manual", force: false } })
          expect(step.counts).toEqual({ NEW_DATA: 8 })
          expect(result.consumedRequests).toEqual([requestId])
          // Tagged with the request that made them, so that it never runs them a second time.
          const runs = yield* runsOf("reprocess", "calibrate")
          expect(runs.map((r) => [r.reason, r.request_tag])).toEqual(Array(8).fill(["NEW_DATA", `request-${requestId}`]))

          yield* at(2 * minute)
          expect(outcome(yield* pass(), "calibrate").status).toEqual({ _tag: "NotTriggered", why: "no-request" })
          expect(yield* runsOf("reprocess", "calibrate")).toHaveLength(8)
        })
      )

      it.effect("after completion, `ccat run` without --force finds nothing to do (UP_TO_DATE)", () =>
        Effect.gen(function* () {
          yield* at(3 * minute)
          yield* completeAll("reprocess", "calibrate")
          const requestId = yield* recordManualRequest({
            pipeline: "reprocess",
            step: null,
            force: false,
            requestedBy: "alice",
            now: new Date(T0 + 3 * minute)
          })
          const result = yield* pass()
          expect(outcome(result, "calibrate").counts).toEqual({ UP_TO_DATE: 8 })
          expect(result.created).toBe(0)
          expect(result.consumedRequests).toEqual([requestId])
        })
      )

      it.effect("`ccat run --force` reruns every sub-group once, tagged with its request, cooldown or not", () =>
        Effect.gen(function* () {
          // Ten minutes after the last runs: `cooldown 1h` would hold an automatic run.
          yield* at(10 * minute)
          const requestId = yield* recordManualRequest({
            pipeline: "reprocess",
            step: "calibrate",
            force: true,
            requestedBy: "bob",
            now: new Date(T0 + 10 * minute)
          })
          // A pass restricted to the pipeline leaves the request open...
          const first = yield* pass({ only: { pipeline: "reprocess" } })
          expect(outcome(first, "calibrate").counts).toEqual({ MANUAL: 8 })
          expect(first.consumedRequests).toEqual([])
          // ...and the next one honours it again without a second run per sub-group.
          yield* at(11 * minute)
          const secondPass = yield* pass()
          expect(outcome(secondPass, "calibrate").counts).toEqual({ IN_FLIGHT: 8 })
          expect(secondPass.consumedRequests).toEqual([requestId])

          const forced = yield* inFlightRunsOf("reprocess", "calibrate")
          expect(forced.map((r) => [r.reason, r.request_tag, r.software_version])).toEqual(
            Array(8).fill(["MANUAL", `request-${requestId}`, "2.4.2"])
          )
          expect(forced.map((r) => r.sub_group_key).sort()).toEqual(sorted((yield* fixtureScans).map((s) => s.scan)))
          expect(yield* runsOf("reprocess", "calibrate")).toHaveLength(16)
          yield* completeAll("reprocess", "calibrate")
        })
      )

      it.effect("`ccat run` for an unknown step is refused and records nothing", () =>
        Effect.gen(function* () {
          const error = yield* recordManualRequest({
            pipeline: "reprocess",
            step: "calibrat",
            force: false,
            requestedBy: "alice",
            now: new Date(T0 + 12 * minute)
          }).pipe(Effect.flip)
          expect(error).toMatchObject({ _tag: "UnknownStep", pipeline: "reprocess", name: "calibrat", known: ["calibrate"] })
          const sql = yield* SqlClient.SqlClient
          const open = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM trigger_request WHERE consumed_at IS NULL`
          expect(open[0]!.n).toBe(0)
        })
      )
    })
  })
}
