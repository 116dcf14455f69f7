import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, LogLevel } from "effect"
import { existsSync } from "node:fs"
import { seedDemo } from "../src/db/seed/index.ts"
import { applyWorkspace } from "../src/definitions/apply.ts"
import { purgeCycle } from "../src/runtime/execution/purge.ts"
import { scanByStart } from "./support/chai-scans.ts"
import { testBackends } from "./support/databases.ts"
import { compileExecution, demoPrograms, executionRuns } from "./support/execution.ts"
import { scratchDirs } from "./support/scratch.ts"
import { localServeSetup } from "./support/local-serve.ts"

// The issue "Purging never breaks later work", end to end: `ccat serve` on the local backend with
// the demo programs takes one of DR21's scans through calibrate → baseline → map; purge (the disk
// said to be full: the real one cannot be filled here) deletes the calibration and baseline
// files the cube used; then DR21's other scan arrives. Before, the next cube's staging failed
// on the purged baseline file (ENOENT) and the cube went FAILED_FINAL. Now the purged baseline
// is made again first, and so the calibration it is made from (INPUT_PURGED, two steps up),
// and the cube runs on them: every run COMPLETED.

const tempDir = scratchDirs("ccat-purge-serve")

const ir = compileExecution()

for (const backend of testBackends) {
  describe(`purge, then new data, under ccat serve on the local backend, ${backend}`, () => {
    const { config, layers, serveUntilIdle } = localServeSetup(tempDir, backend, {
      config: { softwarePath: [demoPrograms] },
      logLevel: LogLevel.Warning
    })

    layer(layers, { timeout: 240_000, excludeTestServices: true })((it) => {
      it.effect(
        "the next cube after a purge runs on rebuilt intermediates instead of failing at staging (disk fullness injected)",
        () =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            yield* seedDemo({ archiveDir: tempDir(`archive-${backend}`) })
            // One of DR21's two scans is still being transferred (the one that cannot make a cube on
            // its own: the demo flags all of its pixels).
            const late = yield* scanByStart("DR21", "first")
            yield* sql`UPDATE raw_data_package SET state = 'TRANSFERRING' WHERE executed_obs_unit_id = ${late} AND state = 'ARCHIVED'`
            yield* applyWorkspace(ir, { createdBy: "test" })
            yield* serveUntilIdle
            const first = yield* executionRuns
            expect(first.map((r) => [r.step, r.status, r.failure_reason])).toEqual([
              ["calibrate", "COMPLETED", null],
              ["baseline", "COMPLETED", null],
              ["map", "COMPLETED", null]
            ])

            // The disk is full: the first scan's calibration and baseline files go.
            const purged = yield* purgeCycle(config, { percentUsed: () => 100 })
            expect(purged.purged).toBeGreaterThanOrEqual(2)
            const gone = yield* sql<{ step: string; file: string }>`
            SELECT s.name AS step, r.run_dir || '/' || p.relative_path AS file
            FROM physical_copy c JOIN data_product p ON p.id = c.data_product_id
            JOIN executed_reduction_step r ON r.id = p.run_id JOIN reduction_step s ON s.id = r.step_id
            WHERE c.status = 'DELETED' ORDER BY p.id`
            expect(new Set(gone.map((g) => g.step))).toEqual(new Set(["calibrate", "baseline"]))
            expect(gone.every((g) => !existsSync(g.file))).toBe(true)

            // The other scan arrives.
            yield* sql`UPDATE raw_data_package SET state = 'ARCHIVED' WHERE executed_obs_unit_id = ${late} AND state = 'TRANSFERRING'`
            yield* serveUntilIdle
            const all = yield* executionRuns
            expect(all.filter((r) => r.status !== "COMPLETED")).toEqual([])
            const added = all.slice(first.length)
            const firstScan = first[0]!.sub_group_key
            // The first scan's baseline, and the calibration it is made from, were made again; the
            // late scan was calibrated and baselined; one new cube reads both scans.
            expect(
              added
                .filter((r) => r.reason === "INPUT_PURGED")
                .map((r) => [r.step, r.sub_group_key])
                .sort()
            ).toEqual([
              ["baseline", firstScan],
              ["calibrate", firstScan]
            ])
            expect(added.filter((r) => r.sub_group_key === late).map((r) => [r.step, r.reason])).toEqual([
              ["calibrate", "NEW_DATA"],
              ["baseline", "UPSTREAM_CHANGED"]
            ])
            expect(added.filter((r) => r.step === "map").map((r) => r.reason)).toEqual(["UPSTREAM_CHANGED"])
            const [cube] = added.filter((r) => r.step === "map")
            const inputs = yield* sql<{ sub_group_key: string; reason: string }>`
            SELECT r.sub_group_key, r.reason FROM run_input i JOIN data_product p ON p.id = i.data_product_id
            JOIN executed_reduction_step r ON r.id = p.run_id WHERE i.run_id = ${cube!.id} ORDER BY r.sub_group_key`
            expect(new Set(inputs.map((i) => `${i.sub_group_key} ${i.reason}`))).toEqual(
              new Set([`${firstScan} INPUT_PURGED`, `${late} UPSTREAM_CHANGED`])
            )
          }),
        240_000
      )
    })
  })
}
