import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/** A run as the execution tests look at it. */
export interface ModeRun {
  readonly id: string
  readonly status: string
  readonly retry_count: number
  readonly attempt: number
  readonly exit_code: number | null
  readonly failure_reason: string | null
  readonly run_dir: string | null
  readonly sub_group_key: string
}

/**
 * The runs created for one config, oldest first: the execution tests give each case its own
 * `mode` config value to tell its runs apart from the other cases' in the same database.
 */
export const runsOfMode = (mode: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<ModeRun>`
      SELECT id, status, retry_count, attempt, exit_code, failure_reason, run_dir, sub_group_key FROM executed_reduction_step
      WHERE config->>'mode' = ${mode} ORDER BY id`
  )
