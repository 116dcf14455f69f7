import { SqlClient, type SqlError } from "@effect/sql"
import { Effect } from "effect"
import { keyedSelection } from "../selection/index.ts"
import type { StepToEvaluate } from "./applied-definitions.ts"
import { rowsWritten } from "./rows-written.ts"
import { writtenSince } from "./step-memo.ts"

/*
 * The sub-groups of a step whose decision can differ from the one remembered at snapshot
 * `since` (step-memo.ts), into the transaction's temporary table `ccat_dirty`. A decision
 * depends on the sub-group's packages, on the runs of this step and of the steps upstream of it
 * that cover them, and on the clock (cooldown). So a sub-group is dirty when
 *
 *   - a raw package changed that is keyed to it by this step's group_by, whether or not the
 *     package is in the selection now (one that just left it, say by leaving the archive,
 *     leaves the sub-group it was in), or that a run of this step covers (the sub-group it
 *     belonged to before). Only a package that existed at `since` can be covered by a run the
 *     run events do not already name: whoever created a run over a newer package saw it, so
 *     came after `since` too (migration 6). New packages skip that lookup, a random index
 *     probe each;
 *   - a run of this step in it changed (created, started, finished, cancelled, retried: every
 *     change writes a run event);
 *   - a run of an upstream or ancestor step changed that covers one of its packages;
 *   - it was held in COOLDOWN and the earliest cooldown the step reported has ended.
 *
 * Changes the signals cannot see (a source renamed, an obs unit moved to another line) wait
 * for the periodic full evaluation. Every lookup here goes through an index: the work is
 * proportional to what changed, not to the archive.
 */

export interface DirtyScope {
  /** `pg_current_snapshot()` text of the pass the step was last evaluated in. */
  readonly since: string
  readonly cooldownsDue: boolean
  /** A sub-group to decide whatever changed: the one `ccat why` explains. */
  readonly explained?: string | undefined
  /** Decide again every sub-group remembered with one of these reasons (`ccat status`: the gap). */
  readonly alsoRemembered?: ReadonlyArray<string> | undefined
}

export const collectDirtySubGroups = (
  sql: SqlClient.SqlClient,
  target: StepToEvaluate,
  scope: DirtyScope
): Effect.Effect<number, SqlError.SqlError> =>
  Effect.gen(function* () {
    const { step, stepId } = target
    const feeding = [...target.upstreamIds, ...target.ancestorIds]
    const fromFeedingRuns =
      feeding.length === 0
        ? sql``
        : sql`UNION
          SELECT c.raw_data_package_id FROM changed_runs cr
          JOIN executed_reduction_step r ON r.id = cr.run_id
          JOIN run_coverage c ON c.run_id = r.id
          WHERE r.step_id IN ${sql.in(feeding)}`
    const cooldowns = scope.cooldownsDue
      ? sql`UNION SELECT sub_group_key FROM trigger_sub_group_state WHERE step_id = ${stepId} AND reason = 'COOLDOWN'`
      : sql``
    return yield* rowsWritten(sql`
      CREATE TEMP TABLE ccat_dirty ON COMMIT DROP AS
      WITH changed_packages AS MATERIALIZED (
        SELECT id, created_xid IS NULL OR pg_visible_in_snapshot(created_xid, ${scope.since}::pg_snapshot) AS existed
        FROM raw_data_package
        WHERE ${writtenSince(sql, "change_xid", scope.since)}
      ),
      changed_runs AS MATERIALIZED (
        SELECT DISTINCT run_id FROM run_event
        WHERE ${writtenSince(sql, "xid", scope.since)}
      ),
      seeds AS MATERIALIZED (
        SELECT id FROM changed_packages
        ${fromFeedingRuns}
      )
      SELECT DISTINCT sub_group_key FROM (
        SELECT k.sub_group_key FROM (${keyedSelection(sql, null, step.groupBy, {
          archivedOnly: false,
          restrict: sql`raw_data_package.id IN (SELECT id FROM seeds)`
        })}) k
        UNION
        SELECT r.sub_group_key FROM changed_runs cr JOIN executed_reduction_step r ON r.id = cr.run_id WHERE r.step_id = ${stepId}
        UNION
        SELECT r.sub_group_key FROM changed_packages p
        JOIN run_coverage c ON c.raw_data_package_id = p.id
        JOIN executed_reduction_step r ON r.id = c.run_id
        WHERE p.existed AND r.step_id = ${stepId}
        ${cooldowns}
        ${scope.explained === undefined ? sql`` : sql`UNION SELECT ${scope.explained}::text`}
        ${
          scope.alsoRemembered === undefined || scope.alsoRemembered.length === 0
            ? sql``
            : sql`UNION SELECT sub_group_key FROM trigger_sub_group_state WHERE step_id = ${stepId} AND reason IN ${sql.in(scope.alsoRemembered)}`
        }
      ) d`)
  })
