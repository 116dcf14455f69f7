import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { afterAll, describe, expect, layer } from "@effect/vitest"
import { Data, Deferred, Duration, Effect, Fiber, Layer, Schedule, TestClock, TestServices } from "effect"
import { createHash } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { compileSources } from "../src/compiler/compile.ts"
import { seedDemo, seedMore } from "../src/db/seed/index.ts"
import { applyWorkspace } from "../src/definitions/apply.ts"
import { evaluatePass, type PassSummary } from "../src/runtime/gaps/evaluate-pass.ts"
import { previewPass } from "../src/runtime/gaps/preview.ts"
import { explainWhy } from "../src/runtime/explain/why.ts"
import { statusReport } from "../src/runtime/ops/status.ts"
import { testBackends, testDatabase } from "./support/databases.ts"
import { endRunsInFlight } from "./support/runs.ts"
import { loadCcatFiles, repoRoot } from "./support/workspace.ts"

// The trigger loop evaluates only the sub-groups that can have changed since its last pass
// (src/runtime/gaps/dirty-sub-groups.ts). Whatever happens between passes (new scans, runs
// that start, finish, fail or are cancelled, a package whose data changes or that leaves the
// archive, time passing cooldowns), such a pass must decide exactly what a full evaluation
// decides at the same moment: the same runs, and the same counts per reason for every step.
// So must it after corrections to the rows above the packages (a source renamed, an obs unit
// moved to another line, a module renamed out of the selection).

const archives: Array<string> = []
afterAll(() => {
  for (const dir of archives) rmSync(dir, { recursive: true, force: true })
})

/** A small deterministic generator, so a failure replays. */
const generator = (seed: number) => {
  let state = seed >>> 0
  return (n: number): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state % n
  }
}

const touchPackages = (count: number, change: "checksum" | "unarchive", salt: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const set = change === "checksum" ? sql`checksum = md5(checksum || ${String(salt)})` : sql`state = 'FAILED'`
    yield* sql`
      UPDATE raw_data_package SET ${set}
      WHERE id IN (SELECT id FROM raw_data_package WHERE state = 'ARCHIVED' ORDER BY md5(id::text || ${String(salt)}) LIMIT ${count})`
  })

/**
 * A correction to the rows above the packages (migration 8), as an archive operator makes them:
 * a source renamed or an obs unit moved moves packages between the map's sub-groups (source,
 * line); a module renamed (and named back the next time) moves them out of chai_archived and back
 * in; a scan's metadata is read by nothing the pipeline selects; a package moved to another scan
 * changes its sub-group under every step.
 */
const corrections = [
  "source renamed",
  "obs unit to another line",
  "obs unit to another source",
  "module renamed",
  "scan metadata",
  "package to another scan"
] as const
type Correction = (typeof corrections)[number]

const correctAbovePackages = (change: Correction, salt: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const pick = (table: "source" | "obs_unit" | "executed_obs_unit") =>
      sql`(SELECT id FROM ${sql(table)} ORDER BY md5(id::text || ${String(salt)}) LIMIT 1)`
    switch (change) {
      case "source renamed":
        return yield* sql`UPDATE source SET name = name || ${`r${salt}`} WHERE id = ${pick("source")}`
      case "obs unit to another line":
        return yield* sql`
          UPDATE obs_unit o SET line_id = (SELECT min(line_id) FROM obs_unit x WHERE x.line_id <> o.line_id)
          WHERE o.id = ${pick("obs_unit")}`
      case "obs unit to another source":
        return yield* sql`
          UPDATE obs_unit o SET source_id = (SELECT id FROM source s WHERE s.id <> o.source_id ORDER BY md5(s.id::text || ${String(salt)}) LIMIT 1)
          WHERE o.id = ${pick("obs_unit")}`
      case "module renamed":
        return yield* sql`UPDATE instrument_module SET name = CASE name WHEN 'HFA' THEN 'HFA-spare' WHEN 'HFA-spare' THEN 'HFA' ELSE name END`
      case "package to another scan":
        // To a scan that has no package of the same module yet (one per module and scan).
        return yield* sql`
          UPDATE raw_data_package p SET executed_obs_unit_id = (
            SELECT e.id FROM executed_obs_unit e
            WHERE NOT EXISTS (SELECT 1 FROM raw_data_package x WHERE x.executed_obs_unit_id = e.id AND x.instrument_module_id = p.instrument_module_id)
            ORDER BY md5(e.id::text || ${String(salt)}) LIMIT 1)
          WHERE p.id = (SELECT id FROM raw_data_package WHERE state = 'ARCHIVED' ORDER BY md5(id::text || ${String(salt)}) LIMIT 1)`
      case "scan metadata":
        return yield* sql`UPDATE executed_obs_unit SET metadata = metadata || ${JSON.stringify({ corrected: salt })}::jsonb WHERE id = ${pick("executed_obs_unit")}`
    }
  })

/** Everything the trigger loop remembers (step-memo.ts, sub-group-state.ts). */
const loopMemory = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const steps =
    yield* sql`SELECT step_id, definition_hash, snapshot, evaluated_at, full_at, due_at, counts FROM trigger_step_state ORDER BY step_id`
  const subGroups = yield* sql`SELECT step_id, sub_group_key, reason FROM trigger_sub_group_state ORDER BY step_id, sub_group_key`
  return { steps, subGroups }
})

class RolledBack<A> extends Data.TaggedError("RolledBack")<{ readonly value: A }> {}

/** `effect` as if the loop had no memory: the memory is emptied inside a transaction rolled back after it. */
const withoutLoopMemory = <A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return yield* sql
      .withTransaction(
        Effect.gen(function* () {
          yield* sql`DELETE FROM trigger_step_state`
          yield* sql`DELETE FROM trigger_sub_group_state`
          return yield* new RolledBack({ value: yield* effect })
        })
      )
      .pipe(
        Effect.catchIf(
          (e): e is RolledBack<A> => e instanceof RolledBack,
          (e) => Effect.succeed(e.value)
        )
      )
  })

const standing = (summary: PassSummary) =>
  summary.steps.filter((s) => s.pipeline === "chai_standing").map((s) => ({ step: s.step, counts: s.counts }))

for (const backend of testBackends) {
  describe(`incremental trigger passes on ${backend}`, () => {
    layer(Layer.merge(testDatabase(backend, { pglitePool: 1 }), NodeContext.layer), { timeout: 240_000 })((it) => {
      it.effect(
        "decide exactly what a full evaluation decides, through random changes between passes",
        () =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            const archiveDir = mkdtempSync(join(tmpdir(), "ccat-incremental-"))
            archives.push(archiveDir)
            yield* seedDemo({ archiveDir })
            yield* applyWorkspace(compileSources(loadCcatFiles(join(repoRoot, "pipelines", "chai"))).ir!, { createdBy: "incremental-test" })
            yield* TestClock.setTime(Date.parse("2026-12-01T00:00:00Z"))
            const random = generator(20261127)
            let incrementalSteps = 0
            let previewStepsFromMemory = 0
            let explainedFromMemory = 0
            let statusWithWaiting = 0
            const done: Array<string> = []
            for (let round = 0; round < 36; round++) {
              // One or two changes, drawn from what happens in a running system.
              for (let k = 0; k <= random(2); k++) {
                const what = random(12)
                if (what >= 10) {
                  const correction = corrections[random(corrections.length)]!
                  yield* correctAbovePackages(correction, round)
                  done.push(correction)
                } else if (what === 0) {
                  yield* seedMore({ scans: 1 + random(3) })
                  done.push("new scans")
                } else if (what === 9) {
                  // New since the last pass and changed again before it: the dirty set takes a
                  // new package from its own key, not from the runs that cover it (migration 6).
                  yield* seedMore({ scans: 1 })
                  yield* sql`
                  UPDATE raw_data_package SET checksum = md5(checksum)
                  WHERE id IN (SELECT id FROM raw_data_package ORDER BY created_xid DESC NULLS LAST LIMIT 1)`
                  done.push("new scan changed at once")
                } else if (what <= 2) {
                  yield* endRunsInFlight(0.7, "COMPLETED", round)
                  done.push("runs completed")
                } else if (what === 3) {
                  yield* endRunsInFlight(0.2, "FAILED", round)
                  done.push("runs failed")
                } else if (what === 4) {
                  yield* endRunsInFlight(0.1, "CANCELLED", round)
                  done.push("runs cancelled")
                } else if (what === 5) {
                  yield* touchPackages(1 + random(3), "checksum", round)
                  done.push("data changed")
                } else if (what === 6) {
                  yield* touchPackages(1, "unarchive", round)
                  done.push("package left the archive")
                } else if (what === 7) {
                  yield* TestClock.adjust(Duration.seconds(30 + random(60)))
                  done.push("a minute passed")
                } else {
                  yield* TestClock.adjust(Duration.hours(6 + random(24)))
                  done.push("hours passed")
                }
              }
              const expected = yield* previewPass({})
              const context = `round ${round}, after: ${done.slice(-3).join(", ")}`
              // `ccat plan` and `ccat status` preview from the loop's memory, and leave it as it was.
              const memoryBefore = yield* loopMemory
              const fromMemory = yield* previewPass({ fromMemory: true })
              expect(standing(fromMemory), context).toEqual(standing(expected))
              expect(fromMemory.created, context).toBe(expected.created)
              expect(yield* loopMemory, context).toEqual(memoryBefore)
              for (const s of fromMemory.steps) {
                if (s.incremental === true || s.remembered === true) previewStepsFromMemory++
              }
              // `ccat why <step> <key>` from memory says what it says after a full evaluation: one
              // sub-group of each remembered reason per step, every fifth round.
              if (round % 5 === 4) {
                const samples = yield* sql<{ step: string; key: string }>`
                SELECT DISTINCT ON (s.step_id, s.reason) rs.name AS step, s.sub_group_key AS key
                FROM trigger_sub_group_state s JOIN reduction_step rs ON rs.id = s.step_id
                JOIN pipeline p ON p.id = rs.pipeline_id
                WHERE p.name = 'chai_standing' ORDER BY s.step_id, s.reason, s.sub_group_key`
                // Runs the preview itself creates (upstream of the step explained) take new ids
                // from the sequence each time: those are compared as "new".
                const [newest] = yield* sql<{ id: number }>`SELECT coalesce(max(id), 0)::int AS id FROM executed_reduction_step`
                const last = newest!.id
                const newIds = (lines: ReadonlyArray<string>) =>
                  lines.map((l) => l.replace(/\brun (\d+)/g, (m, id: string) => (Number(id) > last ? "run <new>" : m)))
                for (const { step, key } of samples) {
                  const target = { pipeline: "chai_standing", step, subGroupKey: key }
                  const fromMemory = yield* explainWhy(target)
                  const full = yield* withoutLoopMemory(explainWhy(target))
                  expect(newIds(fromMemory), `${context}: why ${step} ${key}`).toEqual(newIds(full))
                  explainedFromMemory++
                }
                // `ccat status`: gap counts and oldest waiting inputs, from memory as without.
                const status = yield* statusReport
                expect(status, context).toEqual(yield* withoutLoopMemory(statusReport))
                if (status.steps.some((s) => s.oldestWaiting !== null)) statusWithWaiting++
              }
              const pass = yield* evaluatePass({ remember: true })
              expect(standing(pass), context).toEqual(standing(expected))
              expect(pass.created, context).toBe(expected.created)
              for (const s of pass.steps) {
                if (s.incremental === true) incrementalSteps++
              }
            }
            // The comparisons above mean something only if most passes were incremental.
            expect(incrementalSteps).toBeGreaterThan(30)
            expect(previewStepsFromMemory).toBeGreaterThan(60)
            expect(done.filter((d) => corrections.includes(d as Correction)).length).toBeGreaterThan(3)
            expect(explainedFromMemory).toBeGreaterThan(15)
            expect(statusWithWaiting).toBeGreaterThan(2)
            const [runs] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM executed_reduction_step`
            expect(runs!.n).toBeGreaterThan(100)
            // Both modes hash the same text: a run's input identity is the SHA-256 of its step's
            // fingerprint and its inputs' ids and checksums, sorted by id (docs/design/runtime.md §2.4),
            // recomputed here from what the run recorded.
            const recorded = yield* sql<{
              id: string
              fingerprint: string
              input_identity: string
              raw_id: string | null
              product_id: string | null
              checksum: string | null
            }>`
            SELECT r.id, r.fingerprint, r.input_identity, i.raw_data_package_id::text AS raw_id, i.data_product_id::text AS product_id, i.checksum
            FROM executed_reduction_step r JOIN run_input i ON i.run_id = r.id`
            const byRun = new Map<
              string,
              { fingerprint: string; identity: string; raw: Array<[string, string]>; products: Array<[bigint, string]> }
            >()
            for (const row of recorded) {
              const run = byRun.get(row.id) ?? { fingerprint: row.fingerprint, identity: row.input_identity, raw: [], products: [] }
              byRun.set(row.id, run)
              if (row.raw_id !== null) run.raw.push([row.raw_id, `${row.raw_id}=${row.checksum ?? ""}`])
              else run.products.push([BigInt(row.product_id!), `product:${row.product_id}=${row.checksum ?? ""}`])
            }
            for (const [id, run] of byRun) {
              const lines = [
                ...run.raw.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, line]) => line),
                ...run.products.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, line]) => line)
              ]
              const expected = createHash("sha256")
                .update(`${run.fingerprint}\n${lines.join("\n")}`, "utf8")
                .digest("hex")
              expect(run.identity, `run ${id}`).toBe(expected)
            }
            expect(byRun.size).toBe(runs!.n)
          }),
        // 34–40 s alone on PGlite; twice that on a busy CI machine running other files beside it.
        300_000
      )

      it.effect(
        "decides the whole step when a quarter or more of its sub-groups changed, and counts it as the step's full evaluation",
        () =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            const calibrate = (s: PassSummary) => s.steps.find((x) => x.pipeline === "chai_standing" && x.step === "calibrate")!
            const stepId = calibrate(yield* evaluatePass({ remember: true })).stepId
            // The scans of calibrate's sub-groups (it groups by scan), in key order.
            const changeScans = (count: number, salt: string) => sql`
            UPDATE raw_data_package SET checksum = md5(checksum || ${salt})
            WHERE state = 'ARCHIVED' AND executed_obs_unit_id::text IN (
              SELECT sub_group_key FROM trigger_sub_group_state WHERE step_id = ${stepId} ORDER BY sub_group_key LIMIT ${count})`
            // One changed scan: only its sub-group is decided.
            yield* changeScans(1, "one")
            const few = yield* evaluatePass({ remember: true })
            expect(calibrate(few).incremental).toBe(true)
            expect(calibrate(few).decided).toBe(1)
            // 40% of the step's scans changed: the whole step is decided.
            const total = Object.values(calibrate(few).counts).reduce((n, k) => n + (k ?? 0), 0)
            expect(total).toBeGreaterThanOrEqual(50)
            yield* changeScans(Math.ceil(total * 0.4), "many")
            yield* TestClock.adjust(Duration.minutes(1))
            const expected = yield* previewPass({})
            const many = yield* evaluatePass({ remember: true })
            expect(calibrate(many).incremental).toBeUndefined()
            expect(calibrate(many).decided).toBe(Object.values(calibrate(expected).counts).reduce((n, k) => n + (k ?? 0), 0))
            expect(standing(many)).toEqual(standing(expected))
            expect(many.created).toBe(expected.created)
            const [memo] = yield* sql<{ full_at: Date }>`SELECT full_at FROM trigger_step_state WHERE step_id = ${stepId}`
            expect(new Date(memo!.full_at).getTime()).toBe(many.at.getTime())
            // Downstream, sub-groups that wait for upstream runs in flight cost nothing to decide:
            // baseline stays incremental while the new calibrations run...
            const baseline = (s: PassSummary) => s.steps.find((x) => x.pipeline === "chai_standing" && x.step === "baseline")!
            expect(baseline(many).incremental).toBe(true)
            expect(baseline(many).counts.WAITING_UPSTREAM ?? 0).toBeGreaterThanOrEqual(Math.ceil(total * 0.4))
            // ...and is decided whole once they have completed and its inputs must be looked up.
            yield* endRunsInFlight(1, "COMPLETED", 2001)
            yield* TestClock.adjust(Duration.minutes(1))
            const settledExpected = yield* previewPass({})
            const settled = yield* evaluatePass({ remember: true })
            expect(baseline(settled).incremental).toBeUndefined()
            expect(standing(settled)).toEqual(standing(settledExpected))
            expect(settled.created).toBe(settledExpected.created)
          })
      )

      it.effect("status from memory finds the oldest waiting input in a sub-group the loop left in cooldown", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const calibrate = (s: PassSummary) => s.steps.find((x) => x.pipeline === "chai_standing" && x.step === "calibrate")!
          // Settle: everything completed, past every cooldown.
          for (let n = 0; n < 4; n++) {
            yield* endRunsInFlight(1, "COMPLETED", 4000 + n)
            yield* TestClock.adjust(Duration.days(2))
            yield* evaluatePass({ remember: true })
          }
          // The oldest scan's data changes twice within calibrate's cooldown (a minute): its second
          // change waits in COOLDOWN, remembered by the loop and not dirty any more.
          const [oldest] = yield* sql<{ key: string }>`
            SELECT executed_obs_unit_id::text AS key FROM raw_data_package WHERE state = 'ARCHIVED' ORDER BY archived_at LIMIT 1`
          const change = (salt: string) => sql`
            UPDATE raw_data_package SET checksum = md5(checksum || ${salt}) WHERE executed_obs_unit_id::text = ${oldest!.key}`
          yield* change("first")
          expect(calibrate(yield* evaluatePass({ remember: true })).counts.NEW_DATA).toBe(1)
          yield* endRunsInFlight(1, "COMPLETED", 4100)
          yield* change("second")
          yield* TestClock.adjust(Duration.seconds(10))
          const held = calibrate(yield* evaluatePass({ remember: true }))
          expect(held.counts.COOLDOWN).toBe(1)
          // New data elsewhere: the step is dirty again, the scan in cooldown is not.
          yield* seedMore({ scans: 1 })
          yield* TestClock.adjust(Duration.seconds(10))
          const status = yield* statusReport
          const full = yield* withoutLoopMemory(statusReport)
          expect(status).toEqual(full)
          const [archived] = yield* sql<{ at: Date }>`
            SELECT min(archived_at) AS at FROM raw_data_package WHERE executed_obs_unit_id::text = ${oldest!.key} AND state = 'ARCHIVED'`
          expect(status.steps.find((s) => s.step === "calibrate" && s.pipeline === "chai_standing")!.oldestWaiting?.at).toEqual(
            new Date(archived!.at)
          )
        })
      )

      // Two sessions at once: PGlite serves one at a time (the preview would wait for the pool).
      if (backend === "postgres") {
        it.effect("a preview from memory that a loop pass overtakes evaluates the step again in full", () =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            // Settled: nothing in flight, no cooldown.
            for (let n = 0; n < 3; n++) {
              yield* endRunsInFlight(1, "COMPLETED", 3001 + n)
              yield* TestClock.adjust(Duration.days(2))
              yield* evaluatePass({ remember: true })
            }
            yield* endRunsInFlight(1, "COMPLETED", 3010)
            yield* evaluatePass({ remember: true })
            yield* seedMore({ scans: 1 })
            // The run a loop pass would create for the new scan, and the preview too.
            const explained = yield* previewPass({ only: { pipeline: "chai_standing", step: "calibrate" }, explain: {} })
            const calibrate = explained.steps.find((x) => x.step === "calibrate")!
            const fresh = calibrate.decisions!.filter((d) => d.creates)
            expect(fresh.map((d) => d.reason)).toEqual(["NEW_DATA"])
            // Another instance's pass, played by hand in its own session: it inserts that run and
            // remembers the step, and commits only once the preview waits on its uncommitted run.
            const inserted = yield* Deferred.make<void>()
            const release = yield* Deferred.make<void>()
            const otherPass = yield* sql
              .withTransaction(
                Effect.gen(function* () {
                  yield* sql`
                    WITH run AS (
                      INSERT INTO executed_reduction_step (step_id, sub_group_key, input_identity, fingerprint, status, reason, software_version, image, config)
                      SELECT step_id, ${fresh[0]!.subGroupKey}, ${fresh[0]!.inputIdentity}, fingerprint, 'PENDING', 'NEW_DATA', software_version, image, config
                      FROM executed_reduction_step WHERE step_id = ${calibrate.stepId} ORDER BY id DESC LIMIT 1
                      RETURNING id)
                    INSERT INTO run_event (run_id, actor, from_status, to_status, reason) SELECT id, 'other', NULL, 'PENDING', 'NEW_DATA' FROM run`
                  yield* sql`UPDATE trigger_step_state SET evaluated_at = evaluated_at + interval '1 second' WHERE step_id = ${calibrate.stepId}`
                  yield* Deferred.succeed(inserted, undefined)
                  yield* Deferred.await(release)
                })
              )
              .pipe(Effect.fork)
            yield* Deferred.await(inserted)
            const preview = yield* Effect.fork(previewPass({ fromMemory: true }))
            // Wait until the preview's insert of the same run waits for the other session.
            yield* sql<{ n: number }>`
              SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`.pipe(
              Effect.repeat({ until: ([row]) => (row?.n ?? 0) > 0, schedule: Schedule.spaced("20 millis") }),
              Effect.timeout("20 seconds"),
              // Real time for the polling: the test's clock stands still.
              TestServices.provideLive
            )
            yield* Deferred.succeed(release, undefined)
            yield* Fiber.join(otherPass)
            const seen = yield* Fiber.join(preview)
            // The memory it started from was overtaken: the step was evaluated again in full and
            // finds the other pass's run in flight, as a full evaluation now does.
            const previewed = seen.steps.find((x) => x.stepId === calibrate.stepId)!
            expect(previewed.incremental).toBeUndefined()
            expect(previewed.counts.NEW_DATA).toBeUndefined()
            expect(previewed.counts.IN_FLIGHT).toBe(1)
            expect(standing(seen)).toEqual(standing(yield* previewPass({})))
          })
        )
      }
    })
  })
}
