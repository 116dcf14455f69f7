import { SqlClient, type SqlError } from "@effect/sql"
import { Effect } from "effect"
import type { BackendUnavailable, CancelOutcome as BackendCancelOutcome, ExecutionBackendService } from "../backends/execution-backend.ts"
import { installationId } from "../../db/installation.ts"
import { jobIdentity, judgeFoundJobs } from "../execution/job-identity.ts"
import { transition, type RunStatus } from "../execution/run-status.ts"
import { NoBackend, NotCancellable, UnknownRun } from "./errors.ts"

/*
 * `ccat cancel` (docs/design/runtime.md §3.14).
 *
 * In one transaction that holds the run's row lock from the first read to the commit:
 *   1. the run must be PENDING, STAGING_DATA, SUBMITTED or RUNNING. COLLECTING_RESULTS is
 *      refused: its job has ended and the collect loop is writing its products and final status
 *      in a transaction of its own; cancelling then would throw away finished work.
 *   2. its job, if it may have one, is cancelled on the backend: `backend_job_id` when the
 *      submission was recorded; otherwise, when the run was marked with its job name (the submit
 *      loop marks before it submits), the backend is asked for that name, so a job submitted
 *      just before a crash is not left running: the job that is the run's own by the same
 *      checks as adoption (job-identity.ts), never another database's or user's job of that name.
 *      A run without either (PENDING, or staging not yet marked) has no job, and the backend is
 *      not needed at all.
 *   3. the run moves to CANCELLED through `transition` (event: who, why), `finished_at` set.
 * If the backend cannot be reached, nothing changes (the transaction rolls back) and the
 * command fails. The collect loop cannot race step 3: its own transitions wait for the row
 * lock and then find the run CANCELLED; the submit loop's claim skips locked rows.
 */

/** Where a run's job is: the backend its attempt was submitted to, configured as its location declares. */
export interface JobPlace {
  readonly runId: number
  /** The job, in words: `job 1234` or `job name ccat-…`. */
  readonly job: string
  readonly location: string
  /** The backend the job went to (recorded with its name), else the one the location declares. */
  readonly kind: string
  readonly options: Readonly<Record<string, string | number>>
}

/** How cancel reaches a backend, only when the run has a job. */
export interface BackendAccess {
  /** Run `f` with the backend of the job's place; NoBackend when this command has none for it. */
  readonly use: <A>(
    place: JobPlace,
    f: (backend: ExecutionBackendService) => Effect.Effect<A, BackendUnavailable>
  ) => Effect.Effect<A, BackendUnavailable | NoBackend>
}

/** No backend at all: cancelling a run that has (or may have) a job is refused, naming the job. */
export const noBackendAccess: BackendAccess = { use: (place) => Effect.fail(new NoBackend({ runId: place.runId, job: place.job })) }

export interface CancelRequest {
  readonly runId: number
  readonly actor: string
  /** Why, in the person's words; optional. */
  readonly reason: string | null
  readonly now: Date
}

export interface CancelOutcome {
  readonly runId: number
  readonly from: RunStatus
  /** The run's backend job, if it had one, and what the backend did with it. */
  readonly jobId: string | null
  readonly job: { readonly id: string; readonly backend: string; readonly outcome: BackendCancelOutcome } | null
  readonly eventReason: string
}

/** The statuses cancelRun accepts (step 1 above); also what `ccat cancel` acts on in bulk without --status. */
export const cancellableStatuses: ReadonlyArray<RunStatus> = ["PENDING", "STAGING_DATA", "SUBMITTED", "RUNNING"]

export const cancelRun = (
  request: CancelRequest,
  backend: BackendAccess
): Effect.Effect<CancelOutcome, UnknownRun | NotCancellable | NoBackend | BackendUnavailable | SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const inside = Effect.gen(function* () {
      const [row] = yield* sql<{
        status: RunStatus
        job_name: string | null
        backend_job_id: string | null
        attempt: number
        marked_at: Date | null
        backend: string | null
        location: string
        location_definition: { readonly backend?: { readonly kind?: string; readonly options?: Record<string, string | number> } }
      }>`
        SELECT r.status, r.job_name, r.backend_job_id, r.attempt, r.marked_at, r.backend, l.name AS location, l.definition AS location_definition
        FROM executed_reduction_step r JOIN reduction_step s ON s.id = r.step_id JOIN pipeline p ON p.id = s.pipeline_id JOIN location l ON l.id = p.location_id
        WHERE r.id = ${request.runId} FOR UPDATE OF r`
      if (row === undefined) return yield* new UnknownRun({ runId: request.runId })
      if (!cancellableStatuses.includes(row.status)) return yield* new NotCancellable({ runId: request.runId, status: row.status })
      const place = (job: string): JobPlace => ({
        runId: request.runId,
        job,
        location: row.location,
        kind: row.backend ?? row.location_definition.backend?.kind ?? "local",
        options: row.location_definition.backend?.options ?? {}
      })
      let jobId = row.backend_job_id
      if (jobId === null && row.job_name !== null) {
        const name = row.job_name
        const installation = (yield* installationId) ?? ""
        const found = yield* backend.use(place(`job name ${name}`), (b) => Effect.all({ jobs: b.findJobs([name]), user: b.submitter }))
        const expected = {
          ...jobIdentity(installation, request.runId, row.attempt),
          user: found.user,
          markedAt: row.marked_at === null ? request.now : new Date(row.marked_at)
        }
        jobId = judgeFoundJobs(expected, found.jobs.get(name) ?? []).adopt?.jobId ?? null
      }
      let job: CancelOutcome["job"] = null
      if (jobId !== null) {
        const id = jobId
        job = yield* backend.use(place(`job ${id}`), (b) => Effect.map(b.cancel(id), (outcome) => ({ id, backend: b.kind, outcome })))
      }
      const eventReason = `CANCEL requested by ${request.actor}${request.reason === null || request.reason.trim() === "" ? "" : `: ${request.reason.trim()}`}`
      const changed = yield* transition({
        runId: request.runId,
        from: [row.status],
        to: "CANCELLED",
        actor: request.actor,
        reason: eventReason,
        now: request.now,
        set: [sql`finished_at = ${request.now}`, sql`lease_until = NULL`, sql`lease_owner = NULL`]
      })
      // Cannot happen under the row lock; a defect if it does.
      if (!changed) return yield* Effect.dieMessage(`run ${request.runId} changed status while locked`)
      return { runId: request.runId, from: row.status, jobId, job, eventReason }
    })
    return yield* sql.withTransaction(inside)
  })
