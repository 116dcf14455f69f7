import { SqlClient, type SqlError, type Statement } from "@effect/sql"
import { Duration, Effect } from "effect"
import { contentHash } from "../../compiler/canonical-json.ts"
import type { IrFilter } from "../../compiler/ir.ts"
import { tables } from "../../compiler/schema-registry.ts"
import type { StepToEvaluate } from "./applied-definitions.ts"
import type { ReasonCode } from "./reasons.ts"

/*
 * Level-triggered, but not wasteful: the trigger loop remembers, per step, what it decided and
 * from which state of the world (trigger_step_state, migration 5). The next pass then
 *   - skips the step when nothing was written since (no raw package, no row a selection reads,
 *     no run event, no rebuild asked for) and no cooldown it reported has ended ("unchanged");
 *   - evaluates only the sub-groups that can have changed (dirty-sub-groups.ts) when something
 *     was ("incremental");
 *   - evaluates every sub-group ("full") when there is no memory of the step, its definition,
 *     selection or upstream steps changed, or its last full evaluation is older than
 *     `CCAT_FULL_PASS_INTERVAL`: the reconciliation, a safety net for what no signal shows (a
 *     write that bypassed the triggers of migrations 5 and 8, a run whose status was changed
 *     without its event). Of the steps due for that, one per pass
 *     (reconcileNext), so that the reconciliations of a large archive are spread over passes.
 * Requests, previews that list every decision (`ccat why <step>`, `ccat plan --json`) and
 * explicit passes evaluate in full and remember nothing. The previews that report counts
 * (`ccat plan`, `ccat status`) or one sub-group's decision (`ccat why <step> <key>`) start from
 * this memory as the loop's next pass would, and write nothing to it (`fromMemory`,
 * step-with-memory.ts).
 *
 * "Since" is a database snapshot, not a counter: a row is new to a pass exactly when the
 * snapshot the previous pass started from did not see the transaction that wrote it, however
 * late that transaction committed.
 */

/** How often a remembering pass still evaluates each step in full, by default (`CCAT_FULL_PASS_INTERVAL`). */
export const defaultFullEvery = Duration.minutes(10)

export type Counts = Readonly<Partial<Record<ReasonCode, number>>>

/** The state of the world a pass starts from: `pg_current_snapshot()` as text. */
export interface WorldSignals {
  readonly snapshot: string
}

export const worldSignals: Effect.Effect<WorldSignals, SqlError.SqlError, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [row] = yield* sql<{ snapshot: string }>`SELECT pg_current_snapshot()::text AS snapshot`
  return { snapshot: row!.snapshot }
})

/**
 * The rows whose `column` (a transaction id, migration 5) names a transaction that `snapshot`
 * (`pg_current_snapshot()` text) did not see: what was written since. The snapshot goes in as a
 * parameter so the planner reads its xmin as a constant and walks the column's index from there.
 */
export const writtenSince = (
  sql: SqlClient.SqlClient,
  column: "change_xid" | "moved_xid" | "xid",
  snapshot: string,
  table?: string
): Statement.Fragment => {
  const since = sql`${snapshot}::pg_snapshot`
  const ref = table === undefined ? sql(column) : sql`${sql(table)}.${sql(column)}`
  return sql`${ref} >= pg_snapshot_xmin(${since}) AND NOT pg_visible_in_snapshot(${ref}, ${since})`
}

/**
 * The tables besides raw_data_package a selection can read, each with the transaction that last
 * updated a row (migration 8): a change there can move packages in or out of a selection, or
 * between sub-groups.
 */
const dimensionTables = tables.filter((t) => t.join !== null).map((t) => t.sqlTable)

/**
 * What the memory of a step was made under. A content hash (canonical JSON without spans):
 * `ccat plan` previews the compiled files against the memory the loop made from the applied
 * definitions, which come back from jsonb with their keys in another order, and with the spans
 * of wherever the files were when they were applied.
 */
export const definitionHash = (target: StepToEvaluate, selection: IrFilter | null): string =>
  contentHash([target.step.hash, selection, target.upstreamIds, target.ancestorIds])

export interface StepMemo {
  /** The snapshot the remembered pass started from. */
  readonly snapshot: string
  /** When that pass evaluated the step: with the snapshot, which version of the memory this is. */
  readonly evaluatedAt: Date
  readonly fullAt: Date
  /** When the earliest cooldown the step reported ends. */
  readonly dueAt: Date | null
  /** Sub-groups per reason, over every sub-group of the step. */
  readonly counts: Counts
}

/** How the pass treats one step. */
export type MemoUse =
  | { readonly _tag: "Unchanged"; readonly memo: StepMemo }
  | { readonly _tag: "Incremental"; readonly memo: StepMemo; readonly cooldownsDue: boolean }
  | { readonly _tag: "Full" }

/**
 * Read the step's memory and decide how to evaluate it. Run it inside the step's transaction,
 * after `lockStep`: another instance may have evaluated the step a moment ago. A step without
 * memory, or whose definition changed, is evaluated in full; one whose last full evaluation is
 * older than `fullEvery` only when `mayReconcile` (reconcileNext chose it for this pass), else it
 * waits for a later pass and goes on incrementally meanwhile.
 */
export const memoUse = (
  target: StepToEvaluate,
  hash: string,
  now: Date,
  fullEvery: Duration.Duration,
  mayReconcile: boolean
): Effect.Effect<MemoUse, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<{ snapshot: string; evaluated_at: Date; full_at: Date; due_at: Date | null; counts: Counts }>`
      SELECT snapshot, evaluated_at, full_at, due_at, counts FROM trigger_step_state
      WHERE step_id = ${target.stepId} AND definition_hash = ${hash}`
    if (row === undefined) return { _tag: "Full" }
    const fullAt = new Date(row.full_at)
    if (mayReconcile && fullAt.getTime() <= now.getTime() - Duration.toMillis(fullEvery)) return { _tag: "Full" }
    const memo: StepMemo = {
      snapshot: row.snapshot,
      evaluatedAt: new Date(row.evaluated_at),
      fullAt,
      dueAt: row.due_at === null ? null : new Date(row.due_at),
      counts: row.counts
    }
    const [changed] = yield* sql<{ changed: boolean }>`
      SELECT EXISTS (SELECT 1 FROM raw_data_package WHERE ${writtenSince(sql, "change_xid", memo.snapshot)})
          OR EXISTS (SELECT 1 FROM run_event WHERE ${writtenSince(sql, "xid", memo.snapshot)})
          OR EXISTS (SELECT 1 FROM rebuild_request WHERE step_id = ${target.stepId} AND ${writtenSince(sql, "xid", memo.snapshot)})
          ${sql.join(" ", false)(dimensionTables.map((t) => sql`OR EXISTS (SELECT 1 FROM ${sql(t)} WHERE ${writtenSince(sql, "change_xid", memo.snapshot)})`))} AS changed`
    const cooldownsDue = memo.dueAt !== null && memo.dueAt.getTime() <= now.getTime()
    if (changed?.changed !== true && !cooldownsDue) return { _tag: "Unchanged", memo }
    return { _tag: "Incremental", memo, cooldownsDue }
  })

/**
 * The one step (of `stepIds`) whose periodic full evaluation this pass makes: the one whose last
 * full evaluation is oldest among those older than `fullEvery`, or none. One per pass, because at
 * a million packages a step's full evaluation takes seconds (bench/gaps): were every step due in
 * the same pass, as after a start, that pass would hold new data back for all of them together.
 * Oldest first, so no step waits behind another that keeps coming due.
 */
export const reconcileNext = (
  stepIds: ReadonlyArray<number>,
  now: Date,
  fullEvery: Duration.Duration
): Effect.Effect<number | null, SqlError.SqlError, SqlClient.SqlClient> =>
  stepIds.length === 0
    ? Effect.succeed(null)
    : Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql<{ step_id: string }>`
          SELECT step_id FROM trigger_step_state
          WHERE step_id IN ${sql.in(stepIds)} AND full_at <= ${new Date(now.getTime() - Duration.toMillis(fullEvery))}
          ORDER BY full_at, step_id LIMIT 1`.pipe(Effect.map((rows) => (rows[0] === undefined ? null : Number(rows[0].step_id))))
      )

/**
 * Whether the step's memory is still `memo`: no pass has remembered the step since it was read.
 * For readers that do not take the step's lock (previews, step-with-memory.ts): the loop writes the
 * memory and the per-sub-group decisions in one transaction, so memory read before and found
 * unchanged after reading the decisions means the decisions belonged to it.
 */
export const memoStill = (stepId: number, memo: StepMemo): Effect.Effect<boolean, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ same: boolean }>`
      SELECT snapshot = ${memo.snapshot} AND evaluated_at = ${memo.evaluatedAt} AS same
      FROM trigger_step_state WHERE step_id = ${stepId}`.pipe(Effect.map(([row]) => row?.same === true))
  )

/**
 * One evaluation of a step at a time across instances: the memory and the per-sub-group
 * decisions must describe one and the same evaluation. Held until the transaction ends.
 */
export const lockStep = (stepId: number): Effect.Effect<void, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT pg_advisory_xact_lock(${0x63636174}, ${stepId}::int)`.pipe(Effect.asVoid))

export const remember = (
  target: StepToEvaluate,
  hash: string,
  memo: Omit<StepMemo, "evaluatedAt">,
  now: Date
): Effect.Effect<void, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql`
      INSERT INTO trigger_step_state (step_id, definition_hash, snapshot, evaluated_at, full_at, due_at, counts)
      VALUES (${target.stepId}, ${hash}, ${memo.snapshot}, ${now}, ${memo.fullAt}, ${memo.dueAt}, ${JSON.stringify(memo.counts)}::jsonb)
      ON CONFLICT (step_id) DO UPDATE SET definition_hash = EXCLUDED.definition_hash, snapshot = EXCLUDED.snapshot,
        evaluated_at = EXCLUDED.evaluated_at, full_at = EXCLUDED.full_at, due_at = EXCLUDED.due_at, counts = EXCLUDED.counts`
  )

/** The step's counts after an incremental evaluation: the dirty sub-groups' old reasons out, their new ones in. */
export const mergeCounts = (before: Counts, removed: Counts, added: Counts): Counts => {
  const merged: Partial<Record<ReasonCode, number>> = { ...before }
  for (const [reason, n] of Object.entries(removed) as Array<[ReasonCode, number]>) merged[reason] = (merged[reason] ?? 0) - n
  for (const [reason, n] of Object.entries(added) as Array<[ReasonCode, number]>) merged[reason] = (merged[reason] ?? 0) + n
  for (const reason of Object.keys(merged) as Array<ReasonCode>) if ((merged[reason] ?? 0) <= 0) delete merged[reason]
  return merged
}
