import { SqlClient, type SqlError, type Statement } from "@effect/sql"
import { Effect } from "effect"
import type { RunStatus } from "../execution/run-status.ts"
import { UnknownName } from "./errors.ts"
import { runColumns, runJoins, toRunSummary, type RunRowDb, type RunSummary } from "./run-row.ts"

/*
 * Runs newest first, by filter: what `ccat runs`, the HTTP API's run list and the bulk cancel and
 * retry all read, so they agree on what a filter matches. A pipeline or step name that was never
 * applied is an error (with the names that exist), not an empty list: a typo should not look like
 * "nothing ran". Retired pipelines and steps still count, since their runs are kept.
 *
 * Names are resolved to step ids first, so the run query filters `executed_reduction_step` by its
 * own columns only and can walk an index on (step_id, …, id) backwards, stopping after a page,
 * instead of joining every run to its step's name. Each filter has an index that ends in id for
 * that walk: (status, id), (step_id, id), (step_id, status, id), (step_id, sub_group_key, id),
 * (sub_group_key, id), (reason, id); a time window uses (created_at) and sorts what it finds. Paging is by id (`before`): a page boundary
 * stays put while new runs arrive, which an offset would not.
 */

export interface RunFilter {
  readonly status: RunStatus | null
  readonly pipeline: string | null
  readonly step: string | null
  readonly subGroupKey: string | null
  /** Why the run was created (its `reason` column): NEW_DATA, UPSTREAM_CHANGED, MANUAL, … */
  readonly reason: string | null
  /** Created at or after. */
  readonly since: Date | null
  /** Created before. */
  readonly until: Date | null
  /** The paging cursor: only runs with a smaller id (the `nextCursor` of the page before). */
  readonly before: number | null
  readonly limit: number
}

export interface RunPage {
  readonly runs: ReadonlyArray<RunSummary>
  /** The id to pass as `before` for the next page; null when this page is the last. */
  readonly nextCursor: number | null
}

/** The filter that matches every run, `limit` at a time. */
export const everyRun = (limit: number): RunFilter => ({
  status: null,
  pipeline: null,
  step: null,
  subGroupKey: null,
  reason: null,
  since: null,
  until: null,
  before: null,
  limit
})

/** The ids of the steps the pipeline and step names select; null when neither is given. */
const selectedSteps = (
  sql: SqlClient.SqlClient,
  filter: RunFilter
): Effect.Effect<ReadonlyArray<number> | null, UnknownName | SqlError.SqlError> =>
  Effect.gen(function* () {
    const { pipeline, step } = filter
    if (pipeline === null && step === null) return null
    const rows = yield* sql<{ id: string }>`
      SELECT s.id FROM reduction_step s JOIN pipeline p ON p.id = s.pipeline_id
      WHERE ${pipeline === null ? sql`TRUE` : sql`p.name = ${pipeline}`} AND ${step === null ? sql`TRUE` : sql`s.name = ${step}`}`
    if (rows.length > 0) return rows.map((r) => Number(r.id))
    // Nothing selected: say which name is unknown, with the ones that exist.
    if (pipeline !== null) {
      const known = yield* sql<{ name: string }>`SELECT name FROM pipeline ORDER BY name`
      if (!known.some((k) => k.name === pipeline))
        return yield* new UnknownName({ kind: "pipeline", name: pipeline, known: known.map((k) => k.name) })
    }
    if (step === null) return []
    const known = yield* sql<{ name: string }>`
      SELECT DISTINCT s.name FROM reduction_step s JOIN pipeline p ON p.id = s.pipeline_id
      WHERE ${pipeline === null ? sql`TRUE` : sql`p.name = ${pipeline}`} ORDER BY s.name`
    return yield* new UnknownName({ kind: "step", name: step, known: known.map((k) => k.name) })
  })

/** Up to `limit` runs matching the filter (ignoring `filter.limit`), newest first. */
const selectRuns = (
  filter: RunFilter,
  limit: number
): Effect.Effect<ReadonlyArray<RunSummary>, UnknownName | SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const steps = yield* selectedSteps(sql, filter)
    if (steps !== null && steps.length === 0) return []
    const conditions = [
      ...(filter.status === null ? [] : [sql`r.status = ${filter.status}`]),
      ...(filter.subGroupKey === null ? [] : [sql`r.sub_group_key = ${filter.subGroupKey}`]),
      ...(filter.reason === null ? [] : [sql`r.reason = ${filter.reason}`]),
      ...(filter.since === null ? [] : [sql`r.created_at >= ${filter.since}`]),
      ...(filter.until === null ? [] : [sql`r.created_at < ${filter.until}`]),
      ...(filter.before === null ? [] : [sql`r.id < ${filter.before}`])
    ]
    const where = (more: ReadonlyArray<Statement.Fragment>) =>
      conditions.length + more.length === 0 ? sql`TRUE` : sql.and([...more, ...conditions])
    if (steps === null) {
      const rows = yield* sql<RunRowDb>`
        SELECT ${runColumns(sql)} FROM ${runJoins(sql)}
        WHERE ${where([])}
        ORDER BY r.id DESC
        LIMIT ${limit}`
      return rows.map(toRunSummary)
    }
    // One branch per step, each the newest `limit` of that step alone (an index walk on
    // (step_id, …, id) that stops there), merged in id order: `step_id IN (…)` would have the
    // planner walk every run of the other steps, or sort all the matches, when they are many.
    const branches = steps.map(
      (stepId) =>
        sql`(SELECT * FROM executed_reduction_step r WHERE ${where([sql`r.step_id = ${stepId}`])} ORDER BY r.id DESC LIMIT ${limit})`
    )
    const rows = yield* sql<RunRowDb>`
      SELECT ${runColumns(sql)}
      FROM (${sql.join(" UNION ALL ", false)(branches)}) r JOIN reduction_step s ON s.id = r.step_id JOIN pipeline p ON p.id = s.pipeline_id
      ORDER BY r.id DESC
      LIMIT ${limit}`
    return rows.map(toRunSummary)
  })

/** The newest `filter.limit` runs that match. */
export const listRuns = (
  filter: RunFilter
): Effect.Effect<ReadonlyArray<RunSummary>, UnknownName | SqlError.SqlError, SqlClient.SqlClient> => selectRuns(filter, filter.limit)

/** One page: `filter.limit` runs, and the cursor of the next page if there is one (one run more is read to know). */
export const listRunsPage = (filter: RunFilter): Effect.Effect<RunPage, UnknownName | SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.map(selectRuns(filter, filter.limit + 1), (found) => {
    const runs = found.slice(0, filter.limit)
    const last = runs.at(-1)
    return { runs, nextCursor: found.length > runs.length && last !== undefined ? last.id : null }
  })
