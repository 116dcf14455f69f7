import { SqlClient, type SqlError } from "@effect/sql"
import { Effect } from "effect"
import type { RunStatus } from "../execution/run-status.ts"
import { UnknownName } from "./errors.ts"
import { runColumns, runJoins, toRunSummary, type RunRowDb, type RunSummary } from "./run-row.ts"

/*
 * `ccat runs`: runs newest first, filtered by status, pipeline and step. A pipeline or step
 * name that was never applied is an error (with the names that exist), not an empty list: a
 * typo should not look like "nothing ran". Retired pipelines and steps still count, since their
 * runs are kept.
 */

export interface RunFilter {
  readonly status: RunStatus | null
  readonly pipeline: string | null
  readonly step: string | null
  readonly limit: number
}

export const listRuns = (
  filter: RunFilter
): Effect.Effect<ReadonlyArray<RunSummary>, UnknownName | SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    if (filter.pipeline !== null) {
      const known = yield* sql<{ name: string }>`SELECT name FROM pipeline ORDER BY name`
      if (!known.some((k) => k.name === filter.pipeline))
        return yield* new UnknownName({ kind: "pipeline", name: filter.pipeline, known: known.map((k) => k.name) })
    }
    if (filter.step !== null) {
      const known = yield* sql<{ name: string }>`
        SELECT DISTINCT s.name FROM reduction_step s JOIN pipeline p ON p.id = s.pipeline_id
        WHERE ${filter.pipeline === null ? sql`TRUE` : sql`p.name = ${filter.pipeline}`} ORDER BY s.name`
      if (!known.some((k) => k.name === filter.step))
        return yield* new UnknownName({ kind: "step", name: filter.step, known: known.map((k) => k.name) })
    }
    const conditions = [
      ...(filter.status === null ? [] : [sql`r.status = ${filter.status}`]),
      ...(filter.pipeline === null ? [] : [sql`p.name = ${filter.pipeline}`]),
      ...(filter.step === null ? [] : [sql`s.name = ${filter.step}`])
    ]
    const where = conditions.length === 0 ? sql`TRUE` : sql.and(conditions)
    const rows = yield* sql<RunRowDb>`
      SELECT ${runColumns(sql)} FROM ${runJoins(sql)}
      WHERE ${where}
      ORDER BY r.id DESC
      LIMIT ${filter.limit}`
    return rows.map(toRunSummary)
  })
