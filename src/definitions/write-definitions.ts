import { SqlClient, type SqlError } from "@effect/sql"
import { Data, Effect } from "effect"
import { encodeIrWorkspace, type IrSoftware } from "../compiler/ir.ts"
import { groupingTable, locationTable, pipelineTable, softwareTable, stepTable, type PipelineStep } from "./definition-tables.ts"
import type { Plan } from "./plan.ts"
import type { PlanDoesNotMatchDefinitions } from "./plan-mismatch.ts"
import type { StoredDefinitions } from "./stored.ts"
import { verifyIr } from "./verify-ir.ts"
import { planContext, resolveChanges, writeChanges, type WrittenRow } from "./write-changes.ts"

/*
 * Carries out a plan's changes as rows, inside the caller's transaction: one new definitions
 * generation, then inserts and in-place updates. Nothing is deleted: a retired definition gets
 * `retired_generation` and keeps its row, its runs and its products. The one exception is the
 * DAG edge table `reduction_step_upstream`, which mirrors the `after` of active steps; a
 * step's old `after` stays in its definition history (definitions_generation.ir).
 *
 * This is the one place definitions are written, so it is where a hash or fingerprint that its
 * definition does not produce is stopped: the IR must be what the compiler makes of its fields
 * (verify-ir.ts). `ccat apply` refuses such an IR with a message before it gets here; reaching
 * this with one is a defect of the caller. A plan whose changes name what its IR or the stored
 * rows do not have is refused with PlanDoesNotMatchDefinitions before anything is written.
 */

export class UnverifiedIr extends Data.TaggedError("UnverifiedIr")<{ readonly mismatches: ReadonlyArray<string> }> {
  override get message(): string {
    return `refusing to write definitions whose hashes or fingerprints their fields do not produce: ${this.mismatches.join("; ")}`
  }
}

const json = (value: unknown): string => JSON.stringify(value)

/** Versions: registered once, withdrawn when they leave the list, registered again if they return. */
const writeVersions = (written: WrittenRow<IrSoftware>, stored: StoredDefinitions, generation: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const { entity: s, id: softwareId } = written
    const known = stored.software.find((x) => x.name === s.name)?.versions ?? []
    for (const version of s.versions) {
      const image = s.image.replaceAll("{version}", version)
      const old = known.find((v) => v.version === version)
      if (old === undefined) {
        yield* sql`
          INSERT INTO reduction_software_version (software_id, version, image, registered_generation)
          VALUES (${softwareId}, ${version}, ${image}, ${generation})`
      } else {
        yield* sql`
          UPDATE reduction_software_version SET image = ${image}, withdrawn_generation = NULL
          WHERE software_id = ${softwareId} AND version = ${version}`
      }
    }
    for (const old of known) {
      if (old.withdrawnGeneration !== null || s.versions.includes(old.version)) continue
      yield* sql`
        UPDATE reduction_software_version SET withdrawn_generation = ${generation}
        WHERE software_id = ${softwareId} AND version = ${old.version}`
    }
  })

/** The DAG edges of a step written by the plan, from its `after`: only once all steps exist. */
const writeUpstream = (written: WrittenRow<PipelineStep>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const { entity, id } = written
    yield* sql`DELETE FROM reduction_step_upstream WHERE step_id = ${id}`
    if (entity.step.after.length === 0) return
    yield* sql`
      INSERT INTO reduction_step_upstream (step_id, upstream_step_id)
      SELECT ${id}, id FROM reduction_step WHERE pipeline_id = (SELECT pipeline_id FROM reduction_step WHERE id = ${id}) AND name IN ${sql.in(entity.step.after)}`
  })

export const writePlan = (
  plan: Plan,
  stored: StoredDefinitions,
  createdBy: string
): Effect.Effect<number, SqlError.SqlError | PlanDoesNotMatchDefinitions, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const { ir } = plan
    const mismatches = verifyIr(ir)
    if (mismatches.length > 0) return yield* Effect.die(new UnverifiedIr({ mismatches }))
    // Every change resolved before the first write, so that a plan that does not match is refused whole.
    const context = planContext(plan, stored)
    const locations = yield* resolveChanges(locationTable, plan, context)
    const software = yield* resolveChanges(softwareTable, plan, context)
    const groupings = yield* resolveChanges(groupingTable, plan, context)
    const pipelines = yield* resolveChanges(pipelineTable, plan, context)
    const steps = yield* resolveChanges(stepTable, plan, context)

    // Numbered max + 1 under the definitions lock rather than by the sequence: the rolled-back
    // preview of `ccat plan` writes a generation too, and must not make the next one skip a number.
    const [row] = yield* sql<{ id: number }>`
      INSERT INTO definitions_generation (id, created_by, ir_version, ir_hash, summary, ir)
      SELECT coalesce(max(id), 0) + 1, ${createdBy}, ${ir.irVersion}, ${ir.hash}, ${json(plan.summary)}::jsonb, ${json(encodeIrWorkspace(ir))}::jsonb
      FROM definitions_generation
      RETURNING id::int4 AS id`
    if (row === undefined) return yield* Effect.dieMessage("writePlan: INSERT … RETURNING gave no definitions generation")
    const generation = row.id

    // Shared definitions first: pipelines and steps refer to them.
    yield* writeChanges(locationTable, locations, generation)
    for (const written of yield* writeChanges(softwareTable, software, generation)) yield* writeVersions(written, stored, generation)
    yield* writeChanges(groupingTable, groupings, generation)
    yield* writeChanges(pipelineTable, pipelines, generation)
    for (const written of yield* writeChanges(stepTable, steps, generation)) yield* writeUpstream(written)

    // A pipeline's hash covers its steps: when only steps changed, its own row is otherwise the
    // same, but its hash must follow.
    for (const p of ir.pipelines) {
      const s = stored.pipelines.find((x) => x.name === p.name)
      const planned = plan.changes.some((c) => c.kind === "pipeline" && c.name === p.name)
      if (s !== undefined && !planned && s.hash !== p.hash) yield* sql`UPDATE pipeline SET hash = ${p.hash} WHERE id = ${s.id}`
    }
    return generation
  })
