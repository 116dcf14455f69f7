import { SqlClient, type SqlError, type Statement } from "@effect/sql"
import { Effect } from "effect"
import type { IrFilter, IrJson } from "../../compiler/ir.ts"
import { inFlightStatuses } from "../execution/run-status.ts"
import { keyedSelection, subGroupMembers } from "../selection/index.ts"
import type { StepToEvaluate } from "./applied-definitions.ts"
import { collectDirtySubGroups, type DirtyScope } from "./dirty-sub-groups.ts"
import { rowsWritten } from "./rows-written.ts"
import { isCreateReason, type ReasonCode } from "./reasons.ts"
import { mergeCounts, type Counts } from "./step-memo.ts"
import { forgetDirtyDecisions, rememberDecisions, replaceDecisions } from "./sub-group-state.ts"

/*
 * The gap of one step, decided in the database (runtime.md §2), in four statements over
 * transaction-scoped temporary tables:
 *
 *   ccat_upstream        (downstream steps) the latest run of every upstream sub-group, with
 *                        each raw package it covers re-keyed by THIS step's group_by, and the
 *                        runs in flight of steps further upstream;
 *   ccat_step_input      every input of every sub-group: the ARCHIVED raw packages of the
 *                        selection, or the SCIENCE and INTERMEDIATE products of the upstream
 *                        sub-groups whose latest run COMPLETED;
 *   ccat_upstream_state  per sub-group, upstream runs still in flight and upstream runs that
 *                        failed for good (left out of the inputs, reported);
 *   ccat_decision        one row per sub-group: its input identity and the reason code.
 *
 * then one INSERT creates the runs, their inputs, coverage and first event. Nothing here loops
 * over packages in JavaScript, and what reaches JavaScript is counts (or the decisions of one
 * step when explaining), so memory does not grow with the archive.
 *
 * Run the four inside one transaction: the temporary tables vanish at its end.
 *
 * The trigger loop evaluates incrementally (step-memo.ts): `ccat_dirty` (dirty-sub-groups.ts)
 * then holds the sub-groups that can have changed, and every statement is restricted to them.
 * A downstream sub-group with upstream work in flight is decided WAITING_UPSTREAM from the runs
 * in flight alone; only the others have their packages and upstream runs looked up, through the
 * dimension values their keys are made of (subGroupMembers), so an index leads to them.
 */

const inFlight = inFlightStatuses

/** How a trigger request shapes this evaluation. */
export interface RequestScope {
  readonly requestId: number
  /** A person asked (`ccat run`): cooldown is waived and runs that failed for good or were cancelled reopen. */
  readonly manual: boolean
  /** Every sub-group gets a run, even an up-to-date one. */
  readonly force: boolean
}

/** What the trigger loop remembers between passes (step-memo.ts) and how this evaluation uses it. */
export type StepMemory =
  /** Evaluate every sub-group and remember each decision. */
  | { readonly mode: "full" }
  /** Evaluate the dirty sub-groups only; `counts` are the remembered ones of every sub-group. */
  | { readonly mode: "incremental"; readonly scope: DirtyScope; readonly counts: Counts }

export interface StepEvaluation {
  readonly target: StepToEvaluate
  readonly selection: IrFilter | null
  readonly now: Date
  readonly actor: string
  readonly request: RequestScope | null
  readonly memory?: StepMemory | undefined
}

/**
 * Above this many sub-groups to look up, matching them by dimension values would make a
 * statement with too many parameters; the exact filter on the key over the whole selection
 * does the job then (it is what a full evaluation reads anyway).
 */
const maxLookedUpSubGroups = 5000

export interface StepDecision {
  readonly subGroupKey: string
  readonly reason: ReasonCode
  readonly creates: boolean
  readonly inputCount: number
  readonly inputIdentity: string | null
  /** The newest run of the sub-group before this pass. */
  readonly previousRunId: number | null
  readonly inFlightRunId: number | null
  readonly cooldownUntil: Date | null
  readonly upstreamInFlight: number
  readonly upstreamFailed: number
  /** A few of the upstream runs it waits for or left out, for `ccat why`. */
  readonly upstreamRunIds: ReadonlyArray<number>
  /** The inputs themselves, when one sub-group is explained: `raw:<uuid>` or `product:<id>`. */
  readonly inputs?: ReadonlyArray<string>
}

const jsonText = (value: IrJson | Readonly<Record<string, IrJson>>): string => JSON.stringify(value)

/**
 * Below this many rows a temporary table is not analysed: the planner's default guesses are
 * close enough for a few hundred rows, and each ANALYZE is a round trip (an incremental pass
 * over a few dirty sub-groups made a dozen of them). Above it, statistics matter: without them
 * the planner guessed 200 sub-groups for 500k (bench/gaps).
 */
const analyzeFrom = 1000

const analyzeIfLarge = (sql: SqlClient.SqlClient, table: string, rows: number) =>
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

/** Create the input tables of one step, restricted to ccat_dirty's sub-groups when `dirtyOnly`. */
const buildInputs = (sql: SqlClient.SqlClient, e: StepEvaluation, dirtyOnly: boolean, openLimit: number) =>
  Effect.gen(function* () {
    const { step, upstreamIds } = e.target
    if (upstreamIds.length === 0) {
      // A step that reads raw data: its inputs are the ARCHIVED packages of the selection.
      const restrict = dirtyOnly ? yield* membersOf(sql, e, "ccat_dirty") : undefined
      const onlyDirty = dirtyOnly ? sql`WHERE s.sub_group_key IN (SELECT sub_group_key FROM ccat_dirty)` : sql``
      yield* sql`CREATE TEMP TABLE ccat_upstream (sub_group_key text, run_id bigint, status text, raw_id uuid) ON COMMIT DROP`
      const inputs = yield* rowsWritten(sql`
        CREATE TEMP TABLE ccat_step_input ON COMMIT DROP AS
        SELECT s.sub_group_key, s.id AS raw_id, NULL::bigint AS product_id, s.checksum
        FROM (${keyedSelection(sql, e.selection, step.groupBy, { archivedOnly: true, restrict })}) s
        ${onlyDirty}`)
      // Without statistics the planner guesses a few hundred sub-groups for tables of millions.
      yield* analyzeIfLarge(sql, "ccat_step_input", inputs)
    } else {
      const upstream = dirtyOnly ? yield* buildDirtyUpstream(sql, e, openLimit) : yield* buildUpstream(sql, e)
      if (upstream === "whole-step") return "whole-step" as const
      yield* analyzeIfLarge(sql, "ccat_upstream", upstream)
      const inputs = yield* rowsWritten(sql`
        CREATE TEMP TABLE ccat_step_input ON COMMIT DROP AS
        SELECT u.sub_group_key, NULL::uuid AS raw_id, p.id AS product_id, p.checksum
        FROM (SELECT DISTINCT sub_group_key, run_id FROM ccat_upstream WHERE status = 'COMPLETED') u
        JOIN data_product p ON p.run_id = u.run_id
        WHERE p.product_type IN ('SCIENCE', 'INTERMEDIATE')`)
      yield* analyzeIfLarge(sql, "ccat_step_input", inputs)
    }
    const states = yield* rowsWritten(sql`
      CREATE TEMP TABLE ccat_upstream_state ON COMMIT DROP AS
      SELECT sub_group_key${byteOrder(sql, dirtyOnly)} AS sub_group_key,
        count(DISTINCT run_id) FILTER (WHERE status IN ${sql.in(inFlight)})::int AS in_flight,
        count(DISTINCT run_id) FILTER (WHERE status IN ('FAILED', 'CANCELLED'))::int AS failed,
        (array_agg(DISTINCT run_id) FILTER (WHERE status IN ${sql.in(inFlight)} OR status IN ('FAILED', 'CANCELLED')))[1:5] AS run_ids
      FROM ccat_upstream GROUP BY 1`)
    yield* analyzeIfLarge(sql, "ccat_upstream_state", states)
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
const prepareStep = (sql: SqlClient.SqlClient, dirtyOnly: boolean) =>
  sql
    .unsafe(
      `DROP TABLE IF EXISTS pg_temp.ccat_dirty, pg_temp.ccat_upstream, pg_temp.ccat_step_input, pg_temp.ccat_upstream_state, pg_temp.ccat_decision, pg_temp.ccat_open, pg_temp.ccat_members;
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
 * inputs. Then, for the rest ("open"), the latest run of every upstream sub-group that covers one
 * of their packages, with those packages: what the full evaluation reads for them.
 */
const buildDirtyUpstream = (sql: SqlClient.SqlClient, e: StepEvaluation, openLimit: number) =>
  Effect.gen(function* () {
    const { step, upstreamIds, ancestorIds } = e.target
    const feeding = [...upstreamIds, ...ancestorIds]
    const waiting = yield* rowsWritten(sql`
      CREATE TEMP TABLE ccat_upstream ON COMMIT DROP AS
      WITH flying AS MATERIALIZED (
        SELECT id, status FROM executed_reduction_step WHERE status IN ${sql.in(inFlight)} AND step_id IN ${sql.in(feeding)}
      )
      SELECT s.sub_group_key, f.id AS run_id, f.status, s.id AS raw_id
      FROM flying f
      JOIN run_coverage c ON c.run_id = f.id
      JOIN (${keyedSelection(sql, e.selection, step.groupBy, {
        archivedOnly: false,
        restrict: sql`raw_data_package.id IN (SELECT c2.raw_data_package_id FROM flying f2 JOIN run_coverage c2 ON c2.run_id = f2.id)`
      })}) s ON s.id = c.raw_data_package_id
      WHERE s.sub_group_key IN (SELECT sub_group_key FROM ccat_dirty)`)
    const open = yield* rowsWritten(sql`
      CREATE TEMP TABLE ccat_open ON COMMIT DROP AS
      SELECT sub_group_key FROM ccat_dirty EXCEPT SELECT sub_group_key FROM ccat_upstream`)
    if (open === 0) return waiting
    if (open >= openLimit) return "whole-step" as const
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
const byteOrder = (sql: SqlClient.SqlClient, dirtyOnly: boolean): Statement.Fragment => (dirtyOnly ? sql`` : sql` COLLATE "C"`)

/** Decide every sub-group of the step into ccat_decision. */
const decide = (sql: SqlClient.SqlClient, e: StepEvaluation, dirtyOnly: boolean) => {
  const { step, stepId, upstreamIds } = e.target
  const onlyDirty = dirtyOnly ? sql`AND sub_group_key IN (SELECT sub_group_key FROM ccat_dirty)` : sql``
  const manual = e.request?.manual ?? false
  const force = e.request?.force ?? false
  const tag = e.request === null ? "" : `request-${e.request.requestId}`
  const root = upstreamIds.length === 0
  const c = byteOrder(sql, dirtyOnly)
  // The input identity hashes the step's fingerprint and its inputs sorted by id. One sort of
  // all inputs, consumed in order by a plain string_agg, gives the same text as an ordered
  // aggregate; the ordered aggregate sorted each sub-group apart (500k small sorts at 1M).
  return sql`
    CREATE TEMP TABLE ccat_decision ON COMMIT DROP AS
    WITH cur AS (
      SELECT sub_group_key, count(*)::int AS input_count,
        encode(sha256(convert_to(${step.fingerprint} || E'\\n' || string_agg(item, E'\\n'), 'UTF8')), 'hex') AS identity
      FROM (
        SELECT sub_group_key${c} AS sub_group_key, coalesce(raw_id::text, 'product:' || product_id::text) || '=' || coalesce(checksum, '') AS item
        FROM ccat_step_input ORDER BY 1, raw_id, product_id
      ) ordered
      GROUP BY sub_group_key
    ),
    -- Every sub-group with inputs or with upstream runs to wait for or report, in one join
    -- (a UNION of keys and two joins back cost a sort and two hash tables of 500k at 1M).
    universe AS (
      SELECT coalesce(cur.sub_group_key, us.sub_group_key) AS sub_group_key, cur.identity, cur.input_count,
        us.in_flight, us.failed, us.run_ids
      FROM cur FULL JOIN ccat_upstream_state us ON us.sub_group_key = cur.sub_group_key
    ),
    latest AS (
      SELECT DISTINCT ON (sub_group_key${c}) sub_group_key${c} AS sub_group_key, id, created_at, fingerprint, software_version, image, config
      FROM executed_reduction_step WHERE step_id = ${stepId} ${onlyDirty}
      ORDER BY sub_group_key${c}, id DESC
    ),
    flying AS (
      SELECT sub_group_key, id, input_identity, request_tag FROM executed_reduction_step
      WHERE step_id = ${stepId} AND status IN ${sql.in(inFlight)} ${onlyDirty}
    ),
    same AS (
      SELECT r.sub_group_key${c} AS sub_group_key,
        bool_or(r.status = 'COMPLETED') AS completed,
        bool_or(r.status = 'FAILED') AS failed,
        bool_or(r.status = 'CANCELLED') AS cancelled,
        bool_or(r.request_tag = ${tag}) AS tagged
      FROM executed_reduction_step r JOIN cur ON r.sub_group_key = cur.sub_group_key AND r.input_identity = cur.identity
      WHERE r.step_id = ${stepId}
      GROUP BY 1
    ),
    decided AS (
      SELECT u.sub_group_key, u.identity, coalesce(u.input_count, 0) AS input_count,
        latest.id AS previous_run_id, flying.id AS in_flight_run_id,
        CASE WHEN latest.id IS NOT NULL AND ${step.cooldownSeconds}::float8 IS NOT NULL
          THEN latest.created_at + make_interval(secs => ${step.cooldownSeconds}::float8) END AS cooldown_until,
        coalesce(u.in_flight, 0) AS upstream_in_flight, coalesce(u.failed, 0) AS upstream_failed,
        coalesce(u.run_ids, ARRAY[]::bigint[]) AS upstream_run_ids,
        CASE
          WHEN coalesce(u.in_flight, 0) > 0 THEN 'WAITING_UPSTREAM'
          WHEN u.identity IS NULL THEN CASE WHEN coalesce(u.failed, 0) > 0 THEN 'FAILED_UPSTREAM' ELSE 'NO_INPUTS' END
          -- A forced request whose run is not the one in flight gets its run after it.
          WHEN flying.id IS NOT NULL THEN
            CASE WHEN flying.input_identity = u.identity AND NOT (${force}::boolean AND flying.request_tag <> ${tag}) THEN 'IN_FLIGHT' ELSE 'AFTER_IN_FLIGHT' END
          WHEN ${force}::boolean AND NOT coalesce(same.tagged, false) THEN 'MANUAL'
          WHEN same.completed THEN 'UP_TO_DATE'
          WHEN same.failed OR same.cancelled THEN
            CASE WHEN ${manual}::boolean AND NOT same.tagged THEN 'MANUAL' WHEN same.failed THEN 'FAILED_FINAL' ELSE 'CANCELLED' END
          WHEN NOT ${manual}::boolean AND latest.id IS NOT NULL AND ${step.cooldownSeconds}::float8 IS NOT NULL
            AND latest.created_at + make_interval(secs => ${step.cooldownSeconds}::float8) > ${e.now}::timestamptz THEN 'COOLDOWN'
          WHEN latest.id IS NULL THEN ${root ? "NEW_DATA" : "UPSTREAM_CHANGED"}
          WHEN latest.fingerprint <> ${step.fingerprint} THEN
            CASE WHEN latest.config <> ${jsonText(step.config)}::jsonb THEN 'CONFIG_CHANGED'
                 WHEN latest.software_version <> ${step.software.version} OR latest.image <> ${step.software.image} THEN 'SOFTWARE_CHANGED'
                 ELSE 'DEFINITION_CHANGED' END
          ELSE ${root ? "NEW_DATA" : "UPSTREAM_CHANGED"}
        END AS reason
      FROM universe u
      LEFT JOIN latest ON latest.sub_group_key = u.sub_group_key
      LEFT JOIN flying ON flying.sub_group_key = u.sub_group_key
      LEFT JOIN same ON same.sub_group_key = u.sub_group_key
    )
    SELECT *, reason IN ('NEW_DATA', 'CONFIG_CHANGED', 'SOFTWARE_CHANGED', 'DEFINITION_CHANGED', 'UPSTREAM_CHANGED', 'MANUAL') AS creates,
      CASE WHEN reason = 'MANUAL' THEN ${tag} ELSE '' END AS request_tag
    FROM decided`
}

/** Insert the runs ccat_decision calls for, with inputs, coverage and first event; returns how many. */
const createRuns = (sql: SqlClient.SqlClient, e: StepEvaluation) => {
  const { step, stepId } = e.target
  return sql<{ created: number }>`
    WITH ins AS (
      INSERT INTO executed_reduction_step
        (step_id, sub_group_key, input_identity, request_tag, fingerprint, status, reason, software_version, image, config, created_at, updated_at)
      SELECT ${stepId}, sub_group_key, identity, request_tag, ${step.fingerprint}, 'PENDING', reason,
        ${step.software.version}, ${step.software.image}, ${jsonText(step.config)}::jsonb, ${e.now}::timestamptz, ${e.now}::timestamptz
      FROM ccat_decision WHERE creates
      ORDER BY sub_group_key
      ON CONFLICT DO NOTHING
      RETURNING id, sub_group_key, reason
    ),
    inputs AS (
      INSERT INTO run_input (run_id, raw_data_package_id, data_product_id, checksum)
      SELECT ins.id, i.raw_id, i.product_id, i.checksum FROM ins JOIN ccat_step_input i ON i.sub_group_key = ins.sub_group_key
    ),
    coverage AS (
      INSERT INTO run_coverage (run_id, raw_data_package_id)
      SELECT ins.id, i.raw_id FROM ins JOIN ccat_step_input i ON i.sub_group_key = ins.sub_group_key WHERE i.raw_id IS NOT NULL
      UNION
      SELECT ins.id, u.raw_id FROM ins JOIN ccat_upstream u ON u.sub_group_key = ins.sub_group_key WHERE u.status = 'COMPLETED'
    ),
    events AS (
      INSERT INTO run_event (run_id, at, actor, from_status, to_status, reason)
      SELECT id, ${e.now}::timestamptz, ${e.actor}, NULL, 'PENDING', reason FROM ins
    )
    SELECT count(*)::int AS created FROM ins`
}

export interface StepOutcomeCounts {
  /** Sub-groups per reason code, over every sub-group of the step (also when only the dirty ones were evaluated). */
  readonly counts: Counts
  /** Runs actually inserted (a create that lost a race to another instance is not counted). */
  readonly created: number
  /** When the first cooldown it reported ends: the step must be evaluated again then. */
  readonly dueAt: Date | null
  /** How many sub-groups were decided: all of them, or the dirty ones. */
  readonly decided: number
  /** Every sub-group was decided (asked for, or cheaper than looking up the dirty ones: wholeStepFrom). */
  readonly inFull: boolean
}

/**
 * When a good share of a step's sub-groups needs its inputs looked up, deciding the whole step
 * costs less: the lookups that make a few sub-groups cheap (index probes per package and per
 * upstream sub-group) lose to the full evaluation's scans and hash joins. At 1M packages, after
 * 500 new scans' baselines completed, the map step had 50 of its 80 sub-groups to look up, each
 * with ~12k inputs: 13-14 s that way, against about 8 s for the whole step. Dirty sub-groups
 * held by upstream work in flight do not count: they are decided from the runs in flight alone.
 * Steps with few sub-groups stay incremental: they are cheap either way.
 */
const fullFromShare = 0.25
const fullFromSubGroups = 50

/** How many sub-groups to look up make the whole step cheaper (Infinity: never). */
const wholeStepFrom = (remembered: Counts): number => {
  const total = Object.values(remembered).reduce((n, k) => n + (k ?? 0), 0)
  return total >= fullFromSubGroups ? Math.max(1, Math.ceil(total * fullFromShare)) : Number.POSITIVE_INFINITY
}

/** Leave the dirty-sub-group evaluation: clear its tables and its planner setting. */
const switchToWholeStep = (sql: SqlClient.SqlClient) =>
  Effect.zipRight(
    prepareStep(sql, false),
    sql`SELECT set_config('random_page_cost', reset_val, true) FROM pg_settings WHERE name = 'random_page_cost'`
  )

/**
 * Decide the sub-groups of one step (every one, or with `memory.mode = "incremental"` the
 * dirty ones) and create its runs. Must run inside a transaction. `explain` returns the
 * decisions too, all of them or those of one sub-group.
 */
export const evaluateStep = (
  e: StepEvaluation,
  explain?: { readonly subGroupKey?: string | undefined }
): Effect.Effect<StepOutcomeCounts & { readonly decisions: ReadonlyArray<StepDecision> | null }, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const memory = e.memory
    let dirtyOnly = memory?.mode === "incremental"
    yield* prepareStep(sql, dirtyOnly)
    let openLimit = Number.POSITIVE_INFINITY
    if (memory?.mode === "incremental") {
      const dirty = yield* collectDirtySubGroups(sql, e.target, memory.scope)
      if (dirty === 0) return { counts: memory.counts, created: 0, dueAt: null, decided: 0, decisions: null, inFull: false }
      openLimit = wholeStepFrom(memory.counts)
      // A step reading raw data looks up every dirty sub-group; a downstream step knows how
      // many it must look up once the ones waiting for upstream runs are set aside.
      if (e.target.upstreamIds.length === 0 && dirty >= openLimit) {
        dirtyOnly = false
        yield* switchToWholeStep(sql)
      }
    }
    if ((yield* buildInputs(sql, e, dirtyOnly, openLimit)) === "whole-step") {
      dirtyOnly = false
      yield* switchToWholeStep(sql)
      yield* buildInputs(sql, e, false, Number.POSITIVE_INFINITY)
    }
    yield* decide(sql, e, dirtyOnly)
    const countRows = yield* sql<{ reason: ReasonCode; n: number; due_at: Date | null }>`
      SELECT reason, count(*)::int AS n, min(cooldown_until) FILTER (WHERE reason = 'COOLDOWN') AS due_at
      FROM ccat_decision GROUP BY reason ORDER BY reason`
    const decidedCounts: Counts = Object.fromEntries(countRows.map((r) => [r.reason, r.n]))
    const toCreate = countRows.some((r) => isCreateReason(r.reason))
    const due = countRows.find((r) => r.reason === "COOLDOWN")
    let decisions = explain === undefined ? null : yield* readDecisions(sql, explain.subGroupKey)
    if (explain?.subGroupKey !== undefined && decisions !== null) {
      const inputs = yield* sql<{ input: string }>`
        SELECT coalesce('raw:' || raw_id::text, 'product:' || product_id::text) AS input FROM ccat_step_input
        WHERE sub_group_key = ${explain.subGroupKey} ORDER BY 1`
      decisions = decisions.map((d) => ({ ...d, inputs: inputs.map((i) => i.input) }))
    }
    const [created] = toCreate ? yield* createRuns(sql, e) : [{ created: 0 }]
    let counts = decidedCounts
    if (memory?.mode === "incremental" && dirtyOnly) {
      const removed = yield* forgetDirtyDecisions(sql, e.target.stepId)
      yield* rememberDecisions(sql, e.target.stepId)
      counts = mergeCounts(memory.counts, removed, decidedCounts)
    } else if (memory !== undefined) {
      yield* replaceDecisions(sql, e.target.stepId)
    }
    return {
      counts,
      created: created?.created ?? 0,
      dueAt: due?.due_at === null || due === undefined ? null : new Date(due.due_at),
      decided: countRows.reduce((n, r) => n + r.n, 0),
      decisions,
      inFull: !dirtyOnly
    }
  })

interface DecisionRow {
  readonly sub_group_key: string
  readonly identity: string | null
  readonly input_count: number
  readonly previous_run_id: string | null
  readonly in_flight_run_id: string | null
  readonly cooldown_until: Date | null
  readonly upstream_in_flight: number
  readonly upstream_failed: number
  readonly upstream_run_ids: ReadonlyArray<string> | null
  readonly reason: ReasonCode
  readonly creates: boolean
}

const readDecisions = (sql: SqlClient.SqlClient, subGroupKey: string | undefined) => {
  const where: Statement.Fragment = subGroupKey === undefined ? sql`TRUE` : sql`sub_group_key = ${subGroupKey}`
  return sql<DecisionRow>`SELECT * FROM ccat_decision WHERE ${where} ORDER BY sub_group_key`.pipe(
    Effect.map((rows) =>
      rows.map(
        (r): StepDecision => ({
          subGroupKey: r.sub_group_key,
          reason: r.reason,
          creates: r.creates,
          inputCount: r.input_count,
          inputIdentity: r.identity,
          previousRunId: r.previous_run_id === null ? null : Number(r.previous_run_id),
          inFlightRunId: r.in_flight_run_id === null ? null : Number(r.in_flight_run_id),
          cooldownUntil: r.cooldown_until === null ? null : new Date(r.cooldown_until),
          upstreamInFlight: r.upstream_in_flight,
          upstreamFailed: r.upstream_failed,
          upstreamRunIds: (r.upstream_run_ids ?? []).map(Number)
        })
      )
    )
  )
}
