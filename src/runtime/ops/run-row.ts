import { SqlClient, type SqlError } from "@effect/sql"
import { Effect } from "effect"
import { runStatuses, type RunStatus } from "../execution/run-status.ts"
import { UnknownRun } from "./errors.ts"
import { toDate } from "./format.ts"

/*
 * One run as the operator commands show it, and its event log. Ids are bigint in the database
 * and numbers here (runs will not pass 2^53).
 */

export const allStatuses: ReadonlyArray<RunStatus> = runStatuses

export const finishedStatuses: ReadonlyArray<RunStatus> = ["COMPLETED", "FAILED", "CANCELLED"]

export interface RunSummary {
  readonly id: number
  readonly pipeline: string
  readonly step: string
  readonly stepId: number
  readonly subGroupKey: string
  readonly status: RunStatus
  readonly reason: string
  /** The attempt the run is on (in flight), or ended with; for a PENDING run, the one it waits to begin. */
  readonly attempt: number
  readonly retryCount: number
  readonly softwareVersion: string
  readonly jobName: string | null
  readonly backendJobId: string | null
  readonly runDir: string | null
  readonly createdAt: Date
  readonly finishedAt: Date | null
  readonly failureReason: string | null
}

/**
 * A run as a JSON document: what `ccat runs --json` prints and the HTTP API returns. Times in
 * ISO 8601 UTC, absent values null.
 */
export const runJson = (r: RunSummary) => ({
  id: r.id,
  pipeline: r.pipeline,
  step: r.step,
  subGroupKey: r.subGroupKey,
  status: r.status,
  reason: r.reason,
  attempt: r.attempt,
  retryCount: r.retryCount,
  softwareVersion: r.softwareVersion,
  jobName: r.jobName,
  backendJobId: r.backendJobId,
  runDir: r.runDir,
  createdAt: r.createdAt.toISOString(),
  finishedAt: r.finishedAt?.toISOString() ?? null,
  failureReason: r.failureReason
})

export interface RunRowDb {
  readonly id: string
  readonly pipeline: string
  readonly step: string
  readonly step_id: string
  readonly sub_group_key: string
  readonly status: RunStatus
  readonly reason: string
  readonly retry_count: number
  readonly attempt: number
  readonly software_version: string
  readonly job_name: string | null
  readonly backend_job_id: string | null
  readonly run_dir: string | null
  readonly created_at: Date | string
  readonly finished_at: Date | string | null
  readonly failure_reason: string | null
}

/** The columns of RunRowDb, for `SELECT ${runColumns(sql)} FROM executed_reduction_step r JOIN ...`. */
export const runColumns = (sql: SqlClient.SqlClient) =>
  sql.literal(`r.id, p.name AS pipeline, s.name AS step, r.step_id, r.sub_group_key, r.status, r.reason, r.retry_count, r.attempt,
    r.software_version, r.job_name, r.backend_job_id, r.run_dir, r.created_at, r.finished_at, r.failure_reason`)

export const runJoins = (sql: SqlClient.SqlClient) =>
  sql.literal(`executed_reduction_step r JOIN reduction_step s ON s.id = r.step_id JOIN pipeline p ON p.id = s.pipeline_id`)

export const toRunSummary = (r: RunRowDb): RunSummary => ({
  id: Number(r.id),
  pipeline: r.pipeline,
  step: r.step,
  stepId: Number(r.step_id),
  subGroupKey: r.sub_group_key,
  status: r.status,
  reason: r.reason,
  attempt: r.status === "PENDING" || (r.status === "STAGING_DATA" && r.job_name === null) ? r.attempt + 1 : Math.max(r.attempt, 1),
  retryCount: r.retry_count,
  softwareVersion: r.software_version,
  jobName: r.job_name,
  backendJobId: r.backend_job_id,
  runDir: r.run_dir,
  createdAt: toDate(r.created_at)!,
  finishedAt: toDate(r.finished_at),
  failureReason: r.failure_reason
})

/** One run, or UnknownRun. */
export const findRun = (runId: number): Effect.Effect<RunSummary, UnknownRun | SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<RunRowDb>`SELECT ${runColumns(sql)} FROM ${runJoins(sql)} WHERE r.id = ${runId}`
    if (row === undefined) return yield* new UnknownRun({ runId })
    return toRunSummary(row)
  })

export interface RunEvent {
  readonly at: Date
  readonly actor: string
  readonly from: string | null
  readonly to: string
  readonly reason: string
}

/** The run's event log, oldest first. */
export const runEvents = (runId: number): Effect.Effect<ReadonlyArray<RunEvent>, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ at: Date | string; actor: string; from_status: string | null; to_status: string; reason: string }>`
      SELECT at, actor, from_status, to_status, reason FROM run_event WHERE run_id = ${runId} ORDER BY at, id`
    return rows.map((e) => ({ at: toDate(e.at)!, actor: e.actor, from: e.from_status, to: e.to_status, reason: e.reason }))
  })

/** `pipeline.step sub_group_key`, how a run's place is named in messages. */
export const runTarget = (r: Pick<RunSummary, "pipeline" | "step" | "subGroupKey">): string => `${r.pipeline}.${r.step} ${r.subGroupKey}`
