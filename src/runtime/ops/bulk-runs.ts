import type { SqlClient, SqlError } from "@effect/sql"
import { Effect } from "effect"
import { messageWithCause } from "../../error-message.ts"
import type { RunStatus } from "../execution/run-status.ts"
import { cancelRun, type BackendAccess, type CancelOutcome } from "./cancel.ts"
import type { UnknownName } from "./errors.ts"
import { everyRun, listRuns } from "./list-runs.ts"
import { retryRun, type RetryOutcome } from "./retry.ts"
import type { RunSummary } from "./run-row.ts"

/*
 * Cancel or retry many runs chosen by a filter (`ccat cancel --pipeline …`, the HTTP API's bulk
 * actions). Each run goes through the same `cancelRun` / `retryRun` as a single one, in a
 * transaction of its own, one after the other: a run that cannot be cancelled or retried (it
 * ended meanwhile, another run of its sub-group is in flight, its backend is unreachable) is
 * reported with the others' outcomes and stops nothing. A run that had changed since it was
 * matched is judged as it is then, under its row lock, so nothing is done to a run on the
 * strength of a stale read.
 */

/** The statuses retryRun accepts. */
export const retryableStatuses: ReadonlyArray<RunStatus> = ["FAILED", "CANCELLED"]

/** What `ccat retry` acts on without --status. */
export const defaultRetryStatuses: ReadonlyArray<RunStatus> = ["FAILED"]

export interface BulkFilter {
  readonly pipeline: string | null
  readonly step: string | null
  /** One status, several (any of them), or null for any. */
  readonly status: RunStatus | ReadonlyArray<RunStatus> | null
  readonly subGroupKey?: string | null
}

export type BulkOutcome<A> =
  | { readonly runId: number; readonly ok: true; readonly outcome: A }
  /** `code`: the error's tag (NotCancellable, OtherRunInFlight, …); `error`: its message. */
  | { readonly runId: number; readonly ok: false; readonly code: string; readonly error: string }

/**
 * The newest `limit` runs that match, newest first. Several statuses are read one status at a
 * time (each an indexed query that stops at `limit`) and merged.
 */
export const runsMatching = (
  filter: BulkFilter,
  limit: number
): Effect.Effect<ReadonlyArray<RunSummary>, UnknownName | SqlError.SqlError, SqlClient.SqlClient> => {
  const base = { ...everyRun(limit), pipeline: filter.pipeline, step: filter.step, subGroupKey: filter.subGroupKey ?? null }
  if (filter.status === null || typeof filter.status === "string") return listRuns({ ...base, status: filter.status })
  return Effect.map(
    Effect.forEach([...new Set(filter.status)], (status) => listRuns({ ...base, status })),
    (lists) =>
      lists
        .flat()
        .sort((a, b) => b.id - a.id)
        .slice(0, limit)
  )
}

/** Runs `act` on each run in turn; a failure is that run's outcome, never the batch's. */
const eachRun = <A, E extends { readonly _tag: string }>(
  runs: ReadonlyArray<{ readonly id: number }>,
  act: (runId: number) => Effect.Effect<A, E, SqlClient.SqlClient>
): Effect.Effect<ReadonlyArray<BulkOutcome<A>>, never, SqlClient.SqlClient> =>
  Effect.forEach(runs, ({ id }) =>
    act(id).pipe(
      Effect.match({
        onSuccess: (outcome): BulkOutcome<A> => ({ runId: id, ok: true, outcome }),
        onFailure: (e): BulkOutcome<A> => ({ runId: id, ok: false, code: e._tag, error: messageWithCause(e, e._tag) })
      })
    )
  )

export const cancelRuns = (
  runs: ReadonlyArray<{ readonly id: number }>,
  request: { readonly actor: string; readonly reason: string | null; readonly now: Date },
  backend: BackendAccess
): Effect.Effect<ReadonlyArray<BulkOutcome<CancelOutcome>>, never, SqlClient.SqlClient> =>
  eachRun(runs, (runId) => cancelRun({ runId, ...request }, backend))

export const retryRuns = (
  runs: ReadonlyArray<{ readonly id: number }>,
  request: { readonly actor: string; readonly now: Date }
): Effect.Effect<ReadonlyArray<BulkOutcome<RetryOutcome>>, never, SqlClient.SqlClient> =>
  eachRun(runs, (runId) => retryRun({ runId, ...request }))
