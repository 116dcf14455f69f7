import type { SqlClient, SqlError } from "@effect/sql"
import { Effect } from "effect"
import type { Counts } from "./step-memo.ts"

/*
 * The last decision per (step, sub-group), trigger_sub_group_state (migration 5): what lets an
 * incremental pass report a step's counts exactly. Written from the evaluation's
 * `ccat_decision`, inside the step's transaction and under its lock (step-memo.ts).
 */

/**
 * After a full evaluation: the table becomes ccat_decision, touching only the rows that differ.
 * Both joins go through a copy of the step's rows: an INSERT whose anti-join scans its own
 * target table re-reads every row it has just inserted (measured: 12 s for 50k rows).
 */
export const replaceDecisions = (sql: SqlClient.SqlClient, stepId: number): Effect.Effect<void, SqlError.SqlError> =>
  Effect.gen(function* () {
    yield* sql`ANALYZE ccat_decision`
    yield* sql`DROP TABLE IF EXISTS pg_temp.ccat_remembered`
    yield* sql`
      CREATE TEMP TABLE ccat_remembered ON COMMIT DROP AS
      SELECT sub_group_key, reason FROM trigger_sub_group_state WHERE step_id = ${stepId}`
    yield* sql`ANALYZE ccat_remembered`
    yield* sql`
      DELETE FROM trigger_sub_group_state s
      USING (
        SELECT r.sub_group_key FROM ccat_remembered r
        LEFT JOIN ccat_decision d ON d.sub_group_key = r.sub_group_key AND d.reason = r.reason
        WHERE d.sub_group_key IS NULL
      ) gone
      WHERE s.step_id = ${stepId} AND s.sub_group_key = gone.sub_group_key`
    yield* sql`
      INSERT INTO trigger_sub_group_state (step_id, sub_group_key, reason)
      SELECT ${stepId}, d.sub_group_key, d.reason FROM ccat_decision d
      LEFT JOIN ccat_remembered r ON r.sub_group_key = d.sub_group_key AND r.reason = d.reason
      WHERE r.sub_group_key IS NULL`
  })

/** Before an incremental evaluation's decisions are remembered: drop the dirty sub-groups' rows, returning their reasons. */
export const forgetDirtyDecisions = (sql: SqlClient.SqlClient, stepId: number): Effect.Effect<Counts, SqlError.SqlError> =>
  sql<{ reason: string; n: number }>`
    WITH gone AS (
      DELETE FROM trigger_sub_group_state
      WHERE step_id = ${stepId} AND sub_group_key IN (SELECT sub_group_key FROM ccat_dirty)
      RETURNING reason
    )
    SELECT reason, count(*)::int AS n FROM gone GROUP BY reason`.pipe(
    Effect.map((rows) => Object.fromEntries(rows.map((r) => [r.reason, r.n])))
  )

/** The remembered reasons of the dirty sub-groups, left in place: forgetDirtyDecisions for a reader that writes nothing. */
export const dirtyDecisionCounts = (sql: SqlClient.SqlClient, stepId: number): Effect.Effect<Counts, SqlError.SqlError> =>
  sql<{ reason: string; n: number }>`
    SELECT reason, count(*)::int AS n FROM trigger_sub_group_state
    WHERE step_id = ${stepId} AND sub_group_key IN (SELECT sub_group_key FROM ccat_dirty)
    GROUP BY reason`.pipe(Effect.map((rows) => Object.fromEntries(rows.map((r) => [r.reason, r.n]))))

/** After an incremental evaluation (and forgetDirtyDecisions): remember the dirty sub-groups' new decisions. */
export const rememberDecisions = (sql: SqlClient.SqlClient, stepId: number): Effect.Effect<void, SqlError.SqlError> =>
  sql`
    INSERT INTO trigger_sub_group_state (step_id, sub_group_key, reason)
    SELECT ${stepId}, sub_group_key, reason FROM ccat_decision`.pipe(Effect.asVoid)
