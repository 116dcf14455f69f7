import { SqlClient, type SqlError } from "@effect/sql"
import { Cron, Data, Effect, Either } from "effect"
import type { IrPipeline } from "../../compiler/ir.ts"

/*
 * Trigger requests: what makes a `cron` or `manual` pipeline evaluate, and what lets a person
 * force or reopen work on any pipeline (docs/design/runtime.md §2.7).
 *
 * A cron tick is a request too, recorded at most once per (pipeline, tick) by a unique
 * constraint. A pass records only the newest tick that has passed, so ticks missed while
 * nothing ran are caught up once, never replayed. The first pass that sees a cron pipeline
 * records the newest past tick as already handled: a new pipeline waits for its next tick.
 *
 * A request stays open until a pass in which none of its steps is still waiting (on upstream
 * runs, on a run in flight, on a cooldown), so one request carries a pipeline all the way
 * through its DAG. A pass honours the oldest open request of each pipeline.
 */

export interface OpenRequest {
  readonly id: number
  readonly kind: "manual" | "cron"
  /** `null`: every step. */
  readonly stepName: string | null
  readonly force: boolean
  readonly requestedBy: string
  readonly tickAt: Date | null
}

export class UnknownPipeline extends Data.TaggedError("UnknownPipeline")<{
  readonly name: string
  readonly known: ReadonlyArray<string>
}> {}
export class UnknownStep extends Data.TaggedError("UnknownStep")<{
  readonly pipeline: string
  readonly name: string
  readonly known: ReadonlyArray<string>
}> {}

/** The newest tick of `cron` at or before `now`. */
export const latestTick = (trigger: IrPipeline["trigger"], now: Date): Date | null => {
  if (trigger.cron === null) return null
  const parsed = Cron.parse(trigger.cron, trigger.timezone ?? "UTC")
  if (Either.isLeft(parsed)) return null
  // `prev` works in whole seconds and returns the tick strictly before the given second; a tick
  // at `now` (or earlier within the same second) has passed, so ask from the next second.
  return Cron.prev(parsed.right, new Date(Math.floor(now.getTime() / 1000) * 1000 + 1000))
}

/** The next tick after `now`, for messages. */
export const nextTick = (trigger: IrPipeline["trigger"], now: Date): Date | null => {
  if (trigger.cron === null) return null
  const parsed = Cron.parse(trigger.cron, trigger.timezone ?? "UTC")
  return Either.isLeft(parsed) ? null : Cron.next(parsed.right, now)
}

/** Record the newest passed tick of a cron pipeline as a request, once. */
export const recordCronTick = (
  pipelineId: number,
  trigger: IrPipeline["trigger"],
  now: Date
): Effect.Effect<void, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const tick = latestTick(trigger, now)
    if (tick === null) return
    const sql = yield* SqlClient.SqlClient
    const [last] = yield* sql<{ tick_at: Date | null }>`
      SELECT max(tick_at) AS tick_at FROM trigger_request WHERE pipeline_id = ${pipelineId} AND kind = 'cron'`
    if (last?.tick_at === null || last === undefined) {
      yield* sql`
        INSERT INTO trigger_request (pipeline_id, kind, tick_at, requested_by, requested_at, consumed_at)
        VALUES (${pipelineId}, 'cron', ${tick}, 'cron (first seen: waits for the next tick)', ${now}, ${now})
        ON CONFLICT DO NOTHING`
      return
    }
    if (tick.getTime() <= new Date(last.tick_at).getTime()) return
    yield* sql`
      INSERT INTO trigger_request (pipeline_id, kind, tick_at, requested_by, requested_at)
      VALUES (${pipelineId}, 'cron', ${tick}, 'cron', ${now})
      ON CONFLICT DO NOTHING`
  })

/** The oldest open request of a pipeline made at or before `now`. */
export const oldestOpenRequest = (
  pipelineId: number,
  now: Date
): Effect.Effect<OpenRequest | null, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{
      id: string
      kind: "manual" | "cron"
      step_name: string | null
      force: boolean
      requested_by: string
      tick_at: Date | null
    }>`
      SELECT id, kind, step_name, force, requested_by, tick_at FROM trigger_request
      WHERE pipeline_id = ${pipelineId} AND consumed_at IS NULL AND requested_at <= ${now}
      ORDER BY id LIMIT 1`
    const r = rows[0]
    return r === undefined
      ? null
      : { id: Number(r.id), kind: r.kind, stepName: r.step_name, force: r.force, requestedBy: r.requested_by, tickAt: r.tick_at }
  })

export const consumeRequest = (id: number, now: Date): Effect.Effect<void, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql`UPDATE trigger_request SET consumed_at = ${now} WHERE id = ${id} AND consumed_at IS NULL`
  )

/**
 * `ccat run <pipeline> [--step S] [--force]`: record a manual request against the applied
 * definitions. The pipeline and step must exist and not be retired.
 */
export const recordManualRequest = (options: {
  readonly pipeline: string
  readonly step: string | null
  readonly force: boolean
  readonly requestedBy: string
  readonly now: Date
}): Effect.Effect<number, SqlError.SqlError | UnknownPipeline | UnknownStep, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const pipelines = yield* sql<{ id: string; name: string }>`SELECT id, name FROM pipeline WHERE retired_generation IS NULL ORDER BY name`
    const pipeline = pipelines.find((p) => p.name === options.pipeline)
    if (pipeline === undefined) return yield* new UnknownPipeline({ name: options.pipeline, known: pipelines.map((p) => p.name) })
    if (options.step !== null) {
      const steps = yield* sql<{ name: string }>`
        SELECT name FROM reduction_step WHERE pipeline_id = ${pipeline.id} AND retired_generation IS NULL ORDER BY name`
      if (!steps.some((s) => s.name === options.step)) {
        return yield* new UnknownStep({ pipeline: options.pipeline, name: options.step, known: steps.map((s) => s.name) })
      }
    }
    const [row] = yield* sql<{ id: string }>`
      INSERT INTO trigger_request (pipeline_id, kind, step_name, force, requested_by, requested_at)
      VALUES (${pipeline.id}, 'manual', ${options.step}, ${options.force}, ${options.requestedBy}, ${options.now})
      RETURNING id`
    return Number(row!.id)
  })
