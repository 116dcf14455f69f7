import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { afterAll, describe, expect, layer } from "@effect/vitest"
import { Duration, Effect, Layer, TestClock } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { compileSources } from "../src/compiler/compile.ts"
import { dimensions, tables } from "../src/compiler/schema-registry.ts"
import { seedDemo } from "../src/db/seed/index.ts"
import { applyWorkspace } from "../src/definitions/apply.ts"
import { evaluatePass, type PassSummary } from "../src/runtime/gaps/evaluate-pass.ts"
import { previewPass } from "../src/runtime/gaps/preview.ts"
import { testBackends, testDatabase } from "./support/databases.ts"
import { endRunsInFlight } from "./support/runs.ts"
import { loadCcatFiles, repoRoot } from "./support/workspace.ts"

// Corrections to the rows above the packages (a source renamed, an obs unit moved to another
// line, a package moved to another scan) are signals to the trigger loop (migration 8,
// src/runtime/gaps/dirty-sub-groups.ts): its next pass decides what a full evaluation decides,
// without waiting for the periodic one. test/incremental-pass.test.ts draws them among its
// random changes; these are the cases a person notices, spelled out.

const archives: Array<string> = []
afterAll(() => {
  for (const dir of archives) rmSync(dir, { recursive: true, force: true })
})

const standing = (summary: PassSummary) =>
  summary.steps.filter((s) => s.pipeline === "chai_standing").map((s) => ({ step: s.step, counts: s.counts }))

/** The demo archive with the chai pipelines applied, every run completed and past every cooldown, remembered by the loop. */
const settledArchive = (salt: number) =>
  Effect.gen(function* () {
    const archiveDir = mkdtempSync(join(tmpdir(), "ccat-corrections-"))
    archives.push(archiveDir)
    yield* seedDemo({ archiveDir })
    yield* applyWorkspace(compileSources(loadCcatFiles(join(repoRoot, "pipelines", "chai"))).ir!, { createdBy: "corrections-test" })
    yield* TestClock.setTime(Date.parse("2026-12-01T00:00:00Z"))
    yield* evaluatePass({ remember: true })
    for (let n = 0; n < 4; n++) {
      yield* endRunsInFlight(1, "COMPLETED", salt + n)
      yield* TestClock.adjust(Duration.days(2))
      yield* evaluatePass({ remember: true })
    }
  })

for (const backend of testBackends) {
  describe(`corrections above the packages on ${backend}`, () => {
    layer(Layer.merge(testDatabase(backend, { pglitePool: 1 }), NodeContext.layer), { timeout: 120_000 })((it) => {
      it.effect("a source renamed is seen by the loop's next pass, not left to the periodic full evaluation", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const step = (s: PassSummary, name: string) => s.steps.find((x) => x.pipeline === "chai_standing" && x.step === name)!
          yield* settledArchive(5000)
          const settled = yield* evaluatePass({ remember: true })
          expect(settled.created).toBe(0)
          const mapId = step(settled, "map").stepId
          // A routine update of a scan (its status, its metadata) moves no package between the
          // map's sub-groups: the map stays incremental.
          yield* sql`UPDATE executed_obs_unit SET metadata = metadata || '{"checked": true}', status = 'SUCCESS'
            WHERE id = (
              SELECT r.executed_obs_unit_id FROM raw_data_package r JOIN instrument_module m ON m.id = r.instrument_module_id
              WHERE r.state = 'ARCHIVED' AND m.name = 'LFA' ORDER BY r.id LIMIT 1)`
          const routine = yield* evaluatePass({ remember: true, fullEvery: Duration.days(365) })
          expect(step(routine, "map").incremental).toBe(true)
          expect(step(routine, "calibrate").decided).toBe(1)
          const fullBefore = yield* sql<{
            step_id: string
            full_at: Date
          }>`SELECT step_id, full_at FROM trigger_step_state ORDER BY step_id`
          // One of the map's sub-groups, by the source its key starts with.
          const [mapped] = yield* sql<{ key: string; source: string }>`
            SELECT st.sub_group_key AS key, s.name AS source FROM trigger_sub_group_state st
            JOIN source s ON left(st.sub_group_key, length(s.name) + 2) = s.name || '__'
            WHERE st.step_id = ${mapId} AND st.reason = 'UP_TO_DATE' AND s.name ~ '^[A-Za-z0-9-]+$'
            ORDER BY 1 LIMIT 1`
          expect(mapped).toBeDefined()
          const line = mapped!.key.slice(mapped!.source.length + 2)
          yield* sql`UPDATE source SET name = ${`${mapped!.source}-A`} WHERE name = ${mapped!.source}`
          yield* TestClock.adjust(Duration.seconds(30))
          const expected = yield* previewPass({})
          // No periodic full evaluation is due in this pass (the days above made every step due).
          const pass = yield* evaluatePass({ remember: true, fullEvery: Duration.days(365) })
          expect(standing(pass)).toEqual(standing(expected))
          // The map's run for the renamed source, under its new key, in this very pass ...
          const [run] = yield* sql<{ reason: string }>`
            SELECT reason FROM executed_reduction_step WHERE step_id = ${mapId} AND sub_group_key = ${`${mapped!.source}-A__${line}`}`
          expect(run?.reason).toBe("UPSTREAM_CHANGED")
          // ... and the old key is no sub-group any more.
          const old = yield* sql`SELECT reason FROM trigger_sub_group_state WHERE step_id = ${mapId} AND sub_group_key = ${mapped!.key}`
          expect(old).toEqual([])
          // Only the map, whose keys hold source names, was decided whole; nothing was a periodic
          // reconciliation of the others (their last full evaluation stayed where it was).
          expect(step(pass, "map").incremental).toBeUndefined()
          expect(step(pass, "calibrate").decided ?? 0).toBe(0)
          const fullAfter = yield* sql<{ step_id: string; full_at: Date }>`SELECT step_id, full_at FROM trigger_step_state ORDER BY step_id`
          const others = (rows: ReadonlyArray<{ step_id: string; full_at: Date }>) => rows.filter((r) => Number(r.step_id) !== mapId)
          expect(others(fullAfter)).toEqual(others(fullBefore))
          // Every table a selection can read besides the packages keeps the transaction of its
          // last update, and of its last change to a column a key is read through (migration 8):
          // its link to its parent and its dimension keys. A table, link or key added to the
          // registry without them would leave its changes to the periodic full evaluation.
          const triggers = yield* sql<{ table_name: string; args: string }>`
            SELECT c.relname AS table_name, encode(t.tgargs, 'escape') AS args
            FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE t.tgname = c.relname || '_touch'`
          const watched = new Map(triggers.map((t) => [t.table_name, t.args.split("\\000").filter((a) => a !== "")]))
          const bySqlName = (name: string) => tables.find((t) => t.name === name)!.sqlTable
          const expectedColumns = new Map<string, Array<string>>()
          for (const t of tables) if (t.join !== null) expectedColumns.set(t.sqlTable, expectedColumns.get(t.sqlTable) ?? [])
          for (const t of tables) {
            const parent = t.join === null ? null : bySqlName(t.join.parent)
            if (t.join !== null && parent !== "raw_data_package") expectedColumns.get(parent!)!.push(t.join.foreignKey)
          }
          for (const d of dimensions) {
            if (d.key === null || d.key.column === "id" || bySqlName(d.key.table) === "raw_data_package") continue
            expectedColumns.get(bySqlName(d.key.table))!.push(d.key.column)
          }
          for (const [table, columns] of expectedColumns) {
            expect(watched.get(table)?.slice().sort(), table).toEqual([...new Set(columns)].sort())
          }
          // The packages' own links are watched by their touch trigger, which names them.
          const links = tables
            .filter((t) => t.join !== null && bySqlName(t.join.parent) === "raw_data_package")
            .map((t) => t.join!.foreignKey)
          const [touch] = yield* sql<{ body: string }>`SELECT prosrc AS body FROM pg_proc WHERE proname = 'ccat_touch_raw_data_package'`
          for (const link of links) expect(touch!.body).toContain(`NEW.${link} IS DISTINCT FROM OLD.${link}`)
        })
      )
    })
    // Its own database: each test seeds the demo archive.
    layer(Layer.merge(testDatabase(backend, { pglitePool: 1 }), NodeContext.layer), { timeout: 120_000 })((it) => {
      it.effect("a package moved out of a scan in cooldown that no run of it covers: the scan is decided again", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const calibrate = (s: PassSummary) => s.steps.find((x) => x.pipeline === "chai_standing" && x.step === "calibrate")!
          const noReconcile = { remember: true, fullEvery: Duration.days(365) } as const
          yield* settledArchive(6000)
          const stepId = calibrate(yield* evaluatePass({ remember: true })).stepId
          // p (module M) in scan B; scans A and C without a package of module M.
          const [pick] = yield* sql<{ p: string; a: string; c: string }>`
            WITH settled AS (
              SELECT sub_group_key FROM trigger_sub_group_state WHERE step_id = ${stepId} AND reason = 'UP_TO_DATE'
            ),
            without AS (
              SELECT m.id AS m, s.sub_group_key::uuid AS scan FROM instrument_module m, settled s
              WHERE NOT EXISTS (SELECT 1 FROM raw_data_package x WHERE x.executed_obs_unit_id::text = s.sub_group_key AND x.instrument_module_id = m.id)
            ),
            p AS (
              SELECT r.id, r.executed_obs_unit_id AS b, r.instrument_module_id AS m FROM raw_data_package r
              JOIN settled s ON s.sub_group_key = r.executed_obs_unit_id::text
              JOIN instrument_module im ON im.id = r.instrument_module_id AND im.name IN ('LFA', 'HFA')
              WHERE r.state = 'ARCHIVED' AND (SELECT count(*) FROM without w WHERE w.m = r.instrument_module_id) >= 2
              ORDER BY r.id LIMIT 1
            ),
            free AS (SELECT w.scan FROM without w, p WHERE w.m = p.m ORDER BY 1 LIMIT 2)
            SELECT p.id::text AS p, (SELECT min(scan::text) FROM free) AS a, (SELECT max(scan::text) FROM free) AS c FROM p`
          expect(pick!.a).not.toBe(pick!.c)
          const moveTo = (scan: string) => sql`UPDATE raw_data_package SET executed_obs_unit_id = ${scan}::uuid WHERE id = ${pick!.p}::uuid`
          // Scan A gets a new run and finishes it; within its 60 s cooldown p is moved into A
          // (A waits in COOLDOWN, and none of A's runs covers p), then on to C.
          yield* sql`UPDATE raw_data_package SET checksum = md5(checksum) WHERE executed_obs_unit_id = ${pick!.a}::uuid`
          expect(calibrate(yield* evaluatePass(noReconcile)).counts.NEW_DATA).toBe(1)
          yield* endRunsInFlight(1, "COMPLETED", 6100)
          yield* TestClock.adjust(Duration.seconds(5))
          yield* moveTo(pick!.a)
          yield* evaluatePass(noReconcile)
          const reasonOf = (key: string) =>
            sql<{ reason: string }>`SELECT reason FROM trigger_sub_group_state WHERE step_id = ${stepId} AND sub_group_key = ${key}`.pipe(
              Effect.map(([row]) => row?.reason)
            )
          expect(yield* reasonOf(pick!.a)).toBe("COOLDOWN")
          yield* TestClock.adjust(Duration.seconds(5))
          yield* moveTo(pick!.c)
          const expected = yield* previewPass({})
          const pass = yield* evaluatePass(noReconcile)
          expect(standing(pass)).toEqual(standing(expected))
          // A has its old inputs again, which its last run processed.
          expect(yield* reasonOf(pick!.a)).toBe("UP_TO_DATE")
        })
      )
    })
  })
}
