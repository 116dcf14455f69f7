import { HttpApiBuilder } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { Clock, Context, Effect } from "effect"
import { cancelRuns, defaultRetryStatuses, retryRuns, runsMatching, type BulkOutcome } from "../../runtime/ops/bulk-runs.ts"
import { cancellableStatuses, cancelRun, type BackendAccess } from "../../runtime/ops/cancel.ts"
import { retryRun } from "../../runtime/ops/retry.ts"
import { recordManualRequest } from "../../runtime/gaps/trigger-requests.ts"
import { CcatApi, CurrentActor } from "../api.ts"
import { badRequest, conflict, databaseUnavailable, notFound, unknownNameError } from "../errors.ts"
import { type BulkFilterSchema, Unavailable } from "../schemas.ts"
import type { RunStatus } from "../../runtime/execution/run-status.ts"

/*
 * The API's actions: the functions `ccat cancel`, `ccat retry` and `ccat run` call, with the
 * token's name as the person who asked (each run's events say `token <name>`).
 */

/** How cancel reaches the backend of a run's job: the one its location declares (as `ccat cancel`). */
export class ApiBackendAccess extends Context.Tag("ccat/api/ApiBackendAccess")<ApiBackendAccess, BackendAccess>() {}

const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

const bulkJson = <A>(outcomes: ReadonlyArray<BulkOutcome<A>>, describe: (a: A) => string) => ({
  matched: outcomes.length,
  succeeded: outcomes.filter((o) => o.ok).length,
  failed: outcomes.filter((o) => !o.ok).length,
  results: outcomes.map((o) => ({ runId: o.runId, ok: o.ok, message: o.ok ? describe(o.outcome) : o.error }))
})

type BulkPayload = typeof BulkFilterSchema.Type

/** The runs a bulk action's filter matches (at least one of its parts given: never every run). */
const matchingRuns = (filter: BulkPayload, defaultStatuses: ReadonlyArray<RunStatus>) =>
  filter.pipeline === undefined && filter.step === undefined && filter.status === undefined && filter.subGroup === undefined
    ? Effect.fail(
        badRequest("FILTER_REQUIRED", "name at least one of pipeline, step, status and subGroup: a bulk action never means every run")
      )
    : runsMatching(
        {
          pipeline: filter.pipeline ?? null,
          step: filter.step ?? null,
          status: filter.status ?? defaultStatuses,
          subGroupKey: filter.subGroup ?? null
        },
        filter.limit ?? 1000
      )

export const ActionsHandlers = HttpApiBuilder.group(CcatApi, "actions", (handlers) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const backend = yield* ApiBackendAccess
    const provided = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provideService(effect, SqlClient.SqlClient, sql)
    return handlers
      .handle("whoami", () => Effect.map(CurrentActor, ({ actor }) => ({ actor })))
      .handle("cancel", ({ path, payload }) =>
        Effect.gen(function* () {
          const { actor } = yield* CurrentActor
          const outcome = yield* cancelRun({ runId: path.id, actor, reason: payload.reason ?? null, now: yield* now }, backend)
          return { runId: outcome.runId, from: outcome.from, job: outcome.job, actor }
        }).pipe(
          provided,
          Effect.catchTags({
            UnknownRun: (e) => Effect.fail(notFound("UNKNOWN_RUN", e.message)),
            NotCancellable: (e) => Effect.fail(conflict("NOT_CANCELLABLE", e.message)),
            NoBackend: (e) => Effect.fail(new Unavailable({ code: "NO_BACKEND", message: e.message })),
            BackendUnavailable: (e) =>
              Effect.fail(
                new Unavailable({
                  code: "BACKEND_UNAVAILABLE",
                  message: `cannot cancel run ${path.id}: ${e.message}; the run is unchanged`
                })
              ),
            SqlError: databaseUnavailable
          })
        )
      )
      .handle("retry", ({ path }) =>
        Effect.gen(function* () {
          const { actor } = yield* CurrentActor
          const outcome = yield* retryRun({ runId: path.id, actor, now: yield* now })
          return { runId: outcome.runId, from: outcome.from, attempt: outcome.attempt, newerRunId: outcome.newerRunId, actor }
        }).pipe(
          provided,
          Effect.catchTags({
            UnknownRun: (e) => Effect.fail(notFound("UNKNOWN_RUN", e.message)),
            NotRetryable: (e) => Effect.fail(conflict("NOT_RETRYABLE", e.message)),
            OtherRunInFlight: (e) => Effect.fail(conflict("OTHER_RUN_IN_FLIGHT", e.message)),
            SqlError: databaseUnavailable
          })
        )
      )
      .handle("cancelMany", ({ payload }) =>
        Effect.gen(function* () {
          const { actor } = yield* CurrentActor
          const runs = yield* matchingRuns(payload, cancellableStatuses)
          const outcomes = yield* cancelRuns(runs, { actor, reason: null, now: yield* now }, backend)
          return bulkJson(outcomes, (o) => `cancelled (was ${o.from})`)
        }).pipe(provided, Effect.catchTags({ UnknownName: (e) => Effect.fail(unknownNameError(e)), SqlError: databaseUnavailable }))
      )
      .handle("retryMany", ({ payload }) =>
        Effect.gen(function* () {
          const { actor } = yield* CurrentActor
          const runs = yield* matchingRuns(payload, defaultRetryStatuses)
          const outcomes = yield* retryRuns(runs, { actor, now: yield* now })
          return bulkJson(outcomes, (o) => `PENDING again (was ${o.from}; attempt ${o.attempt})`)
        }).pipe(provided, Effect.catchTags({ UnknownName: (e) => Effect.fail(unknownNameError(e)), SqlError: databaseUnavailable }))
      )
      .handle("request", ({ path, payload }) =>
        Effect.gen(function* () {
          const { actor } = yield* CurrentActor
          const step = payload.step ?? null
          const force = payload.force ?? false
          const requestId = yield* recordManualRequest({ pipeline: path.pipeline, step, force, requestedBy: actor, now: yield* now })
          return { requestId, pipeline: path.pipeline, step, force, actor }
        }).pipe(
          provided,
          Effect.catchTags({
            UnknownPipeline: (e) => Effect.fail(unknownNameError(e)),
            UnknownStep: (e) => Effect.fail(unknownNameError(e)),
            SqlError: databaseUnavailable
          })
        )
      )
  })
)
