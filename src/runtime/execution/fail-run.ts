import { SqlClient, type SqlError, type Statement } from "@effect/sql"
import { Duration, Effect } from "effect"
import { FailureCounters } from "./failure-counters.ts"
import { shouldRetry } from "./retry-policy.ts"
import type { RunContext } from "./run-context.ts"
import { jobReleased, transition, type RunStatus } from "./run-status.ts"

/*
 * A failed attempt (docs/design/runtime.md §3.12): the run is FAILED with the reason; while
 * `retry_count < retries` it goes straight back to PENDING in the same transaction, after a
 * backoff that doubles with each attempt. The run's own `reason` (why it was created) never
 * changes; `failure_reason` holds the latest attempt's, and the event log every attempt's.
 * Because FAILED is never visible between attempts, the trigger can treat every FAILED run as
 * failed for good.
 *
 * Every failed attempt is seen: logged at warning level with run, step, sub-group and reason (so
 * also under `serve --progress`), and counted for /metrics (failure-counters.ts).
 */

export interface FailedAttempt {
  readonly runId: number
  /** Where the run belongs, for the warning and the counters. */
  readonly target: { readonly pipeline: string; readonly step: string; readonly subGroupKey: string }
  readonly from: ReadonlyArray<RunStatus>
  /** A further condition the run must meet (a lease still held: lease.ts); the attempt is "skipped" otherwise. */
  readonly when?: Statement.Fragment
  /** `EXIT_CODE 3`, `TIMEOUT`, `LOST`, `STAGING_FAILED: ...`. */
  readonly reason: string
  readonly retryCount: number
  readonly retries: number
  /** False when the step's retry policy does not retry this reason (or it will not change by asking again). */
  readonly retryable?: boolean
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
          when: a.when,
          set: [sql`failure_reason = ${a.reason}`, sql`finished_at = ${a.now}`, sql`lease_until = NULL`]
        })
        if (!failed) return "skipped" as const
        const { pipeline, step, subGroupKey } = a.target
        yield* (yield* FailureCounters).runFailed(pipeline, step, a.reason)
        const where = `run ${a.runId} (${pipeline}.${step} ${subGroupKey})`
        if (a.retryable === false || a.retryCount >= a.retries) {
          yield* Effect.logWarning(`${where} failed for good: ${a.reason}`)
          return "failed" as const
        }
        const wait = Duration.toMillis(a.backoff) * 2 ** a.retryCount
        yield* Effect.logWarning(
          `${where} failed: ${a.reason}; retry ${a.retryCount + 1} of ${a.retries} in ${Duration.format(Duration.millis(wait))}`
        )
        yield* transition({
          runId: a.runId,
          from: ["FAILED"],
          to: "PENDING",
          actor: a.actor,
          reason: `RETRY ${a.retryCount + 1} of ${a.retries} (after ${a.reason})`,
          now: a.now,
          set: [sql`retry_count = retry_count + 1`, sql`next_attempt_at = ${new Date(a.now.getTime() + wait)}`, ...jobReleased(sql)]
        })
        return "retried" as const
      })
    )
  })

/** A failed attempt of a run the loops hold (its definition says how often it may be retried). */
export const failRunAttempt = (
  run: Pick<RunContext, "runId" | "pipeline" | "step" | "subGroupKey" | "retryCount" | "definition">,
  a: {
    readonly from: ReadonlyArray<RunStatus>
    readonly when?: Statement.Fragment
    readonly reason: string
    readonly backoff: Duration.Duration
    readonly now: Date
    readonly actor: string
    readonly noRetry?: boolean
  }
): Effect.Effect<"retried" | "failed" | "skipped", SqlError.SqlError, SqlClient.SqlClient> =>
  failAttempt({
    runId: run.runId,
    target: { pipeline: run.pipeline, step: run.step, subGroupKey: run.subGroupKey },
    from: a.from,
    when: a.when,
    reason: a.reason,
    retryCount: run.retryCount,
    retries: run.definition.retries,
    // A rejection that will not change by asking again (a partition that does not exist) fails at
    // once; so does a reason the step's `retries … on …` does not name.
    retryable: a.noRetry !== true && shouldRetry(run.definition, run.retryCount, a.reason),
    backoff: a.backoff,
    now: a.now,
    actor: a.actor
  })
