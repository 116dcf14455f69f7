import { SqlClient, type SqlError } from "@effect/sql"
import { Effect } from "effect"
import { createHash } from "node:crypto"
import type { IrFilter } from "../../compiler/ir.ts"
import type { StepToEvaluate } from "./applied-definitions.ts"
import type { ReasonCode } from "./reasons.ts"

/*
 * Level-triggered, but not wasteful: the trigger loop remembers, per step, what it decided and
 * from which state of the world (trigger_step_state). A step is evaluated again only when
 *   - its definition, its grouping's selection or its upstream steps changed,
 *   - any raw package changed (raw_data_package.change_seq moved),
 *   - any run changed status (a run_event was written),
 *   - a cooldown it reported ends (due_at), or
 *   - its last evaluation is older than `fullEvery` — the safety net for what these signals
 *     do not see (a source renamed, an obs unit moved to another line).
 * Requests, previews (`ccat plan`, `ccat why`) and explicit passes always evaluate.
 */

export const fullEvery = 10 * 60 * 1000

/** The state of the world a pass starts from. */
export interface WorldSignals {
  readonly changeSeq: number
  readonly eventId: number
}

export const worldSignals: Effect.Effect<WorldSignals, SqlError.SqlError, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [row] = yield* sql<{ change_seq: string; event_id: string }>`
    SELECT (SELECT coalesce(max(change_seq), 0) FROM raw_data_package) AS change_seq,
           (SELECT coalesce(max(id), 0) FROM run_event) AS event_id`
  return { changeSeq: Number(row!.change_seq), eventId: Number(row!.event_id) }
})

export const definitionHash = (target: StepToEvaluate, selection: IrFilter | null): string =>
  createHash("sha256")
    .update(JSON.stringify([target.step.hash, selection, target.upstreamIds, target.ancestorIds]))
    .digest("hex")

/** The remembered counts, when nothing the step depends on changed. */
export const rememberedCounts = (
  target: StepToEvaluate,
  hash: string,
  world: WorldSignals,
  now: Date
): Effect.Effect<Readonly<Partial<Record<ReasonCode, number>>> | null, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<{ counts: Partial<Record<ReasonCode, number>> }>`
      SELECT counts FROM trigger_step_state
      WHERE step_id = ${target.stepId} AND definition_hash = ${hash} AND change_seq = ${world.changeSeq} AND event_id = ${world.eventId}
        AND evaluated_at > ${new Date(now.getTime() - fullEvery)} AND (due_at IS NULL OR due_at > ${now})`
    return row?.counts ?? null
  })

export const remember = (
  target: StepToEvaluate,
  hash: string,
  world: WorldSignals,
  now: Date,
  dueAt: Date | null,
  counts: Readonly<Partial<Record<ReasonCode, number>>>
): Effect.Effect<void, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql`
      INSERT INTO trigger_step_state (step_id, definition_hash, change_seq, event_id, evaluated_at, due_at, counts)
      VALUES (${target.stepId}, ${hash}, ${world.changeSeq}, ${world.eventId}, ${now}, ${dueAt}, ${JSON.stringify(counts)}::jsonb)
      ON CONFLICT (step_id) DO UPDATE SET definition_hash = EXCLUDED.definition_hash, change_seq = EXCLUDED.change_seq,
        event_id = EXCLUDED.event_id, evaluated_at = EXCLUDED.evaluated_at, due_at = EXCLUDED.due_at, counts = EXCLUDED.counts`
  )
