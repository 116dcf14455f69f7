import { SqlClient, type SqlError } from "@effect/sql"
import { Effect } from "effect"
import { inFlightStatuses, jobReleased, transition, type RunStatus } from "../execution/run-status.ts"
import { purgedInputsOf, purgeLockShared } from "../gaps/purge-lock.ts"
import { NotRetryable, OtherRunInFlight, UnknownRun } from "./errors.ts"

/*
 * `ccat retry <run>`: a FAILED or CANCELLED run goes back to PENDING, as the same run (same
 * inputs, software version, image and config, frozen when it was created), for the submit loop
 * to stage and submit again. What changes on the row, and why:
 *
 * - `retry_count` goes up by one when the ended attempt had a job name (it reached the point
 *   where the submit loop names a job), and stays otherwise. So a manual retry of a run that
 *   used up its automatic retries gets exactly one more attempt (the collect loop retries only
 *   while `retry_count < retries`), and a run cancelled before it had a job keeps its count.
 *   The next attempt stages into a folder of its own under a job name of its own (`attempt`),
 *   whatever the count.
 * - cleared: `job_name`, `backend_job_id` (the old job is not this attempt's), `finished_at`
 *   (in flight again), `next_attempt_at` (no backoff: a person asked for it now),
 *   `lease_until` and `lease_owner`, `last_seen_at`.
 * - kept: `failure_reason` (the last failure stays visible until the next attempt ends; the
 *   event log has every attempt's, as the collect loop's own retries keep it too), `reason`
 *   (why the run was created), `run_dir` (the last attempt's folder, until the next attempt is
 *   staged), the metrics of the last attempt until the next one overwrites them.
 * - the event: FAILED/CANCELLED → PENDING, actor the person, reason "RETRY requested by <user>".
 *
 * Refused: a run in any other status; a run whose step is retired; a run whose input products
 * were purged since it ran (its inputs are frozen, and staging would not find them: `ccat run`
 * has them made again, INPUT_PURGED); and while another run of the same (step, sub-group) is in
 * flight, since at most one may be (the partial unique index run_one_in_flight). The check names
 * the other run; the index catches the race with a trigger pass that creates one meanwhile. The
 * purge check holds the purge lock shared, as a trigger pass does, so no purge slips in before
 * the run is PENDING again (a PENDING run's inputs are never purged).
 */

export interface RetryOutcome {
  readonly runId: number
  readonly from: RunStatus
  readonly attempt: number
  /** A newer run of the same sub-group, if any: retrying re-runs older inputs. */
  readonly newerRunId: number | null
  readonly target: string
}

/** The database refused a second run in flight for a (step, sub-group): index run_one_in_flight. */
export const isOneInFlightViolation = (e: SqlError.SqlError): boolean => {
  const cause = e.cause as { readonly code?: unknown; readonly constraint?: unknown; readonly message?: unknown } | undefined
  return (
    cause?.code === "23505" &&
    (cause.constraint === "run_one_in_flight" || (typeof cause.message === "string" && cause.message.includes("run_one_in_flight")))
  )
}

export const retryRun = (request: {
  readonly runId: number
  readonly actor: string
  readonly now: Date
}): Effect.Effect<RetryOutcome, UnknownRun | NotRetryable | OtherRunInFlight | SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const inside = Effect.gen(function* () {
      yield* purgeLockShared
      const [row] = yield* sql<{
        status: RunStatus
        step_id: string
        sub_group_key: string
        retry_count: number
        attempt: number
        job_name: string | null
        pipeline: string
        step: string
        retired: boolean
      }>`
        SELECT r.status, r.step_id, r.sub_group_key, r.retry_count, r.attempt, r.job_name, p.name AS pipeline, s.name AS step,
          (s.retired_generation IS NOT NULL OR p.retired_generation IS NOT NULL) AS retired
        FROM executed_reduction_step r JOIN reduction_step s ON s.id = r.step_id JOIN pipeline p ON p.id = s.pipeline_id
        WHERE r.id = ${request.runId} FOR UPDATE OF r`
      if (row === undefined) return yield* new UnknownRun({ runId: request.runId })
      const target = `${row.pipeline}.${row.step} ${row.sub_group_key}`
      if (row.status !== "FAILED" && row.status !== "CANCELLED") {
        const why =
          row.status === "COMPLETED"
            ? `it is COMPLETED; \`ccat run ${row.pipeline} --step ${row.step} --force\` re-runs its sub-groups`
            : `it is ${row.status}, still in flight; only FAILED or CANCELLED runs can be retried`
        return yield* new NotRetryable({ runId: request.runId, why })
      }
      if (row.retired) {
        return yield* new NotRetryable({
          runId: request.runId,
          why: `step ${row.pipeline}.${row.step} is retired (no longer in the applied definitions)`
        })
      }
      const purged = yield* purgedInputsOf(request.runId)
      if (purged > 0) {
        return yield* new NotRetryable({
          runId: request.runId,
          why: `${purged} of its input products were purged since it ran; \`ccat run ${row.pipeline} --step ${row.step}\` has them made again and runs the step on them`
        })
      }
      const [other] = yield* sql<{ id: string; status: string }>`
        SELECT id, status FROM executed_reduction_step
        WHERE step_id = ${row.step_id} AND sub_group_key = ${row.sub_group_key} AND id <> ${request.runId} AND status IN ${sql.in(inFlightStatuses)}
        ORDER BY id LIMIT 1`
      if (other !== undefined) {
        return yield* new OtherRunInFlight({ runId: request.runId, other: { id: Number(other.id), status: other.status }, target })
      }
      const bump = row.job_name === null ? 0 : 1
      yield* transition({
        runId: request.runId,
        from: [row.status],
        to: "PENDING",
        actor: request.actor,
        reason: `RETRY requested by ${request.actor}`,
        now: request.now,
        set: [
          sql`retry_count = retry_count + ${bump}`,
          ...jobReleased(sql),
          sql`next_attempt_at = NULL`,
          sql`lease_until = NULL`,
          sql`lease_owner = NULL`,
          sql`last_seen_at = NULL`
        ]
      }).pipe(
        Effect.catchIf(isOneInFlightViolation, () => Effect.fail(new OtherRunInFlight({ runId: request.runId, other: null, target })))
      )
      const [newer] = yield* sql<{ id: string }>`
        SELECT id FROM executed_reduction_step
        WHERE step_id = ${row.step_id} AND sub_group_key = ${row.sub_group_key} AND id > ${request.runId}
        ORDER BY id DESC LIMIT 1`
      return {
        runId: request.runId,
        from: row.status,
        attempt: row.attempt + 1,
        newerRunId: newer === undefined ? null : Number(newer.id),
        target
      }
    })
    return yield* sql.withTransaction(inside)
  })
