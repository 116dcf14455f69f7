import { SqlClient, type SqlError, type Statement } from "@effect/sql"
import { Effect } from "effect"
import type { IrFilter, IrJson } from "../../compiler/ir.ts"
import { inFlightStatuses } from "../execution/run-status.ts"
import type { StepToEvaluate } from "./applied-definitions.ts"
import { collectDirtySubGroups, updatedSelectionTables, type DirtyScope } from "./dirty-sub-groups.ts"
import { purgeLockShared } from "./purge-lock.ts"
import { createReasons, isCreateReason, reasonCase, type ReasonCode } from "./reasons.ts"
import { analyzeIfLarge, buildInputs, byteOrder, prepareStep, type DirtyInputs } from "./step-inputs.ts"
import { rowsWritten } from "./rows-written.ts"
import { mergeCounts, type Counts } from "./step-memo.ts"
import { dirtyDecisionCounts, forgetDirtyDecisions, rememberDecisions, replaceDecisions } from "./sub-group-state.ts"

/*
 * The gap of one step, decided in the database (docs/design/runtime.md §2.3–§2.5) over transaction-scoped
 * temporary tables: step-inputs.ts builds the inputs and upstream state of every sub-group
 * (or of the dirty ones), then
 *
 *   ccat_current         (full evaluations) one row per sub-group with inputs: their count and
 *                        input identity;
 *   ccat_decision        one row per sub-group: its input identity and the reason code (the
 *                        first row of reasons.ts's reasonTable that applies),
 *
 * then, when some sub-groups are about to get a run, one statement holds back those that would read
 * a product whose files were purged (WAITING_UPSTREAM) and asks for the upstream runs that made
 * those products to be rebuilt (rebuild_request, migration 10; the upstream sub-group's next
 * decision is INPUT_PURGED), and one INSERT creates the runs, their inputs, coverage and first
 * event. Nothing here loops
 * over packages in JavaScript, and what reaches JavaScript is counts (or the decisions of one
 * step when explaining), so memory does not grow with the archive.
 *
 * Run it inside one transaction: the temporary tables vanish at its end.
 *
 * The trigger loop evaluates incrementally (step-memo.ts): `ccat_dirty` (dirty-sub-groups.ts)
 * then holds the sub-groups that can have changed, and every statement is restricted to them,
 * unless deciding the whole step is cheaper (lookUpAtMost).
 */

const inFlight = inFlightStatuses

/** How a trigger request shapes this evaluation. */
export interface RequestScope {
  readonly requestId: number
  /**
   * A person asked (`ccat run`): cooldown is waived and runs that failed for good or were
   * cancelled reopen, once per sub-group: the runs the request creates carry its tag, and a
   * sub-group with one is neither reopened nor forced by it again.
   */
  readonly manual: boolean
  /** Every sub-group gets a run, even an up-to-date one (one per sub-group and request). */
  readonly force: boolean
}

/** What the trigger loop remembers between passes (step-memo.ts) and how this evaluation uses it. */
export type StepMemory =
  /** Evaluate every sub-group and remember each decision. */
  | { readonly mode: "full" }
  /**
   * Evaluate the dirty sub-groups only; `counts` are the remembered ones of every sub-group.
   * `readOnly`: leave the memory as it is (a preview that reads it without the step's lock).
   */
  | { readonly mode: "incremental"; readonly scope: DirtyScope; readonly counts: Counts; readonly readOnly?: boolean }

export interface StepEvaluation {
  readonly target: StepToEvaluate
  readonly selection: IrFilter | null
  readonly now: Date
  readonly actor: string
  readonly request: RequestScope | null
  readonly memory?: StepMemory | undefined
  /**
   * Decide only the sub-groups a downstream step asked to rebuild (rebuild_request), and create
   * their runs: for a step the pass does not otherwise evaluate (outside a request's `--step`, or
   * a cron or manual pipeline between requests), so that a downstream step it holds is never
   * stuck. Without memory.
   */
  readonly rebuildsOnly?: boolean | undefined
}

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
  /**
   * Held (WAITING_UPSTREAM) instead of creating a run because these upstream runs' products,
   * which it reads, were purged: each is asked to be rebuilt (INPUT_PURGED). Empty otherwise.
   */
  readonly rebuildRunIds: ReadonlyArray<number>
  /** The inputs themselves, when one sub-group is explained: `raw:<uuid>` or `product:<id>`. */
  readonly inputs?: ReadonlyArray<string>
}

const jsonText = (value: IrJson | Readonly<Record<string, IrJson>>): string => JSON.stringify(value)

/**
 * How the whole-step and the dirty-only decision statements differ; everything else, and the
 * reasons (reasons.ts), they share.
 */
interface DecisionScope {
  /** The sub-groups with inputs: their count and input identity. */
  readonly current: Statement.Fragment
  /** Restricts a read of the step's runs to the sub-groups decided. */
  readonly onlyDecided: Statement.Fragment
  /** The collation sub-group keys are compared in: bytes (step-inputs.ts, byteOrder). */
  readonly keyOrder: Statement.Fragment
  /** Whether the latest run COMPLETED with exactly these inputs (the settled sub-group's shortcut). */
  readonly latestDone: Statement.Fragment
  /** The sub-groups whose runs with exactly these inputs are looked up (`same`), and how. */
  readonly sameOf: Statement.Fragment
}

/**
 * The input identity hashes the step's fingerprint and its inputs sorted by id. One sort of all
 * inputs, consumed in order by a plain string_agg, gives the same text as an ordered aggregate;
 * the ordered aggregate sorted each sub-group apart (500k small sorts at 1M).
 */
const identities = (sql: SqlClient.SqlClient, e: StepEvaluation, keyOrder: Statement.Fragment) => sql`
    SELECT sub_group_key, count(*)::int AS input_count,
      encode(sha256(convert_to(${e.target.step.fingerprint} || E'\\n' || string_agg(item, E'\\n'), 'UTF8')), 'hex') AS identity
    FROM (
      SELECT sub_group_key${keyOrder} AS sub_group_key, coalesce(raw_id::text, 'product:' || product_id::text) || '=' || coalesce(checksum, '') AS item
      FROM ccat_step_input ORDER BY 1, raw_id, product_id
    ) ordered
    GROUP BY sub_group_key`

/**
 * Decide every sub-group of the step into ccat_decision. The identities get a table of their own,
 * analysed: as a CTE the planner guessed 200 rows for 500k (at 1M packages), and sorts spilled to
 * disk and merge joins followed. The shortcut through the latest run (latest_done) pays off over
 * a whole step: nearly every sub-group of a settled step is what its latest run did.
 */
const decideWholeStep = (sql: SqlClient.SqlClient, e: StepEvaluation) =>
  Effect.gen(function* () {
    const keyOrder = byteOrder(sql, false)
    const rows = yield* rowsWritten(sql`CREATE TEMP TABLE ccat_current ON COMMIT DROP AS ${identities(sql, e, keyOrder)}`)
    yield* analyzeIfLarge(sql, "ccat_current", rows)
    yield* decisionStatement(sql, e, {
      current: sql`SELECT * FROM ccat_current`,
      onlyDecided: sql``,
      keyOrder,
      latestDone: sql`coalesce(latest.input_identity = u.identity AND latest.status = 'COMPLETED', false)`,
      // In the column's own collation, so that run_identity leads to the few runs to look at.
      sameOf: sql`checked k JOIN executed_reduction_step r ON r.sub_group_key = k.sub_group_key COLLATE "default" AND r.input_identity = k.identity
      WHERE r.step_id = ${e.target.stepId} AND NOT k.latest_done`
    })
  })

/**
 * Decide the dirty sub-groups (ccat_dirty) into ccat_decision. A few sub-groups need no
 * statistics nor the round trip of a table of identities, and the index leads to their runs
 * directly: no shortcut through the latest run.
 */
const decideDirtySubGroups = (sql: SqlClient.SqlClient, e: StepEvaluation) => {
  const keyOrder = byteOrder(sql, true)
  return decisionStatement(sql, e, {
    current: identities(sql, e, keyOrder),
    onlyDecided: sql`AND sub_group_key IN (SELECT sub_group_key FROM ccat_dirty)`,
    keyOrder,
    latestDone: sql`false`,
    sameOf: sql`cur k JOIN executed_reduction_step r ON r.sub_group_key = k.sub_group_key AND r.input_identity = k.identity
      WHERE r.step_id = ${e.target.stepId}`
  })
}

/** The statement both decisions share: ccat_decision from the scope's sub-groups and the reasons' CASE. */
const decisionStatement = (sql: SqlClient.SqlClient, e: StepEvaluation, scope: DecisionScope) => {
  const { step, stepId, upstreamIds } = e.target
  const { onlyDecided, keyOrder: c } = scope
  const manual = e.request?.manual ?? false
  // Every run a person's request creates carries its tag, whatever its reason (a gap, a reopened
  // failure, a forced run): that is how the request knows, in every later pass it stays open,
  // which sub-groups it already ran. A cron tick has no powers to spend, and its runs stay untagged.
  const tag = e.request === null || !manual ? "" : `request-${e.request.requestId}`
  const reason = reasonCase({ sql, step, root: upstreamIds.length === 0, manual, force: e.request?.force ?? false, now: e.now })
  return sql`
    CREATE TEMP TABLE ccat_decision ON COMMIT DROP AS
    WITH cur AS (${scope.current}),
    -- Every sub-group with inputs or with upstream runs to wait for or report, in one join
    -- (a UNION of keys and two joins back cost a sort and two hash tables of 500k at 1M).
    universe AS (
      SELECT coalesce(cur.sub_group_key, us.sub_group_key) AS sub_group_key, cur.identity, cur.input_count,
        us.in_flight, us.failed, us.run_ids
      FROM cur FULL JOIN ccat_upstream_state us ON us.sub_group_key = cur.sub_group_key
    ),
    latest AS (
      SELECT DISTINCT ON (sub_group_key${c}) sub_group_key${c} AS sub_group_key, id, created_at, fingerprint, input_identity, status
      FROM executed_reduction_step WHERE step_id = ${stepId} ${onlyDecided}
      ORDER BY sub_group_key${c}, id DESC
    ),
    -- In a settled step nearly every sub-group is what its latest run did (same inputs,
    -- COMPLETED): then it is UP_TO_DATE, and only the others need every run with their identity
    -- (\`same\`), which at 1M packages was a join and a grouping of 500k runs. A request asks
    -- nothing of \`same\` for them either: whether it already ran a sub-group is in \`served\`.
    checked AS MATERIALIZED (
      SELECT u.*, latest.id AS latest_id, latest.created_at AS latest_created_at, latest.fingerprint AS latest_fingerprint,
        ${scope.latestDone} AS latest_done
      FROM universe u LEFT JOIN latest ON latest.sub_group_key = u.sub_group_key
    ),
    flying AS (
      SELECT sub_group_key, id, input_identity FROM executed_reduction_step
      WHERE step_id = ${stepId} AND status IN ${sql.in(inFlight)} ${onlyDecided}
    ),
    same AS (
      SELECT r.sub_group_key${c} AS sub_group_key,
        bool_or(r.status = 'COMPLETED') AS completed,
        bool_or(r.status = 'FAILED') AS failed,
        bool_or(r.status = 'CANCELLED') AS cancelled
      FROM ${scope.sameOf}
      GROUP BY 1
    ),
    -- The sub-groups this request already made a run for, with whatever inputs and whatever
    -- became of it: the request has had its effect there, and neither forces nor reopens them
    -- again. Without this, an open request (other sub-groups still waiting) reopened the runs it
    -- had made itself once they failed for good, and a failing sub-group ran twice per request.
    -- By tag, not in \`same\`: the request's run may have other inputs than the current ones.
    served AS (
      ${
        tag === ""
          ? sql`SELECT NULL::text AS sub_group_key WHERE false`
          : sql`SELECT DISTINCT sub_group_key${c} AS sub_group_key FROM executed_reduction_step
          WHERE step_id = ${stepId} AND request_tag = ${tag} ${onlyDecided}`
      }
    ),
    decided AS (
      SELECT k.sub_group_key, k.identity, coalesce(k.input_count, 0) AS input_count,
        k.latest_id AS previous_run_id, flying.id AS in_flight_run_id,
        CASE WHEN k.latest_id IS NOT NULL AND ${step.cooldownSeconds}::float8 IS NOT NULL
          THEN k.latest_created_at + make_interval(secs => ${step.cooldownSeconds}::float8) END AS cooldown_until,
        coalesce(k.in_flight, 0) AS upstream_in_flight, coalesce(k.failed, 0) AS upstream_failed,
        coalesce(k.run_ids, ARRAY[]::bigint[]) AS upstream_run_ids,
        ${reason} AS reason,
        served.sub_group_key IS NOT NULL AS served
      FROM checked k
      LEFT JOIN flying ON flying.sub_group_key = k.sub_group_key
      LEFT JOIN same ON same.sub_group_key = k.sub_group_key
      LEFT JOIN served ON served.sub_group_key = k.sub_group_key
      LEFT JOIN rebuild_request rebuild ON rebuild.run_id = k.latest_id AND rebuild.step_id = ${stepId}
    )
    -- A rebuild is tagged with the run it rebuilds: its identity is that run's, or the current one.
    -- A request tags its first run of a sub-group only: a later one (its inputs changed since) is
    -- the trigger's own, so the tag names at most one run per sub-group and request.
    SELECT *, reason IN ${sql.in(createReasons)} AS creates,
      CASE WHEN reason = 'INPUT_PURGED' THEN 'rebuild-' || previous_run_id
        WHEN reason IN ${sql.in(createReasons)} AND NOT served THEN ${tag} ELSE '' END AS request_tag,
      NULL::bigint[] AS rebuild_run_ids
    FROM decided`
}

/**
 * Of the sub-groups about to get a run, hold back (WAITING_UPSTREAM) those that would read a
 * product whose files were purged, and ask for every upstream run whose products are gone to be
 * rebuilt (rebuild_request; INPUT_PURGED in the upstream step's next decision). A product counts
 * as purged when a copy of it is no longer PRESENT (purge marks it DELETED) and none is: a
 * product recorded without any copy was never purged. Purge marks copies under the purge lock
 * that this evaluation holds shared (purge-lock.ts), so what this statement sees stays true
 * until the runs are inserted. Returns the held sub-groups by the reason they had, and how many
 * rebuilds were newly asked for.
 */
const holdPurgedInputs = (sql: SqlClient.SqlClient, e: StepEvaluation) =>
  sql<{ held: Record<string, number> | null; asked: number }>`
    -- The purged inputs first (the partial index physical_copy_gone, migration 10, holds the
    -- few copies that are not PRESENT), and only then the runs that made them.
    WITH gone AS MATERIALIZED (
      SELECT i.sub_group_key, i.product_id
      FROM ccat_decision d
      JOIN ccat_step_input i ON i.sub_group_key = d.sub_group_key
      WHERE d.creates AND i.product_id IS NOT NULL
        AND EXISTS (SELECT 1 FROM physical_copy g WHERE g.data_product_id = i.product_id AND g.status <> 'PRESENT')
        AND NOT EXISTS (SELECT 1 FROM physical_copy c WHERE c.data_product_id = i.product_id AND c.status = 'PRESENT')
    ),
    purged AS MATERIALIZED (
      SELECT d.sub_group_key, d.reason AS was, array_agg(DISTINCT p.run_id ORDER BY p.run_id) AS run_ids
      FROM gone
      JOIN data_product p ON p.id = gone.product_id
      JOIN ccat_decision d ON d.sub_group_key = gone.sub_group_key
      GROUP BY d.sub_group_key, d.reason
    ),
    held AS (
      UPDATE ccat_decision d SET reason = 'WAITING_UPSTREAM', creates = false, request_tag = '',
        rebuild_run_ids = purged.run_ids, upstream_run_ids = purged.run_ids[1:5]
      FROM purged WHERE d.sub_group_key = purged.sub_group_key
    ),
    asked AS (
      INSERT INTO rebuild_request (run_id, step_id, sub_group_key, requested_at, requested_by)
      SELECT DISTINCT ON (r.id) r.id, r.step_id, r.sub_group_key, ${e.now}::timestamptz, ${e.target.step.name} || ' ' || x.asker
      FROM (SELECT unnest(run_ids) AS run_id, sub_group_key AS asker FROM purged) x
      JOIN executed_reduction_step r ON r.id = x.run_id
      ORDER BY r.id, x.asker
      ON CONFLICT (run_id) DO NOTHING
      RETURNING run_id
    )
    SELECT (SELECT json_object_agg(was, n) FROM (SELECT was, count(*)::int AS n FROM purged GROUP BY was) c) AS held,
      (SELECT count(*)::int FROM asked) AS asked`

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
    ),
    -- A new run of a sub-group answers every rebuild asked of it: its products replace those
    -- of the run that was asked for once it completes (downstream steps read the latest run).
    answered AS (
      DELETE FROM rebuild_request q USING ins WHERE q.step_id = ${stepId} AND q.sub_group_key = ins.sub_group_key
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
  /** Every sub-group was decided (asked for, or cheaper than looking up the dirty ones: lookUpAtMost). */
  readonly inFull: boolean
  /** Upstream runs newly asked to be rebuilt, because sub-groups of this step read their purged products. */
  readonly rebuildsRequested: number
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
/** Runs created by one step evaluation from which the run tables' statistics are refreshed. */
const analyzeAfterRuns = 10_000

const fullFromShare = 0.25
const fullFromSubGroups = 50

/** The most sub-groups worth looking up one by one; above it the whole step is cheaper (Infinity: never). */
const lookUpAtMost = (remembered: Counts): number => {
  const total = Object.values(remembered).reduce((n, k) => n + (k ?? 0), 0)
  return total >= fullFromSubGroups ? Math.ceil(total * fullFromShare) - 1 : Number.POSITIVE_INFINITY
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
    // Held until the transaction ends: no purge marks a product between the decision and the runs.
    yield* purgeLockShared
    const memory = e.rebuildsOnly === true ? undefined : e.memory
    let dirtyOnly = memory?.mode === "incremental" || e.rebuildsOnly === true
    yield* prepareStep(sql, dirtyOnly)
    let only: DirtyInputs | null = null
    if (e.rebuildsOnly === true) {
      const dirty = yield* rowsWritten(sql`
        CREATE TEMP TABLE ccat_dirty ON COMMIT DROP AS
        SELECT DISTINCT sub_group_key FROM rebuild_request WHERE step_id = ${e.target.stepId}`)
      if (dirty === 0)
        return {
          counts: {},
          created: 0,
          dueAt: null,
          decided: 0,
          decisions: explain === undefined ? null : [],
          inFull: false,
          rebuildsRequested: 0
        }
      only = { dirty, lookUpAtMost: Number.POSITIVE_INFINITY }
    } else if (memory?.mode === "incremental") {
      // Rows above the packages updated since: packages below them may have changed sub-group.
      const above = yield* updatedSelectionTables(sql, e.target, e.selection, memory.scope.since)
      if (above.keysMayHaveMoved) {
        dirtyOnly = false
        yield* switchToWholeStep(sql)
      } else {
        const dirty = yield* collectDirtySubGroups(sql, e.target, memory.scope, above.updated)
        if (dirty === 0)
          return { counts: memory.counts, created: 0, dueAt: null, decided: 0, decisions: null, inFull: false, rebuildsRequested: 0 }
        only = { dirty, lookUpAtMost: lookUpAtMost(memory.counts), explained: memory.scope.explained }
      }
    }
    if ((yield* buildInputs(sql, e, only)) === "whole-step") {
      dirtyOnly = false
      yield* switchToWholeStep(sql)
      yield* buildInputs(sql, e, null)
    }
    yield* dirtyOnly ? decideDirtySubGroups(sql, e) : decideWholeStep(sql, e)
    const countRows = yield* sql<{ reason: ReasonCode; n: number; due_at: Date | null }>`
      SELECT reason, count(*)::int AS n, min(cooldown_until) FILTER (WHERE reason = 'COOLDOWN') AS due_at
      FROM ccat_decision GROUP BY reason ORDER BY reason`
    const decidedCounts: Partial<Record<ReasonCode, number>> = Object.fromEntries(countRows.map((r) => [r.reason, r.n]))
    let toCreate = countRows.some((r) => isCreateReason(r.reason))
    let rebuildsRequested = 0
    // Only products can be purged: a step that reads raw data has nothing to hold back.
    if (toCreate && e.target.upstreamIds.length > 0) {
      const [purged] = yield* holdPurgedInputs(sql, e)
      for (const [was, n] of Object.entries(purged?.held ?? {}) as Array<[ReasonCode, number]>) {
        decidedCounts[was] = (decidedCounts[was] ?? 0) - n
        if (decidedCounts[was] === 0) delete decidedCounts[was]
        decidedCounts.WAITING_UPSTREAM = (decidedCounts.WAITING_UPSTREAM ?? 0) + n
      }
      rebuildsRequested = purged?.asked ?? 0
      toCreate = Object.keys(decidedCounts).some(isCreateReason)
    }
    const due = countRows.find((r) => r.reason === "COOLDOWN")
    let decisions = explain === undefined ? null : yield* readDecisions(sql, explain.subGroupKey)
    if (explain?.subGroupKey !== undefined && decisions !== null) {
      const inputs = yield* sql<{ input: string }>`
        SELECT coalesce('raw:' || raw_id::text, 'product:' || product_id::text) AS input FROM ccat_step_input
        WHERE sub_group_key = ${explain.subGroupKey} ORDER BY 1`
      decisions = decisions.map((d) => ({ ...d, inputs: inputs.map((i) => i.input) }))
    }
    const [created] = toCreate ? yield* createRuns(sql, e) : [{ created: 0 }]
    // A backfill (the first pass over an archive, a config change) adds runs by the hundred
    // thousand, and the next steps of the same pass plan their joins over them before
    // autovacuum has looked: at 1M packages the map step's "runs in flight upstream" took 18.7 s
    // on statistics that knew none of the 500k new runs. A sample costs well under a second.
    if ((created?.created ?? 0) >= analyzeAfterRuns) yield* sql`ANALYZE executed_reduction_step, run_coverage, run_input`
    let counts = decidedCounts
    const readOnly = memory?.mode === "incremental" && memory.readOnly === true
    if (memory?.mode === "incremental" && dirtyOnly) {
      const removed = readOnly ? yield* dirtyDecisionCounts(sql, e.target.stepId) : yield* forgetDirtyDecisions(sql, e.target.stepId)
      if (!readOnly) yield* rememberDecisions(sql, e.target.stepId)
      counts = mergeCounts(memory.counts, removed, decidedCounts)
    } else if (memory !== undefined && !readOnly) {
      yield* replaceDecisions(sql, e.target.stepId)
    }
    return {
      counts,
      created: created?.created ?? 0,
      dueAt: due?.due_at === null || due === undefined ? null : new Date(due.due_at),
      decided: countRows.reduce((n, r) => n + r.n, 0),
      decisions,
      inFull: !dirtyOnly,
      rebuildsRequested
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
  readonly rebuild_run_ids: ReadonlyArray<string> | null
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
          upstreamRunIds: (r.upstream_run_ids ?? []).map(Number),
          rebuildRunIds: (r.rebuild_run_ids ?? []).map(Number)
        })
      )
    )
  )
}
