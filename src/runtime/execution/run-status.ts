import { SqlClient, type SqlError, type Statement } from "@effect/sql"
import { Effect } from "effect"

/*
 * Every status change of a run goes through here: one statement updates the run only if it is
 * still in one of the expected statuses, and appends the change to the run event log (who,
 * when, from, to, why). A change that finds the run elsewhere (another instance got there
 * first, a person cancelled it) does nothing and says so.
 */

/** Every status, in the order a run passes through them (the CHECK of executed_reduction_step). */
export const runStatuses = [
  "PENDING",
  "STAGING_DATA",
  "SUBMITTED",
  "RUNNING",
  "COLLECTING_RESULTS",
  "COMPLETED",
  "FAILED",
  "CANCELLED"
] as const

export type RunStatus = (typeof runStatuses)[number]

export const inFlightStatuses: ReadonlyArray<RunStatus> = ["PENDING", "STAGING_DATA", "SUBMITTED", "RUNNING", "COLLECTING_RESULTS"]

/** A run whose job the backend has. */
export const jobStatuses: ReadonlyArray<RunStatus> = ["SUBMITTED", "RUNNING"]

/** A run an instance works on under a lease (lease.ts). */
export const leasedStatuses: ReadonlyArray<RunStatus> = ["STAGING_DATA", "COLLECTING_RESULTS"]

/** A run that ended without products. */
export const endedWithoutProductsStatuses: ReadonlyArray<RunStatus> = ["FAILED", "CANCELLED"]

export interface Transition {
  readonly runId: number
  readonly from: ReadonlyArray<RunStatus>
  readonly to: RunStatus
  readonly actor: string
  readonly reason: string
  readonly now: Date
  /** Further `column = value` assignments, e.g. sql`backend_job_id = ${id}`. */
  readonly set?: ReadonlyArray<Statement.Fragment>
  /** A further condition the run must meet, checked in the same statement (a lease: lease.ts). */
  readonly when?: Statement.Fragment
}

/**
 * The columns that tie a run to its last job, cleared whenever it goes back to PENDING for
 * another attempt (retry, a paused attempt, `ccat retry`): the next attempt gets a job of its own.
 */
export const jobReleased = (sql: SqlClient.SqlClient): Array<Statement.Fragment> => [
  sql`job_name = NULL`,
  sql`backend_job_id = NULL`,
  sql`finished_at = NULL`
]

/** Applies the transition; true when the run was in an expected status and changed. */
export const transition = (t: Transition): Effect.Effect<boolean, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const assignments = sql.join(", ", false)([sql`status = ${t.to}`, sql`updated_at = ${t.now}`, ...(t.set ?? [])])
    const rows = yield* sql<{ id: string }>`
      WITH old AS (
        SELECT id, status FROM executed_reduction_step WHERE id = ${t.runId} AND status IN ${sql.in(t.from)} AND ${t.when ?? sql`TRUE`} FOR UPDATE
      ),
      changed AS (
        UPDATE executed_reduction_step r SET ${assignments} FROM old WHERE r.id = old.id RETURNING r.id, old.status AS from_status
      ),
      event AS (
        INSERT INTO run_event (run_id, at, actor, from_status, to_status, reason)
        SELECT id, ${t.now}, ${t.actor}, from_status, ${t.to}, ${t.reason} FROM changed
      )
      SELECT id FROM changed`
    return rows.length > 0
  })

/**
 * An event that changes no status: something worth knowing about the run (a job found under its
 * name and not adopted). Written with the run's status as both from and to.
 */
export const recordRunEvent = (e: {
  readonly runId: number
  readonly actor: string
  readonly reason: string
  readonly now: Date
}): Effect.Effect<void, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`
      INSERT INTO run_event (run_id, at, actor, from_status, to_status, reason)
      SELECT id, ${e.now}, ${e.actor}, status, status, ${e.reason} FROM executed_reduction_step WHERE id = ${e.runId}`
  })
