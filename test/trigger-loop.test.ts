import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { afterAll, describe, expect, layer } from "@effect/vitest"
import { Clock, Duration, Effect, Fiber, Layer, Logger, Queue, TestClock } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { compileSources } from "../src/compiler/compile.ts"
import { seedDemo, seedMore } from "../src/db/seed/index.ts"
import { applyWorkspace } from "../src/definitions/apply.ts"
import { evaluatePass, type PassSummary } from "../src/runtime/gaps/evaluate-pass.ts"
import { isCreateReason } from "../src/runtime/gaps/reasons.ts"
import { runTriggerLoop } from "../src/runtime/trigger-loop.ts"
import { testBackends, testDatabase } from "./support/databases.ts"
import { loadCcatFiles, repoRoot } from "./support/workspace.ts"

// The trigger loop against one database: two instances racing for many passes create every
// run exactly once, and a loop wakes up on new data well before its interval.

const archives: Array<string> = []
afterAll(() => {
  for (const dir of archives) rmSync(dir, { recursive: true, force: true })
})

const seedAndApply = Effect.gen(function* () {
  const archiveDir = mkdtempSync(join(tmpdir(), "ccat-trigger-loop-"))
  archives.push(archiveDir)
  yield* seedDemo({ archiveDir })
  yield* applyWorkspace(compileSources(loadCcatFiles(join(repoRoot, "pipelines", "chai"))).ir!, { createdBy: "trigger-loop-test" })
})

/** Play the submit and collect loops: every in-flight run completes with one science product (and its event, as ccat writes it). */
const completeInFlight = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    WITH done AS (
      UPDATE executed_reduction_step SET status = 'COMPLETED', finished_at = now(), updated_at = now()
      WHERE status IN ('PENDING', 'STAGING_DATA', 'SUBMITTED', 'RUNNING', 'COLLECTING_RESULTS') RETURNING id),
    events AS (
      INSERT INTO run_event (run_id, actor, from_status, to_status, reason) SELECT id, 'test', 'PENDING', 'COMPLETED', 'test' FROM done)
    INSERT INTO data_product (run_id, product_type, relative_path, size_bytes, checksum)
    SELECT id, 'SCIENCE', 'science/out.fits', 1, md5(id::text) FROM done`
})

for (const backend of testBackends) {
  describe(`trigger loop on ${backend}`, () => {
    layer(Layer.merge(testDatabase(backend, { pglitePool: 1 }), NodeContext.layer), { timeout: 120_000 })((it) => {
      it.effect("two trigger instances racing for many passes create every run exactly once", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* seedAndApply
          yield* TestClock.setTime(Date.parse("2026-12-01T00:00:00Z"))
          let createdByPasses = 0
          for (let round = 0; round < 12; round++) {
            // Both instances evaluate at the same moment, on overlapping transactions.
            const [a, b] = yield* Effect.all([evaluatePass({ actor: "a" }), evaluatePass({ actor: "b" })], { concurrency: 2 })
            createdByPasses += a.created + b.created
            if (round % 3 === 1) yield* seedMore({ scans: 4 })
            if (round % 2 === 1) yield* completeInFlight
            // Past every cooldown (the map's is a day).
            yield* TestClock.adjust(Duration.days(2))
          }
          // Settle: complete and evaluate until nothing is left to create.
          for (let n = 0; n < 4; n++) {
            yield* completeInFlight
            createdByPasses += (yield* evaluatePass({})).created
          }
          const last = yield* evaluatePass({})
          expect(last.created).toBe(0)
          for (const step of last.steps) {
            expect(Object.keys(step.counts).filter(isCreateReason), `${step.step}: ${JSON.stringify(step.counts)}`).toEqual([])
          }
          const [runs] = yield* sql<{ n: number; identities: number; events: number }>`
            SELECT count(*)::int AS n,
              count(DISTINCT (step_id, sub_group_key, input_identity))::int AS identities,
              (SELECT count(*)::int FROM run_event WHERE from_status IS NULL) AS events
            FROM executed_reduction_step`
          // Every run is counted by exactly one pass, has its own identity and one creation event.
          expect(runs!.n).toBe(createdByPasses)
          expect(runs!.identities).toBe(runs!.n)
          expect(runs!.events).toBe(runs!.n)
          // Every scan was calibrated and baselined exactly once (no run ever failed or changed).
          const perStep = yield* sql<{ name: string; runs: number; sub_groups: number }>`
            SELECT s.name, count(*)::int AS runs, count(DISTINCT r.sub_group_key)::int AS sub_groups
            FROM executed_reduction_step r JOIN reduction_step s ON s.id = r.step_id GROUP BY s.name ORDER BY s.name`
          const [scans] = yield* sql<{ n: number }>`
            SELECT count(DISTINCT p.executed_obs_unit_id)::int AS n FROM raw_data_package p
            JOIN instrument_module m ON m.id = p.instrument_module_id JOIN instrument i ON i.id = m.instrument_id
            WHERE i.name = 'CHAI' AND p.state = 'ARCHIVED'`
          const byName = Object.fromEntries(perStep.map((r) => [r.name, r]))
          expect(byName["calibrate"]).toEqual({ name: "calibrate", runs: scans!.n, sub_groups: scans!.n })
          expect(byName["baseline"]).toEqual({ name: "baseline", runs: scans!.n, sub_groups: scans!.n })
          expect(byName["map"]!.runs).toBeGreaterThanOrEqual(byName["map"]!.sub_groups)
        })
      )

      it.effect(
        "a remembering pass skips the steps nothing changed for, and looks again after new data, a run's end or a due cooldown",
        () =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            yield* TestClock.adjust(Duration.days(2))
            // The standing pipeline's steps (the manual pipelines are not evaluated without a request).
            const standing = (p: PassSummary) => p.steps.filter((s) => s.pipeline === "chai_standing")
            const first = yield* evaluatePass({ remember: true })
            expect(standing(first).every((s) => s.remembered !== true)).toBe(true)
            const again = yield* evaluatePass({ remember: true })
            expect(standing(again).map((s) => s.remembered)).toEqual([true, true, true])
            expect(standing(again).map((s) => s.counts)).toEqual(standing(first).map((s) => s.counts))
            // New data: every step looks again.
            yield* seedMore({ scans: 1 })
            const afterData = yield* evaluatePass({ remember: true })
            expect(standing(afterData).every((s) => s.remembered !== true)).toBe(true)
            expect(afterData.created).toBeGreaterThan(0)
            // Its own new runs changed the world once more; then it rests.
            yield* evaluatePass({ remember: true })
            expect(standing(yield* evaluatePass({ remember: true })).every((s) => s.remembered === true)).toBe(true)
            // A run that ends: looked at again, and its downstream step now has work.
            yield* completeInFlight
            const afterRun = yield* evaluatePass({ remember: true })
            expect(standing(afterRun).every((s) => s.remembered !== true)).toBe(true)
            // A change of a calibrated scan's data within the cooldown: held, and remembered until the cooldown ends.
            yield* completeInFlight
            yield* evaluatePass({ remember: true })
            yield* completeInFlight
            yield* evaluatePass({ remember: true })
            yield* sql`UPDATE raw_data_package SET checksum = 'changed-again' WHERE id = (
            SELECT ri.raw_data_package_id FROM run_input ri JOIN executed_reduction_step r ON r.id = ri.run_id
            JOIN reduction_step s ON s.id = r.step_id WHERE s.name = 'calibrate' ORDER BY r.id DESC LIMIT 1)`
            const held = yield* evaluatePass({ remember: true })
            const calibrate = held.steps.find((s) => s.step === "calibrate")!
            expect(calibrate.counts.COOLDOWN).toBe(1)
            expect((yield* evaluatePass({ remember: true })).steps.find((s) => s.step === "calibrate")!.remembered).toBe(true)
            yield* TestClock.adjust(Duration.seconds(61))
            const due = (yield* evaluatePass({ remember: true })).steps.find((s) => s.step === "calibrate")!
            expect(due.remembered).not.toBe(true)
            expect(due.counts.NEW_DATA).toBe(1)
            // Leave the world settled for the next test.
            for (let n = 0; n < 6; n++) {
              yield* completeInFlight
              yield* TestClock.adjust(Duration.days(2))
              if ((yield* evaluatePass({})).created === 0) break
            }
          })
      )

      it.effect(
        "the periodic full evaluations come one step per pass, the longest-waiting first, and the steps waiting go on incrementally",
        () =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            const standing = (p: PassSummary) => p.steps.filter((s) => s.pipeline === "chai_standing")
            const inFull = (p: PassSummary) =>
              standing(p)
                .filter((s) => s.status._tag === "Evaluated" && s.remembered !== true && s.incremental !== true)
                .map((s) => s.step)
            // No memory: every step is evaluated in full at once (there is nothing to go on from).
            yield* sql`DELETE FROM trigger_step_state`
            const start = yield* evaluatePass({ remember: true })
            expect(inFull(start)).toEqual(["calibrate", "baseline", "map"])
            // Past the interval (10 minutes by default) every step is due; one per pass catches up.
            yield* TestClock.adjust(Duration.minutes(11))
            const due = [
              yield* evaluatePass({ remember: true }),
              yield* evaluatePass({ remember: true }),
              yield* evaluatePass({ remember: true })
            ]
            expect(due.map(inFull)).toEqual([["calibrate"], ["baseline"], ["map"]])
            // Meanwhile the others were left alone (nothing changed), with the counts they had.
            expect(
              standing(due[0]!)
                .filter((s) => s.step !== "calibrate")
                .every((s) => s.remembered === true)
            ).toBe(true)
            expect(due.map((p) => standing(p).map((s) => s.counts))).toEqual(due.map(() => standing(start).map((s) => s.counts)))
            expect(inFull(yield* evaluatePass({ remember: true }))).toEqual([])
            // A step waiting its turn still takes new data at once, on its changed sub-groups.
            yield* TestClock.adjust(Duration.minutes(11))
            yield* seedMore({ scans: 1 })
            const withData = yield* evaluatePass({ remember: true })
            expect(inFull(withData)).toEqual(["calibrate"])
            expect(
              standing(withData)
                .filter((s) => s.step !== "calibrate")
                .map((s) => s.incremental)
            ).toEqual([true, true])
            // Leave the world settled for the next test.
            for (let n = 0; n < 6; n++) {
              yield* completeInFlight
              yield* TestClock.adjust(Duration.days(2))
              if ((yield* evaluatePass({})).created === 0) break
            }
          })
      )

      // PostgreSQL delivers NOTIFY, so a loop with an hour's interval wakes up at once. PGlite's
      // socket server does not pass notifications on: there the loop lives on its interval alone.
      const interval = backend === "postgres" ? Duration.hours(1) : Duration.seconds(1)
      const title =
        backend === "postgres"
          ? "a loop with an hour's interval wakes up when new data arrives (NOTIFY)"
          : "without notifications, a loop picks up new data at its next interval"
      it.effect(title, () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const runCount = sql<{ n: number }>`SELECT count(*)::int AS n FROM executed_reduction_step`.pipe(Effect.map((r) => r[0]!.n))
          // The loop's own pass lines say when a pass ended: the test waits for them, not for time.
          const passes = yield* Queue.unbounded<number>()
          const passLogger = Logger.make(({ message }) => {
            const text = (Array.isArray(message) ? message : [message]).map(String).join(" ")
            // Every pass ends in one line starting "trigger" (a summary, a failure, or nothing applied).
            if (text.startsWith("trigger")) Queue.unsafeOffer(passes, Number(/^trigger pass: (\d+) run/.exec(text)?.[1] ?? 0))
          })
          const loop = yield* Effect.fork(runTriggerLoop({ interval, location: null }).pipe(Effect.provide(Logger.add(passLogger))))
          // The first pass runs at once: the runs the previous test left to create.
          yield* Queue.take(passes)
          const afterFirst = yield* runCount
          yield* seedMore({ scans: 3 })
          // Passes until one creates runs (a pass may start before the new scans are committed);
          // on PostgreSQL only a notification can start one before the hour is up.
          let createdByLoop = 0
          for (let n = 0; n < 20 && createdByLoop === 0; n++) createdByLoop = yield* Queue.take(passes)
          const after = yield* runCount
          yield* Fiber.interrupt(loop)
          // Three new scans: three calibrate runs, created long before the hour is up.
          expect(createdByLoop).toBe(3)
          expect(after - afterFirst).toBe(3)
        }).pipe(Effect.withClock(Clock.make()))
      )
    })
  })
}
