import { SqlClient, type SqlError } from "@effect/sql"
import { Duration, Effect } from "effect"
import { transition, type RunStatus } from "./run-status.ts"

/*
 * A failed attempt (runtime.md §3): the run is FAILED with the reason; while
 * `retry_count < retries` it goes straight back to PENDING in the same transaction, after a
 * backoff that doubles with each attempt. The run's own `reason` (why it was created) never
 * changes; `failure_reason` holds the latest attempt's, and the event log every attempt's.
 * Because FAILED is never visible between attempts, the trigger can treat every FAILED run as
 * failed for good.
 */

export interface FailedAttempt {
  readonly runId: number
  readonly from: ReadonlyArray<RunStatus>
  /** `EXIT_CODE 3`, `TIMEOUT`, `LOST`, `STAGING_FAILED: ...`. */
  readonly reason: string
  readonly retryCount: number
  readonly retries: number
  readonly backoff: Duration.Duration
  readonly now: Date
  readonly actor: string
}

/** Returns "retried" or "failed"; "skipped" when the run had already moved on. */
export const failAttempt = (a: FailedAttempt): Effect.Effect<"retried" | "failed" | "skipped", SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return yield* sql.withTransaction(
      Effect.gen(function* () {
        const failed = yield* transition({
          runId: a.runId,
          from: a.from,
          to: "FAILED",
          actor: a.actor,
          reason: a.reason,
          now: a.now,
          set: [sql`failure_reason = ${a.reason}`, sql`finished_at = ${a.now}`, sql`lease_until = NULL`]
        })
        if (!failed) return "skipped" as const
        if (a.retryCount >= a.retries) return "failed" as const
        const wait = Duration.toMillis(a.backoff) * 2 ** a.retryCount
        yield* transition({
          runId: a.runId,
          from: ["FAILED"],
          to: "PENDING",
          actor: a.actor,
          reason: `RETRY ${a.retryCount + 1} of ${a.retries} (after ${a.reason})`,
          now: a.now,
          set: [
            sql`retry_count = retry_count + 1`,
            sql`next_attempt_at = ${new Date(a.now.getTime() + wait)}`,
            sql`job_name = NULL`,
            sql`backend_job_id = NULL`,
            sql`finished_at = NULL`
          ]
        })
        return "retried" as const
      })
    )
  })
