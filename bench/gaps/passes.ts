import { SqlClient } from "@effect/sql"
import { Duration, Effect } from "effect"
import { performance } from "node:perf_hooks"
import { evaluatePass, passSummaryLine, type PassOptions, type PassSummary } from "../../src/runtime/gaps/evaluate-pass.ts"
import { previewPass } from "../../src/runtime/gaps/preview.ts"
import { fmt, log, ms } from "./report.ts"
import { profiled, type StatementTiming } from "./statement-profile.ts"

// ---------------------------------------------------------------------------------------------
// Passes and the simulated collect loop.
// ---------------------------------------------------------------------------------------------

const MAX_SETTLE_PASSES = 10

export interface TimedPass {
  readonly summary: PassSummary
  readonly ms: number
  readonly timings: ReadonlyArray<StatementTiming>
}

const timed = (options: PassOptions): Effect.Effect<TimedPass, unknown, SqlClient.SqlClient> =>
  Effect.suspend(() => {
    const timings: Array<StatementTiming> = []
    const start = performance.now()
    return profiled(evaluatePass(options), timings).pipe(Effect.map((summary) => ({ summary, ms: performance.now() - start, timings })))
  })

/** A full evaluation of every step, as `ccat plan` and the periodic reconciliation do it. */
export const timedPass = timed({ actor: "bench" })

/**
 * The trigger loop's pass: remembering, so it evaluates only the sub-groups that changed. The
 * full-pass interval is a day here so every timed pass is incremental; what the periodic full
 * evaluation costs is the full pass above.
 */
export const timedLoopPass = timed({ actor: "bench", remember: true, fullEvery: Duration.hours(24) })

/**
 * `ccat plan`'s and `ccat status`'s preview (preview.ts): a pass from the loop's memory inside
 * a transaction that is rolled back, writing nothing to the memory.
 */
export const timedPreview = Effect.suspend(() => {
  const timings: Array<StatementTiming> = []
  const start = performance.now()
  return profiled(previewPass({ actor: "bench", fromMemory: true }), timings).pipe(
    Effect.map((summary): TimedPass => ({ summary, ms: performance.now() - start, timings }))
  )
})

/** Every PENDING run completes with one SCIENCE product and an event, as the collect loop would. */
const completePending = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [row] = yield* sql<{ n: number }>`
    WITH done AS (
      UPDATE executed_reduction_step
      SET status = 'COMPLETED', updated_at = now(), submitted_at = now(), finished_at = now(), exit_code = 0, wall_seconds = 600
      WHERE status = 'PENDING'
      RETURNING id, step_id, sub_group_key
    ),
    products AS (
      INSERT INTO data_product (run_id, product_type, relative_path, size_bytes, checksum)
      SELECT id, 'SCIENCE', 'products/' || step_id || '/' || sub_group_key || '/' || id || '.fits', 50000000,
        encode(sha256(convert_to('ccat-bench/product/' || id, 'UTF8')), 'hex')
      FROM done
    ),
    events AS (
      INSERT INTO run_event (run_id, at, actor, from_status, to_status, reason)
      SELECT id, now(), 'bench', 'PENDING', 'COMPLETED', 'collected' FROM done
    )
    SELECT count(*)::int AS n FROM done`
  return row?.n ?? 0
})

/** Complete and pass until a pass creates nothing and nothing is pending; returns the passes run. */
export const settle = (label: string, verbose: boolean, passOnce: Effect.Effect<TimedPass, unknown, SqlClient.SqlClient> = timedPass) =>
  Effect.gen(function* () {
    for (let i = 1; i <= MAX_SETTLE_PASSES; i++) {
      const completed = yield* completePending
      const pass = yield* passOnce
      if (verbose)
        log(label, `  settle ${i}: completed ${fmt(completed)} runs, then ${passSummaryLine(pass.summary)} (${ms(pass.ms)} wall)`)
      if (pass.summary.created === 0 && completed === 0) return i
      if (pass.summary.created === 0) {
        // Nothing created and nothing left pending: settled.
        const sql = yield* SqlClient.SqlClient
        const [pending] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM executed_reduction_step WHERE status = 'PENDING'`
        if ((pending?.n ?? 0) === 0) return i
      }
    }
    return yield* Effect.dieMessage(`bench/gaps: passes did not settle within ${MAX_SETTLE_PASSES} rounds`)
  })

export const analyze = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe("VACUUM ANALYZE")
})
