import { SqlClient } from "@effect/sql"
import { describe, expect, it as plainIt, layer } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { applyWorkspace } from "../src/definitions/apply.ts"
import { duration, explainWhy } from "../src/runtime/explain/why.ts"
import { evaluatePass } from "../src/runtime/gaps/evaluate-pass.ts"
import { previewPass } from "../src/runtime/gaps/preview.ts"
import { passJson } from "../src/runtime/gaps/render-pass.ts"
import { reasonDescriptions } from "../src/runtime/gaps/reasons.ts"
import { seededTestDatabase, testBackends, type TestBackend } from "./support/databases.ts"
import { scansOf } from "./support/chai-scans.ts"
import { fixtureWithPipeline } from "./support/gaps-fixture.ts"
import { scratchDirs } from "./support/scratch.ts"
import { completeAll, runsOf } from "./support/runs.ts"

/*
 * What `ccat why` prints (issue 19), on both database backends: it never names a run that exists
 * only in its own preview (a pass run in a transaction that is rolled back), and it gives the
 * time left in a cooldown in seconds below a minute. The TestClock sets every moment.
 */

const tempDir = scratchDirs("ccat-why-words")
const seededDatabase = (backend: TestBackend) => seededTestDatabase(backend, tempDir(`archive-${backend}`))

// Per-scan calibrations with a 30 s cooldown fanning in to one cube per source and line with a
// 2 h cooldown. The grouping (test/fixtures/gaps/common) selects six NGC1068 scans and two DR21 scans.
const pipelineText = (pixel: string) => `
pipeline chain {
  description "Calibrated scans and one cube per source and line"
  data few_sources
  location cluster
  trigger continuous

  step calibrate {
    run chai_calibration ^2.4
    group_by executed_obs_unit
    cooldown 30s
    config { calibration_mode = "hot_cold"  tsys_max_k = 4000 }
  }

  step map {
    after calibrate
    run chai_gridding ~0.10
    group_by source, line
    cooldown 2h
    config { pixel_arcsec = ${pixel} }
  }
}
`

const apply = (pixel: string) =>
  Effect.gen(function* () {
    const ir = fixtureWithPipeline("test/why-words/pipeline.ccat", pipelineText(pixel))
    expect((yield* applyWorkspace(ir, { createdBy: "test" }))._tag).toBe("Applied")
  })

const T0 = Date.parse("2026-12-01T00:00:00Z")
const second = 1000
const minute = 60 * second
const hour = 60 * minute
const at = (offset: number) => TestClock.setTime(T0 + offset)

const dr21 = "DR21__CI10"

/** `ccat why <pipeline>.<step> <key>` as printed. */
const why = (step: string, key: string) =>
  Effect.map(explainWhy({ pipeline: "chain", step, subGroupKey: key }), (lines) => lines.join("\n"))

/** The newest run id in the database: any larger one would be a run of a rolled-back preview. */
const newestRunId = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.map(sql<{ id: string | null }>`SELECT max(id)::text AS id FROM executed_reduction_step`, ([row]) => Number(row?.id ?? 0))
)

/** Every number the text gives as a run id (`run 12`). */
const runIdsIn = (text: string): Array<number> => [...text.matchAll(/\brun (\d+)/g)].map((m) => Number(m[1]))

/** Gives one archived package of a scan a new checksum (the archive re-ingested it). */
const changePackage = (scan: string, checksum: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql`
    UPDATE raw_data_package SET checksum = ${checksum}
    WHERE id = (SELECT id FROM raw_data_package WHERE executed_obs_unit_id = ${scan} AND state = 'ARCHIVED' ORDER BY name LIMIT 1)`
  )

describe("durations in `ccat why`, without a database", () => {
  plainIt("below a minute in seconds, rounded up; from a minute on in days, hours and minutes", () => {
    expect(duration(30 * second)).toBe("30s")
    expect(duration(20_400)).toBe("21s")
    expect(duration(59_500)).toBe("1m")
    expect(duration(2 * hour)).toBe("2h")
    expect(duration(hour + 5 * minute + 10 * second)).toBe("1h 6m")
    expect(duration(26 * hour)).toBe("1d 2h")
  })
})

for (const backend of testBackends) {
  layer(seededDatabase(backend), { timeout: 120_000 })(backend, (it) => {
    describe("`ccat why` words", () => {
      it.effect("a cooldown of 30 s is counted down in seconds, one of 2 h in hours and minutes", () =>
        Effect.gen(function* () {
          yield* at(0)
          yield* apply("6.5")
          const [d1] = yield* scansOf("DR21")
          yield* evaluatePass({})
          yield* completeAll("chain", "calibrate")
          yield* at(1 * minute)
          yield* evaluatePass({})
          yield* completeAll("chain", "map")
          // DR21's first scan is re-ingested: recalibrated at 00:02, then re-ingested again at 00:02:10.
          yield* at(2 * minute)
          yield* changePackage(d1!, "re-ingested-1")
          yield* evaluatePass({})
          yield* completeAll("chain", "calibrate")
          yield* at(2 * minute + 10 * second)
          yield* changePackage(d1!, "re-ingested-2")

          const calibration = yield* why("calibrate", d1!)
          expect(calibration).toContain(`chain.calibrate ${d1}: no run now (COOLDOWN: ${reasonDescriptions.COOLDOWN}).`)
          expect(calibration).toContain("  cooldown 30s: the next run may start at 2026-12-01 00:02:30 UTC (in 20s).")
          // The cube's inputs changed with the recalibration; its last run was made at 00:01.
          const cube = yield* why("map", dr21)
          expect(cube).toContain(`chain.map ${dr21}: no run now (COOLDOWN: ${reasonDescriptions.COOLDOWN}).`)
          expect(cube).toContain("  cooldown 2h: the next run may start at 2026-12-01 02:01 UTC (in 1h 59m).")
        })
      )

      it.effect("an upstream run the preview would create is named by step and sub-group, never by the id it had in the preview", () =>
        Effect.gen(function* () {
          const [d1] = yield* scansOf("DR21")
          // Past the calibration's cooldown: the preview creates its run, and the cube waits for it.
          yield* at(3 * minute)
          const newest = yield* newestRunId
          const cube = yield* why("map", dr21)
          expect(cube).toContain(`chain.map ${dr21}: no run now (WAITING_UPSTREAM: ${reasonDescriptions.WAITING_UPSTREAM}).`)
          expect(cube).toContain(
            [
              "  waits for 1 upstream run still pending or running, or that would be created now:",
              `    a run that would be created now (chain.calibrate ${d1})`
            ].join("\n")
          )
          // The cube's previous run exists and is named; nothing newer is.
          const [previous] = (yield* runsOf("chain", "map")).filter((r) => r.sub_group_key === dr21)
          expect(cube).toContain(`  previous run ${previous!.id}: COMPLETED (UPSTREAM_CHANGED), created 2026-12-01 00:01 UTC`)
          expect(runIdsIn(cube).filter((id) => id > newest)).toEqual([])
          expect(yield* newestRunId).toBe(newest)
        })
      )

      it.effect(
        "a step decided again in the same preview (rebuilds asked for) shows the run it would create, not the preview's run in flight",
        () =>
          Effect.gen(function* () {
            const [d1, d2] = yield* scansOf("DR21")
            const [n1] = yield* scansOf("NGC1068")
            // Settle: DR21's recalibration and, after the cube's cooldown, its new cube.
            yield* at(3 * minute)
            yield* evaluatePass({})
            yield* completeAll("chain", "calibrate")
            yield* at(3 * hour)
            yield* evaluatePass({})
            yield* completeAll("chain", "map")
            // The cubes' config changes, the files of DR21's second calibration were purged, and an
            // NGC1068 scan is re-ingested. A pass creates NGC1068's calibration, holds DR21's cube
            // (it reads the purged products) and asks for them to be made again: it decides the
            // calibrations again, NGC1068's now in flight on the run the pass just created.
            yield* apply("7.0")
            const sql = yield* SqlClient.SqlClient
            const [purged] = (yield* runsOf("chain", "calibrate")).filter((r) => r.sub_group_key === d2).slice(-1)
            yield* sql`
            INSERT INTO physical_copy (data_location_id, data_product_id, path, status)
            SELECT (SELECT id FROM data_location ORDER BY id LIMIT 1), p.id, 'purged/' || p.relative_path, 'DELETED'
            FROM data_product p WHERE p.run_id = ${purged!.id}`
            yield* changePackage(n1!, "re-ingested-1")
            // Past the new cube's cooldown, so that DR21's cube would run on the new config.
            yield* at(5 * hour + 1 * minute)
            const newest = yield* newestRunId
            const [previous] = (yield* runsOf("chain", "calibrate")).filter((r) => r.sub_group_key === n1)

            const calibration = yield* why("calibrate", n1!)
            expect(calibration.split("\n")).toEqual([
              `chain.calibrate ${n1}: a run would be created now (NEW_DATA: ${reasonDescriptions.NEW_DATA}).`,
              expect.stringMatching(/^ {2}inputs: \d+ raw packages?, identity [0-9a-f]{12}$/),
              expect.stringMatching(
                new RegExp(
                  `^ {2}previous run ${previous!.id}: COMPLETED \\(NEW_DATA\\), created 2026-12-01 00:00 UTC, \\d+ inputs?; same input set$`
                )
              )
            ])
            const cube = yield* why("map", dr21)
            expect(cube).toContain(`    a run that would be created now (chain.calibrate ${d2})`)
            expect(cube).not.toContain(`chain.calibrate ${d1}`)
            expect(runIdsIn(calibration + cube).filter((id) => id > newest)).toEqual([])

            // `ccat plan --json` says the same: no run id from the preview.
            const json = passJson(yield* previewPass({ explain: {} }))
            const items = json.steps.flatMap((s) => s.items)
            const ids = items.flatMap((i) => [i.previousRunId, i.inFlightRunId]).filter((id): id is number => id !== null)
            expect(ids.filter((id) => id > newest)).toEqual([])
            expect(yield* newestRunId).toBe(newest)
          })
      )
    })
  })
}
