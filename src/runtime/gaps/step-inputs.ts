import { SqlClient, type Statement } from "@effect/sql"
import { Effect } from "effect"
import { stepInputProductTypes } from "../execution/collect-outputs.ts"
import { endedWithoutProductsStatuses, inFlightStatuses } from "../execution/run-status.ts"
import { keyedSelection, subGroupMembers } from "../selection/index.ts"
import type { StepEvaluation } from "./evaluate-step.ts"
import { rowsWritten } from "./rows-written.ts"

/*
 * The input tables of one step's evaluation (evaluate-step.ts decides from them), created in
 * the step's transaction and dropped with it:
 *
 *   ccat_upstream        (downstream steps) the latest run of every upstream sub-group, with
 *                        each raw package it covers re-keyed by THIS step's group_by, and the
 *                        runs in flight of steps further upstream;
 *   ccat_upstream_runs   (downstream steps) each of those runs once per sub-group;
 *   ccat_step_input      every input of every sub-group: the ARCHIVED raw packages of the
 *                        selection, or the SCIENCE and INTERMEDIATE products of the upstream
 *                        sub-groups whose latest run COMPLETED;
 *   ccat_upstream_state  per sub-group, upstream runs still in flight and upstream runs that
 *                        failed for good (left out of the inputs, reported).
 *
 * For all sub-groups, or for ccat_dirty's (dirty-sub-groups.ts): then a downstream sub-group
 * with upstream work in flight is decided from the runs in flight alone, and only the others
 * ("open") have their packages and upstream runs looked up, through the dimension values their
 * keys are made of (subGroupMembers), so an index leads to them.
 */

const inFlight = inFlightStatuses

/**
 * Above this many sub-groups to look up, matching them by dimension values would make a
 * statement with too many parameters; the exact filter on the key over the whole selection
 * does the job then (it is what a full evaluation reads anyway).
 */
const maxLookedUpSubGroups = 5000

/**
 * Below this many rows a temporary table is not analysed: the planner's default guesses are
 * close enough for a few hundred rows, and each ANALYZE is a round trip (an incremental pass
 * over a few dirty sub-groups made a dozen of them). Above it, statistics matter: without them
 * the planner guessed 200 sub-groups for 500k (bench/gaps).
 */
const analyzeFrom = 1000

export const analyzeIfLarge = (sql: SqlClient.SqlClient, table: string, rows: number) =>
  rows >= analyzeFrom ? sql`ANALYZE ${sql(table)}`.pipe(Effect.asVoid) : Effect.void

/** The dimension-value condition that leads to the packages of the sub-groups in `table`, if it is worth building. */
const membersOf = (sql: SqlClient.SqlClient, e: StepEvaluation, table: "ccat_dirty" | "ccat_open") =>
  Effect.gen(function* () {
    const rows = yield* sql<{ sub_group_key: string }>`SELECT sub_group_key FROM ${sql(table)} LIMIT ${maxLookedUpSubGroups + 1}`
    if (rows.length > maxLookedUpSubGroups) return undefined
    return subGroupMembers(
      sql,
      e.target.step.groupBy,
      rows.map((r) => r.sub_group_key)
    )
  })

/**
 * Which sub-groups to build the inputs of: `null` for all of them, or ccat_dirty's (`dirty` of
 * them). `lookUpAtMost`: when more sub-groups than this need their inputs looked up, the whole
 * step is cheaper to evaluate, and buildInputs answers "whole-step" without building.
 */
export interface DirtyInputs {
  readonly dirty: number
  readonly lookUpAtMost: number
  /**
   * A dirty sub-group whose inputs are looked up even while upstream work holds it: the one
   * `ccat why` explains, whose inputs and failed upstream runs it reports in full.
   */
  readonly explained?: string | undefined
}

/** Create the input tables of one step, for every sub-group or for the dirty ones. */
export const buildInputs = (sql: SqlClient.SqlClient, e: StepEvaluation, only: DirtyInputs | null) =>
  Effect.gen(function* () {
    const { step, upstreamIds } = e.target
    const dirtyOnly = only !== null
    if (upstreamIds.length === 0) {
      // A step that reads raw data: its inputs are the ARCHIVED packages of the selection, and
      // every dirty sub-group has them looked up.
      if (only !== null && only.dirty > only.lookUpAtMost) return "whole-step" as const
      const restrict = dirtyOnly ? yield* membersOf(sql, e, "ccat_dirty") : undefined
      const onlyDirty = dirtyOnly ? sql`WHERE s.sub_group_key IN (SELECT sub_group_key FROM ccat_dirty)` : sql``
      // No upstream: both tables empty, in one round trip (no parameters: one simple-protocol query).
      yield* sql.unsafe(
        `CREATE TEMP TABLE ccat_upstream (sub_group_key text, run_id bigint, status text, raw_id uuid) ON COMMIT DROP;
         CREATE TEMP TABLE ccat_upstream_state (sub_group_key text, in_flight int, failed int, run_ids bigint[]) ON COMMIT DROP`
      )
      const inputs = yield* rowsWritten(sql`
        CREATE TEMP TABLE ccat_step_input ON COMMIT DROP AS
        SELECT s.sub_group_key, s.id AS raw_id, NULL::bigint AS product_id, s.checksum
        FROM (${keyedSelection(sql, e.selection, step.groupBy, { archivedOnly: true, restrict })}) s
        ${onlyDirty}`)
      // Without statistics the planner guesses a few hundred sub-groups for tables of millions.
      yield* analyzeIfLarge(sql, "ccat_step_input", inputs)
    } else {
      const upstream = only !== null ? yield* buildDirtyUpstream(sql, e, only) : yield* buildUpstream(sql, e)
      if (upstream === "whole-step") return "whole-step" as const
      yield* analyzeIfLarge(sql, "ccat_upstream", upstream)
      // Each upstream run once per sub-group: the products to read and the runs to count.
      const runs = yield* rowsWritten(sql`
        CREATE TEMP TABLE ccat_upstream_runs ON COMMIT DROP AS
        SELECT DISTINCT sub_group_key${byteOrder(sql, dirtyOnly)} AS sub_group_key, run_id, status FROM ccat_upstream`)
      yield* analyzeIfLarge(sql, "ccat_upstream_runs", runs)
      const inputs = yield* rowsWritten(sql`
        CREATE TEMP TABLE ccat_step_input ON COMMIT DROP AS
        SELECT u.sub_group_key, NULL::uuid AS raw_id, p.id AS product_id, p.checksum
        FROM ccat_upstream_runs u
        JOIN data_product p ON p.run_id = u.run_id
        WHERE u.status = 'COMPLETED' AND p.product_type IN ${sql.in(stepInputProductTypes)}`)
      yield* analyzeIfLarge(sql, "ccat_step_input", inputs)
      // Counted without DISTINCT aggregates (a sort per sub-group, 500k at 1M packages); the
      // few run ids to report come from the runs that are not COMPLETED.
      const states = yield* rowsWritten(sql`
        CREATE TEMP TABLE ccat_upstream_state ON COMMIT DROP AS
        WITH counts AS (
          SELECT sub_group_key,
            count(*) FILTER (WHERE status IN ${sql.in(inFlight)})::int AS in_flight,
            count(*) FILTER (WHERE status IN ${sql.in(endedWithoutProductsStatuses)})::int AS failed
          FROM ccat_upstream_runs GROUP BY 1
        ),
        reported AS (
          SELECT sub_group_key, (array_agg(run_id ORDER BY run_id))[1:5] AS run_ids
          FROM ccat_upstream_runs WHERE status <> 'COMPLETED' GROUP BY 1
        )
        SELECT c.sub_group_key, c.in_flight, c.failed, r.run_ids
        FROM counts c LEFT JOIN reported r ON r.sub_group_key = c.sub_group_key`)
      yield* analyzeIfLarge(sql, "ccat_upstream_state", states)
    }
    return "built" as const
  })

/**
 * Clear what an earlier evaluation in the same transaction left (a preview evaluates every step
 * in one) and set the step's planner settings, in one round trip: an incremental pass is mostly
 * round trips. No parameters, so it goes as one simple-protocol query with several statements.
 *
 * Measured on a million packages (bench/gaps): JIT compilation took most of the time of the
 * statements over these short-lived tables, and the sorts spilled to disk at the default
 * work_mem. The statements over a few dirty sub-groups are meant to follow indexes (a scan's
 * 500 keys to their packages); at the default random_page_cost of 4 (spinning disks) the
 * planner scanned a 50k-row table instead of making 500 index probes; 1.1 is the usual value
 * for SSDs and a cached working set. All settings end with the transaction.
 */
export const prepareStep = (sql: SqlClient.SqlClient, dirtyOnly: boolean) =>
  sql
    .unsafe(
      `DROP TABLE IF EXISTS pg_temp.ccat_dirty, pg_temp.ccat_upstream, pg_temp.ccat_upstream_runs, pg_temp.ccat_step_input, pg_temp.ccat_upstream_state, pg_temp.ccat_current, pg_temp.ccat_decision, pg_temp.ccat_open, pg_temp.ccat_members;
       SELECT set_config('jit', 'off', true), set_config('work_mem', '64MB', true)${dirtyOnly ? ", set_config('random_page_cost', '1.1', true)" : ""}`
    )
    .pipe(Effect.asVoid)

/** ccat_upstream for every sub-group of a downstream step. */
const buildUpstream = (sql: SqlClient.SqlClient, e: StepEvaluation) =>
  Effect.gen(function* () {
    const { step, upstreamIds, ancestorIds } = e.target
    let rows = yield* rowsWritten(sql`
      CREATE TEMP TABLE ccat_upstream ON COMMIT DROP AS
      SELECT s.sub_group_key, l.id AS run_id, l.status, s.id AS raw_id
      FROM (
        SELECT DISTINCT ON (step_id, sub_group_key COLLATE "C") id, status FROM executed_reduction_step
        WHERE step_id IN ${sql.in(upstreamIds)}
        ORDER BY step_id, sub_group_key COLLATE "C", id DESC
      ) l
      JOIN run_coverage c ON c.run_id = l.id
      JOIN (${keyedSelection(sql, e.selection, step.groupBy, { archivedOnly: false })}) s ON s.id = c.raw_data_package_id`)
    // Runs in flight further upstream hold the sub-groups they cover too: a rerun two steps
    // up will change this step's inputs once it has flowed through.
    if (ancestorIds.length > 0) {
      rows += yield* rowsWritten(sql`
        INSERT INTO ccat_upstream (sub_group_key, run_id, status, raw_id)
        SELECT s.sub_group_key, r.id, r.status, s.id
        FROM executed_reduction_step r
        JOIN run_coverage c ON c.run_id = r.id
        JOIN (${keyedSelection(sql, e.selection, step.groupBy, { archivedOnly: false })}) s ON s.id = c.raw_data_package_id
        WHERE r.step_id IN ${sql.in(ancestorIds)} AND r.status IN ${sql.in(inFlight)}`)
    }
    return rows
  })

/**
 * ccat_upstream for the dirty sub-groups of a downstream step. First the runs in flight of the
 * steps upstream (few, and found by status): a dirty sub-group they cover waits, whatever its
 * inputs. Then, for the rest ("open", and the sub-group explained), the latest run of every
 * upstream sub-group that covers one of their packages, with those packages: what the full
 * evaluation reads for them. (A run in flight is the latest of its sub-group, so the explained
 * one's upstream runs are those of the full evaluation, some twice: ccat_upstream_runs is
 * distinct.)
 */
const buildDirtyUpstream = (sql: SqlClient.SqlClient, e: StepEvaluation, { lookUpAtMost, explained }: DirtyInputs) =>
  Effect.gen(function* () {
    const { step, upstreamIds, ancestorIds } = e.target
    const feeding = [...upstreamIds, ...ancestorIds]
    const waiting = yield* rowsWritten(sql`
      CREATE TEMP TABLE ccat_upstream ON COMMIT DROP AS
      -- The runs in flight with their coverage, once: joined twice (as here before), the planner,
      -- which statistics tell that nothing is in flight, looked each run's packages up again for
      -- every run in flight (500 x 1000 index probes on a resumed bench database).
      WITH flying AS MATERIALIZED (
        SELECT r.id, r.status, c.raw_data_package_id
        FROM executed_reduction_step r JOIN run_coverage c ON c.run_id = r.id
        WHERE r.status IN ${sql.in(inFlight)} AND r.step_id IN ${sql.in(feeding)}
      )
      SELECT s.sub_group_key, f.id AS run_id, f.status, s.id AS raw_id
      FROM flying f
      JOIN (${keyedSelection(sql, e.selection, step.groupBy, {
        archivedOnly: false,
        restrict: sql`raw_data_package.id IN (SELECT raw_data_package_id FROM flying)`
      })}) s ON s.id = f.raw_data_package_id
      WHERE s.sub_group_key IN (SELECT sub_group_key FROM ccat_dirty)`)
    const open = yield* rowsWritten(sql`
      CREATE TEMP TABLE ccat_open ON COMMIT DROP AS
      SELECT sub_group_key FROM ccat_dirty EXCEPT SELECT sub_group_key FROM ccat_upstream
      ${explained === undefined ? sql`` : sql`UNION SELECT ${explained}::text`}`)
    if (open === 0) return waiting
    if (open > lookUpAtMost) return "whole-step" as const
    const restrict = yield* membersOf(sql, e, "ccat_open")
    const members = yield* rowsWritten(sql`
      CREATE TEMP TABLE ccat_members ON COMMIT DROP AS
      SELECT s.id, s.sub_group_key
      FROM (${keyedSelection(sql, e.selection, step.groupBy, { archivedOnly: false, restrict })}) s
      WHERE s.sub_group_key IN (SELECT sub_group_key FROM ccat_open)`)
    yield* analyzeIfLarge(sql, "ccat_members", members)
    const settled = yield* rowsWritten(sql`
      INSERT INTO ccat_upstream (sub_group_key, run_id, status, raw_id)
      WITH pairs AS (
        SELECT DISTINCT r.step_id, r.sub_group_key
        FROM ccat_members m
        JOIN run_coverage c ON c.raw_data_package_id = m.id
        JOIN executed_reduction_step r ON r.id = c.run_id
        WHERE r.step_id IN ${sql.in(upstreamIds)}
      ),
      latest AS (
        SELECT l.id, l.status FROM pairs p
        CROSS JOIN LATERAL (
          SELECT x.id, x.status FROM executed_reduction_step x
          WHERE x.step_id = p.step_id AND x.sub_group_key = p.sub_group_key
          ORDER BY x.id DESC LIMIT 1
        ) l
      )
      SELECT m.sub_group_key, l.id, l.status, m.id
      FROM latest l
      JOIN run_coverage c ON c.run_id = l.id
      JOIN ccat_members m ON m.id = c.raw_data_package_id`)
    return waiting + settled
  })

/**
 * `COLLATE "C"` for the sorts and groupings of a full evaluation. Sub-group keys are ASCII, so
 * byte order is their order in any collation, and comparing bytes is several times cheaper than
 * the database collation's strcoll (which also rules out abbreviated sort keys): 500k keys are
 * sorted a few times per step at 1M packages. Not when evaluating dirty sub-groups: there the
 * keys meet the indexes of executed_reduction_step, which only serve the column's own collation.
 */
export const byteOrder = (sql: SqlClient.SqlClient, dirtyOnly: boolean): Statement.Fragment => (dirtyOnly ? sql`` : sql` COLLATE "C"`)
