import { SqlClient, type SqlError } from "@effect/sql"
import { Effect } from "effect"
import type { IrFilter } from "../../compiler/ir.ts"
import type { TableDefinition } from "../../compiler/schema-registry.ts"
import { keyedSelection, keyedSelectionTables, subGroupKeyFollowsPackageLinks, subGroupKeyPathTables } from "../selection/index.ts"
import { joinsFor } from "../selection/joins.ts"
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
 *   - it was held in COOLDOWN and the earliest cooldown the step reported has ended;
 *   - a downstream step asked for its latest run to be rebuilt (rebuild_request, migration 10:
 *     the products that run made were purged, and a downstream run needs them).
 *
 * A package counts as changed, too, when a row above it that the step's selection reads was
 * updated (migration 8): a module renamed, a scan's metadata corrected can move packages in or
 * out of the selection without touching one. (A change that can move them between sub-groups
 * makes the step decided whole: updatedSelectionTables.) Every lookup here goes through an
 * index: the work is proportional to what changed, not to the archive.
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

/**
 * Of the tables besides raw_data_package that the step's selection and sub-group keys read
 * (keyedSelectionTables), those with a row updated since the snapshot (migration 8); and whether
 * a column a key is read through changed since: a link or key column of a table on the way to a
 * dimension (subGroupKeyPathTables; a source renamed, an obs unit moved to another line), or a
 * package moved to another scan or module under keys read through those links. That can move
 * packages between sub-groups, and the sub-group a package left is found only through the runs
 * that cover it, which a sub-group in cooldown or waiting for upstream work has not got for its
 * newest packages: the step is decided whole then. Such changes are corrections, and rare.
 * Asked apart from collectDirtySubGroups, so that the usual pass, in which no such row changed,
 * keeps its plan: the planner reckons a module's packages at half the archive, and a branch for
 * them made the lookups of new packages scan the archive (97 ms instead of 10 at 1M packages).
 */
export const updatedSelectionTables = (
  sql: SqlClient.SqlClient,
  target: StepToEvaluate,
  selection: IrFilter | null,
  since: string
): Effect.Effect<{ readonly updated: ReadonlyArray<TableDefinition>; readonly keysMayHaveMoved: boolean }, SqlError.SqlError> =>
  Effect.gen(function* () {
    const { groupBy } = target.step
    const read = keyedSelectionTables(selection, groupBy)
    const keyPath = subGroupKeyPathTables(groupBy)
    const followsLinks = subGroupKeyFollowsPackageLinks(groupBy)
    if (read.length === 0 && !followsLinks) return { updated: [], keysMayHaveMoved: false }
    const exists = (table: string, column: "change_xid" | "moved_xid") =>
      sql`EXISTS (SELECT 1 FROM ${sql(table)} WHERE ${writtenSince(sql, column, since)})`
    const moved = [...(followsLinks ? ["raw_data_package"] : []), ...keyPath.map((t) => t.sqlTable)].map((t) => exists(t, "moved_xid"))
    const [row] = yield* sql<Record<string, boolean>>`
      SELECT ${moved.length === 0 ? sql`false` : sql.join(" OR ", false)(moved)} AS moved
        ${sql.join("", false)(read.map((t, n) => sql`, ${exists(t.sqlTable, "change_xid")} AS ${sql(`t${n}`)}`))}`
    return { updated: read.filter((_, n) => row?.[`t${n}`] === true), keysMayHaveMoved: row?.moved === true }
  })

export const collectDirtySubGroups = (
  sql: SqlClient.SqlClient,
  target: StepToEvaluate,
  scope: DirtyScope,
  updatedTables: ReadonlyArray<TableDefinition>
): Effect.Effect<number, SqlError.SqlError> =>
  Effect.gen(function* () {
    const { step, stepId } = target
    const existed = sql`created_xid IS NULL OR pg_visible_in_snapshot(created_xid, ${scope.since}::pg_snapshot)`
    // From each changed row down to its packages: the planner starts at the row's change_xid
    // index and follows the foreign-key indexes (the WHERE on the joined table makes the LEFT
    // JOINs inner ones).
    const belowChangedRows = updatedTables.map(
      (table) => sql`UNION
        SELECT raw_data_package.id, ${existed} AS existed
        FROM raw_data_package ${joinsFor(sql, [table.name])}
        WHERE ${writtenSince(sql, "change_xid", scope.since, table.sqlTable)}`
    )
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
        SELECT id, ${existed} AS existed
        FROM raw_data_package
        WHERE ${writtenSince(sql, "change_xid", scope.since)}
        ${sql.join(" ", false)(belowChangedRows)}
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
        UNION
        SELECT sub_group_key FROM rebuild_request WHERE step_id = ${stepId} AND ${writtenSince(sql, "xid", scope.since)}
        ${cooldowns}
        ${scope.explained === undefined ? sql`` : sql`UNION SELECT ${scope.explained}::text`}
        ${
          scope.alsoRemembered === undefined || scope.alsoRemembered.length === 0
            ? sql``
            : sql`UNION SELECT sub_group_key FROM trigger_sub_group_state WHERE step_id = ${stepId} AND reason IN ${sql.in(scope.alsoRemembered)}`
        }
      ) d`)
  })
