import { SqlClient, type SqlError } from "@effect/sql"
import { Data, Effect, Either } from "effect"
import { decodeIrWorkspace, type IrFilter, type IrPipeline, type IrStep, type IrWorkspace } from "../../compiler/ir.ts"

/*
 * What the trigger evaluates: the IR of the current definitions generation (or, for `ccat plan`,
 * the IR about to be applied), joined with the database ids of its pipelines and steps so that
 * runs can be found and inserted. The runtime reads definitions only from the database, never
 * from `.ccat` files: what runs is what was applied.
 */

export interface StepToEvaluate {
  readonly step: IrStep
  readonly stepId: number
  /** Ids of the steps named in `after`; empty for a step that reads raw data. */
  readonly upstreamIds: ReadonlyArray<number>
  /** Ids of the steps further upstream (upstream of upstream, and so on): their runs in flight hold this step too. */
  readonly ancestorIds: ReadonlyArray<number>
}

export interface PipelineToEvaluate {
  readonly pipeline: IrPipeline
  readonly pipelineId: number
  /** The pipeline grouping's selection; `null` selects every package. */
  readonly selection: IrFilter | null
  /** Upstream before downstream (the IR's order). */
  readonly steps: ReadonlyArray<StepToEvaluate>
}

export class AppliedDefinitionsError extends Data.TaggedError("AppliedDefinitionsError")<{ readonly reason: string }> {
  override get message(): string {
    return `the applied definitions cannot be read: ${this.reason}`
  }
}

// The trigger loop reads the applied IR every pass, and decoding a workspace's IR costs more
// than the rest of a quiet pass. An IR is fixed by its hash, so the last one decoded is kept.
let lastDecoded: { readonly hash: string; readonly ir: IrWorkspace } | undefined

/** The IR of the newest generation, or `null` before the first `ccat apply`. */
export const appliedIr: Effect.Effect<IrWorkspace | null, SqlError.SqlError | AppliedDefinitionsError, SqlClient.SqlClient> = Effect.gen(
  function* () {
    const sql = yield* SqlClient.SqlClient
    const [newest] = yield* sql<{ id: string; ir_hash: string }>`SELECT id, ir_hash FROM definitions_generation ORDER BY id DESC LIMIT 1`
    if (newest === undefined) return null
    if (lastDecoded?.hash === newest.ir_hash) return lastDecoded.ir
    const [row] = yield* sql<{ ir: unknown }>`SELECT ir FROM definitions_generation WHERE id = ${newest.id}`
    if (row === undefined) return null
    const decoded = decodeIrWorkspace(row.ir)
    if (Either.isLeft(decoded)) {
      return yield* new AppliedDefinitionsError({
        reason: `generation ${newest.id} holds an IR this ccat cannot read (${decoded.left.message.split("\n")[0]})`
      })
    }
    lastDecoded = { hash: newest.ir_hash, ir: decoded.right }
    return decoded.right
  }
)

/**
 * The enabled pipelines of `ir` (at `location` when given) with their database ids, highest
 * priority first, then by name. Pipelines or steps without a row (not applied) are left out.
 */
export const pipelinesToEvaluate = (
  ir: IrWorkspace,
  location: string | null
): Effect.Effect<ReadonlyArray<PipelineToEvaluate>, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ pipeline_id: string; pipeline_name: string; step_id: string; step_name: string }>`
      SELECT p.id AS pipeline_id, p.name AS pipeline_name, s.id AS step_id, s.name AS step_name
      FROM pipeline p JOIN reduction_step s ON s.pipeline_id = p.id
      WHERE p.retired_generation IS NULL AND s.retired_generation IS NULL`
    const pipelineIds = new Map<string, number>()
    const stepIds = new Map<string, number>()
    for (const r of rows) {
      pipelineIds.set(r.pipeline_name, Number(r.pipeline_id))
      stepIds.set(`${r.pipeline_name}\u0000${r.step_name}`, Number(r.step_id))
    }
    const groupings = new Map(ir.groupings.map((g) => [g.name, g]))
    const result: Array<PipelineToEvaluate> = []
    const ordered = [...ir.pipelines].sort((a, b) => b.priority - a.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const pipeline of ordered) {
      if (!pipeline.enabled) continue
      if (location !== null && pipeline.location !== location) continue
      const pipelineId = pipelineIds.get(pipeline.name)
      if (pipelineId === undefined) continue
      const idOf = (step: string) => stepIds.get(`${pipeline.name}\u0000${step}`)
      const steps: Array<StepToEvaluate> = []
      const byName = new Map(pipeline.steps.map((s) => [s.name, s]))
      const ancestors = (name: string, seen = new Set<string>()): Set<string> => {
        for (const up of byName.get(name)?.after ?? []) {
          if (seen.has(up)) continue
          seen.add(up)
          ancestors(up, seen)
        }
        return seen
      }
      for (const step of pipeline.steps) {
        const stepId = idOf(step.name)
        const upstreamIds = step.after.map(idOf)
        if (stepId === undefined || upstreamIds.some((id) => id === undefined)) continue
        const further = [...ancestors(step.name)].filter((a) => !step.after.includes(a)).map(idOf)
        steps.push({
          step,
          stepId,
          upstreamIds: upstreamIds as ReadonlyArray<number>,
          ancestorIds: further.filter((id): id is number => id !== undefined)
        })
      }
      result.push({ pipeline, pipelineId, selection: groupings.get(pipeline.data)?.selection ?? null, steps })
    }
    return result
  })
