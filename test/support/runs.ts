import { SqlClient, type SqlError } from "@effect/sql"
import { Clock, Effect } from "effect"
import { createHash } from "node:crypto"
import { inFlightStatuses, transition, type RunStatus } from "../../src/runtime/execution/run-status.ts"

/*
 * Test stand-ins for the submit and collect loops (docs/design/runtime.md §3.5, §3.9), for tests
 * that need runs in a given state without running the loops: they move runs the trigger created
 * through the runtime's own `transition()` (status, event and columns in one statement), so that
 * gap tests can say "this run completed with these products" or "that one failed for good".
 * Timestamps come from the Effect Clock (so TestClock controls them), and a helper refuses (dies)
 * when asked to move a run that is not in flight: a scenario that completes the wrong run should
 * fail loudly, not pass by accident.
 */

export { inFlightStatuses }

export type ProductType = "SCIENCE" | "QA_METRIC" | "PLOT" | "STATISTICS" | "LOG" | "INTERMEDIATE"

export interface ProductSpec {
  readonly type: ProductType
  readonly path: string
  /** Default: derived from the run id and path, so every product of every run differs. */
  readonly checksum?: string
  readonly sizeBytes?: number
}

/** A run as the scenarios look at it. */
export interface RunRow {
  readonly id: number
  readonly sub_group_key: string
  readonly status: string
  readonly reason: string
  readonly software_version: string
  readonly request_tag: string
  readonly created_at: Date
}

/** One SCIENCE product, `science/out.fits`. */
export const defaultProducts: ReadonlyArray<ProductSpec> = [{ type: "SCIENCE", path: "science/out.fits" }]

/** The checksum a product gets when the spec gives none. */
export const productChecksum = (runId: number, path: string): string => createHash("sha256").update(`run-${runId}/${path}`).digest("hex")

const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

/**
 * Moves an in-flight run to `to` through the runtime's own transition (status, event and the
 * given extra columns in one statement). Dies when the run does not exist or is not in flight.
 */
const moveRun = (
  runId: number,
  to: RunStatus,
  why: string,
  extra: { readonly failureReason?: string; readonly finished?: boolean; readonly submitted?: boolean } = {}
): Effect.Effect<void, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const at = yield* now
    const moved = yield* transition({
      runId,
      from: inFlightStatuses,
      to,
      actor: "test",
      reason: why,
      now: at,
      set: [
        ...(extra.failureReason === undefined ? [] : [sql`failure_reason = ${extra.failureReason}`]),
        ...(extra.finished === true ? [sql`finished_at = ${at}`] : []),
        ...(extra.submitted === true ? [sql`submitted_at = ${at}`] : []),
        // A run that ran had an attempt: the submit loop counts them as it stages each.
        ...(to === "RUNNING" || to === "COMPLETED" || to === "FAILED" ? [sql`attempt = greatest(attempt, retry_count + 1)`] : [])
      ]
    })
    if (!moved) {
      const [row] = yield* sql<{ status: string }>`SELECT status FROM executed_reduction_step WHERE id = ${runId}`
      return yield* Effect.dieMessage(
        row === undefined ? `run ${runId} does not exist` : `run ${runId} is ${row.status}, not in flight: cannot move it to ${to}`
      )
    }
  })

/** The backend started the job: RUNNING. */
export const startRun = (runId: number) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql.withTransaction(moveRun(runId, "RUNNING", "job started", { submitted: true })))

/**
 * The run finished: COMPLETED, with its products (default: one SCIENCE product,
 * `science/out.fits`, checksum derived from the run id, size 1).
 */
export const completeRun = (runId: number, products: ReadonlyArray<ProductSpec> = defaultProducts) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const at = yield* now
    yield* sql.withTransaction(
      Effect.gen(function* () {
        yield* moveRun(runId, "COMPLETED", "job finished", { finished: true })
        for (const p of products) {
          yield* sql`
            INSERT INTO data_product (run_id, product_type, relative_path, size_bytes, checksum, created_at)
            VALUES (${runId}, ${p.type}, ${p.path}, ${p.sizeBytes ?? 1}, ${p.checksum ?? productChecksum(runId, p.path)}, ${at})`
        }
      })
    )
  })

/**
 * The run failed. `final: true`: for good (FAILED, no retry left; the trigger must not retry
 * it). `final: false`: an attempt failed with retries left, and the collect loop put it back as
 * PENDING with `retry_count + 1` (docs/design/runtime.md §3.12), so it is in flight again; both events are
 * logged.
 */
export const failRun = (runId: number, options: { readonly final: boolean; readonly reason?: string }) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const reason = options.reason ?? "exit code 1"
    yield* sql.withTransaction(
      Effect.gen(function* () {
        yield* moveRun(runId, "FAILED", reason, { failureReason: reason, finished: true })
        if (!options.final) {
          yield* transition({
            runId,
            from: ["FAILED"],
            to: "PENDING",
            actor: "test",
            reason: `retry: ${reason}`,
            now: yield* now,
            set: [sql`retry_count = retry_count + 1`, sql`finished_at = NULL`]
          })
        }
      })
    )
  })

/** A person cancelled the run: CANCELLED. */
export const cancelRun = (runId: number) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql.withTransaction(moveRun(runId, "CANCELLED", "cancelled by test", { finished: true })))

/** Every run of a step, oldest first. */
export const runsOf = (pipeline: string, step: string): Effect.Effect<ReadonlyArray<RunRow>, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<Omit<RunRow, "id"> & { readonly id: string }>`
      SELECT r.id, r.sub_group_key, r.status, r.reason, r.software_version, r.request_tag, r.created_at
      FROM executed_reduction_step r
      JOIN reduction_step s ON s.id = r.step_id
      JOIN pipeline p ON p.id = s.pipeline_id
      WHERE p.name = ${pipeline} AND s.name = ${step}
      ORDER BY r.id`
    return rows.map((r) => ({ ...r, id: Number(r.id), created_at: new Date(r.created_at) }))
  })

/** The in-flight runs of a step, oldest first. */
export const inFlightRunsOf = (pipeline: string, step: string) =>
  Effect.map(runsOf(pipeline, step), (runs) => runs.filter((r) => (inFlightStatuses as ReadonlyArray<string>).includes(r.status)))

/** Completes every in-flight run of a step (with the same products each); returns them. */
export const completeAll = (pipeline: string, step: string, products?: ReadonlyArray<ProductSpec>) =>
  Effect.gen(function* () {
    const runs = yield* inFlightRunsOf(pipeline, step)
    for (const run of runs) yield* completeRun(run.id, products)
    return runs
  })

/**
 * End a share of all runs in flight at once (chosen by a hash of id and salt), each through the
 * same lifecycle helpers as above: COMPLETED with the default product, FAILED for good, or
 * CANCELLED. For tests that drive many runs through passes without naming them. One
 * transaction, so a pass never sees half of the share ended.
 */
export const endRunsInFlight = (fraction: number, to: "COMPLETED" | "FAILED" | "CANCELLED", salt: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const chosen = yield* sql<{ id: string }>`
      SELECT id FROM executed_reduction_step
      WHERE status IN ${sql.in(inFlightStatuses)} AND abs(hashtext(id::text || ${String(salt)})) % 100 < ${Math.round(fraction * 100)}
      ORDER BY id`
    const end = (runId: number) =>
      to === "COMPLETED" ? completeRun(runId) : to === "FAILED" ? failRun(runId, { final: true }) : cancelRun(runId)
    yield* sql.withTransaction(Effect.forEach(chosen, (row) => end(Number(row.id)), { discard: true }))
  })
