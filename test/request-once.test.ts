import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { applyWorkspace } from "../src/definitions/apply.ts"
import { evaluatePass, type PassSummary } from "../src/runtime/gaps/evaluate-pass.ts"
import { recordManualRequest } from "../src/runtime/gaps/trigger-requests.ts"
import { seededTestDatabase, testBackends, type TestBackend } from "./support/databases.ts"
import { scansOf } from "./support/chai-scans.ts"
import { fixtureWithPipeline } from "./support/gaps-fixture.ts"
import { scratchDirs } from "./support/scratch.ts"
import { completeRun, failRun, runsOf, startRun } from "./support/runs.ts"

/*
 * `ccat run <pipeline>` runs each sub-group at most once per request (issue 19): a request stays
 * open while other sub-groups of its pipeline still wait, and a run it made that failed for good
 * meanwhile must not be reopened by that same request, whether the run was a gap the request
 * filled (NEW_DATA), a failure it reopened (MANUAL) or a sub-group it forced. On both database
 * backends; test/support/runs.ts plays the submit and collect loops.
 */

const tempDir = scratchDirs("ccat-request-once")
const seededDatabase = (backend: TestBackend) => seededTestDatabase(backend, tempDir(`archive-${backend}`))

// Per-scan calibrations (a failed attempt is retried once) fanning in to one cube per source and
// line, on request only. The grouping (test/fixtures/gaps/common) selects six NGC1068 scans and
// two DR21 scans.
const pipelineText = `
pipeline reprocess {
  description "Calibrated scans and one cube per source and line, on request"
  data few_sources
  location cluster
  trigger manual

  step calibrate {
    run chai_calibration ^2.4
    group_by executed_obs_unit
    cooldown 1h
    config { calibration_mode = "hot_cold"  tsys_max_k = 4000 }
    retries 1
  }

  step map {
    after calibrate
    run chai_gridding ~0.10
    group_by source, line
    config { pixel_arcsec = 6.5 }
  }
}
`

const ir = () => fixtureWithPipeline("test/request-once/pipeline.ccat", pipelineText)

const T0 = Date.parse("2026-12-01T00:00:00Z")
const minute = 60_000
const at = (offset: number) => TestClock.setTime(T0 + offset)

const pass = () => evaluatePass({ explain: {} })
const counts = (summary: PassSummary, step: string) => summary.steps.find((s) => s.step === step)!.counts

/** The runs of one calibration, oldest first, as [status, reason, request tag]. */
const calibrations = (scan: string) =>
  Effect.map(runsOf("reprocess", "calibrate"), (runs) =>
    runs.filter((r) => r.sub_group_key === scan).map((r) => [r.status, r.reason, r.request_tag])
  )

const runOf = (step: string, key: string) =>
  Effect.map(runsOf("reprocess", step), (runs) => runs.filter((r) => r.sub_group_key === key).at(-1)!)

/** Fails the run's attempt with its one retry, then again: FAILED for good. */
const failForGood = (runId: number) =>
  Effect.gen(function* () {
    yield* failRun(runId, { final: false, reason: "lustre read error" })
    yield* failRun(runId, { final: true, reason: "lustre read error" })
  })

const request = (force: boolean, now: number) =>
  recordManualRequest({ pipeline: "reprocess", step: null, force, requestedBy: "alice", now: new Date(T0 + now) })

for (const backend of testBackends) {
  layer(seededDatabase(backend), { timeout: 120_000 })(backend, (it) => {
    describe("a request runs each sub-group once", () => {
      it.effect("a gap run the request made fails for good while the request is open: it is not run again (FAILED_FINAL)", () =>
        Effect.gen(function* () {
          yield* at(0)
          expect((yield* applyWorkspace(ir(), { createdBy: "test" }))._tag).toBe("Applied")
          const [d1, d2] = yield* scansOf("DR21")
          const [n1, ...ngc] = yield* scansOf("NGC1068")
          const requestId = yield* request(false, 0)
          const first = yield* pass()
          expect(counts(first, "calibrate")).toEqual({ NEW_DATA: 8 })
          expect(counts(first, "map")).toEqual({ WAITING_UPSTREAM: 2 })
          expect(first.consumedRequests).toEqual([])

          // DR21's first scan fails for good; NGC1068's first is still running, so its cube waits
          // and the request stays open.
          yield* failForGood((yield* runOf("calibrate", d1!)).id)
          yield* startRun((yield* runOf("calibrate", n1!)).id)
          for (const scan of [d2!, ...ngc]) yield* completeRun((yield* runOf("calibrate", scan)).id)
          yield* at(1 * minute)
          const second = yield* pass()
          expect(counts(second, "calibrate")).toEqual({ UP_TO_DATE: 6, IN_FLIGHT: 1, FAILED_FINAL: 1 })
          expect(counts(second, "map")).toEqual({ UPSTREAM_CHANGED: 1, WAITING_UPSTREAM: 1 })
          expect(second.consumedRequests).toEqual([])
          expect(yield* calibrations(d1!)).toEqual([["FAILED", "NEW_DATA", `request-${requestId}`]])

          yield* completeRun((yield* runOf("calibrate", n1!)).id)
          yield* at(2 * minute)
          const third = yield* pass()
          expect(counts(third, "calibrate")).toEqual({ UP_TO_DATE: 7, FAILED_FINAL: 1 })
          expect(counts(third, "map")).toEqual({ UPSTREAM_CHANGED: 1, IN_FLIGHT: 1 })
          expect(third.consumedRequests).toEqual([requestId])
          expect(yield* calibrations(d1!)).toHaveLength(1)
          for (const cube of yield* runsOf("reprocess", "map")) yield* completeRun(cube.id)
        })
      )

      it.effect("`ccat run` reopens a failure once: the reopened run fails for good and the still open request leaves it failed", () =>
        Effect.gen(function* () {
          const [d1] = yield* scansOf("DR21")
          const [n1] = yield* scansOf("NGC1068")
          // NGC1068's first scan is re-ingested: its calibration, then its cube, keep the request open.
          const sql = yield* SqlClient.SqlClient
          yield* sql`
            UPDATE raw_data_package SET checksum = 're-ingested'
            WHERE id = (SELECT id FROM raw_data_package WHERE executed_obs_unit_id = ${n1!} AND state = 'ARCHIVED' ORDER BY name LIMIT 1)`
          yield* at(10 * minute)
          const requestId = yield* request(false, 10 * minute)
          const first = yield* pass()
          expect(counts(first, "calibrate")).toEqual({ UP_TO_DATE: 6, NEW_DATA: 1, MANUAL: 1 })
          expect(counts(first, "map")).toEqual({ WAITING_UPSTREAM: 2 })

          yield* failForGood((yield* runOf("calibrate", d1!)).id)
          yield* at(11 * minute)
          const second = yield* pass()
          expect(counts(second, "calibrate")).toEqual({ UP_TO_DATE: 6, IN_FLIGHT: 1, FAILED_FINAL: 1 })
          expect(second.consumedRequests).toEqual([])
          expect(yield* calibrations(d1!)).toEqual([
            ["FAILED", "NEW_DATA", expect.stringMatching(/^request-\d+$/)],
            ["FAILED", "MANUAL", `request-${requestId}`]
          ])

          yield* completeRun((yield* runOf("calibrate", n1!)).id)
          yield* at(12 * minute)
          const third = yield* pass()
          expect(counts(third, "calibrate")).toEqual({ UP_TO_DATE: 7, FAILED_FINAL: 1 })
          expect(counts(third, "map")).toEqual({ UP_TO_DATE: 1, UPSTREAM_CHANGED: 1 })
          expect(third.consumedRequests).toEqual([requestId])
          expect(yield* calibrations(d1!)).toHaveLength(2)
          for (const cube of (yield* runsOf("reprocess", "map")).filter((r) => r.status === "PENDING")) yield* completeRun(cube.id)
        })
      )

      it.effect("`ccat run --force` runs every sub-group once: a forced run that fails for good is not forced again", () =>
        Effect.gen(function* () {
          const [d1, d2] = yield* scansOf("DR21")
          const [n1, ...ngc] = yield* scansOf("NGC1068")
          yield* at(20 * minute)
          const requestId = yield* request(true, 20 * minute)
          const first = yield* pass()
          expect(counts(first, "calibrate")).toEqual({ MANUAL: 8 })
          expect(counts(first, "map")).toEqual({ WAITING_UPSTREAM: 2 })

          // DR21's first scan fails once more; its second succeeds.
          yield* failForGood((yield* runOf("calibrate", d1!)).id)
          yield* startRun((yield* runOf("calibrate", n1!)).id)
          for (const scan of [d2!, ...ngc]) yield* completeRun((yield* runOf("calibrate", scan)).id)
          yield* at(21 * minute)
          const second = yield* pass()
          expect(counts(second, "calibrate")).toEqual({ UP_TO_DATE: 6, IN_FLIGHT: 1, FAILED_FINAL: 1 })
          // DR21's cube is forced on the scan that succeeded; NGC1068's waits.
          expect(counts(second, "map")).toEqual({ MANUAL: 1, WAITING_UPSTREAM: 1 })
          expect(second.consumedRequests).toEqual([])
          const dr21Cube = yield* runOf("map", "DR21__CI10")
          expect([dr21Cube.reason, dr21Cube.request_tag]).toEqual(["MANUAL", `request-${requestId}`])

          // The forced cube fails for good while NGC1068's calibration still runs.
          yield* failRun(dr21Cube.id, { final: true })
          yield* at(22 * minute)
          const third = yield* pass()
          expect(counts(third, "calibrate")).toEqual({ UP_TO_DATE: 6, IN_FLIGHT: 1, FAILED_FINAL: 1 })
          expect(counts(third, "map")).toEqual({ FAILED_FINAL: 1, WAITING_UPSTREAM: 1 })

          yield* completeRun((yield* runOf("calibrate", n1!)).id)
          yield* at(23 * minute)
          const fourth = yield* pass()
          expect(counts(fourth, "map")).toEqual({ FAILED_FINAL: 1, MANUAL: 1 })
          expect(fourth.consumedRequests).toEqual([requestId])
          const forced = (yield* runsOf("reprocess", "calibrate")).filter((r) => r.request_tag === `request-${requestId}`)
          expect(forced.map((r) => r.sub_group_key).sort()).toEqual([d1!, d2!, n1!, ...ngc].sort())
          const cubes = (yield* runsOf("reprocess", "map")).filter((r) => r.request_tag === `request-${requestId}`)
          expect(cubes.map((r) => [r.sub_group_key, r.status])).toEqual([
            ["DR21__CI10", "FAILED"],
            ["NGC1068__CO43", "PENDING"]
          ])
        })
      )
    })
  })
}
