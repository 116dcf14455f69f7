import { SqlClient, type SqlError } from "@effect/sql"
import { Data, Effect } from "effect"
import { encodeIrWorkspace, type IrGrouping, type IrLocation, type IrPipeline, type IrSoftware, type IrStep } from "../compiler/ir.ts"
import { definitionJson, pipelineDefinition } from "./entity-json.ts"
import type { EntityChange, EntityKind, Plan } from "./plan.ts"
import type { StoredDefinition, StoredDefinitions } from "./stored.ts"
import { verifyIr } from "./verify-ir.ts"

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
 * this with one is a defect of the caller.
 */

export class UnverifiedIr extends Data.TaggedError("UnverifiedIr")<{ readonly mismatches: ReadonlyArray<string> }> {
  override get message(): string {
    return `refusing to write definitions whose hashes or fingerprints their fields do not produce: ${this.mismatches.join("; ")}`
  }
}

const tables: Readonly<Record<EntityKind, "location" | "reduction_software" | "data_grouping" | "pipeline" | "reduction_step">> = {
  location: "location",
  software: "reduction_software",
  grouping: "data_grouping",
  pipeline: "pipeline",
  step: "reduction_step"
}

const key = (kind: EntityKind, name: string, pipeline: string | null): string => `${kind}\u0000${pipeline ?? ""}\u0000${name}`

const storedIndex = (stored: StoredDefinitions): Map<string, StoredDefinition> => {
  const out = new Map<string, StoredDefinition>()
  for (const l of stored.locations) out.set(key("location", l.name, null), l)
  for (const s of stored.software) out.set(key("software", s.name, null), s)
  for (const g of stored.groupings) out.set(key("grouping", g.name, null), g)
  for (const p of stored.pipelines) {
    out.set(key("pipeline", p.name, null), p)
    for (const s of p.steps) out.set(key("step", s.name, p.name), s)
  }
  return out
}

const json = (value: unknown): string => JSON.stringify(value)

export const writePlan = (plan: Plan, stored: StoredDefinitions, createdBy: string): Effect.Effect<number, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const { ir } = plan
    const mismatches = verifyIr(ir)
    if (mismatches.length > 0) return yield* Effect.die(new UnverifiedIr({ mismatches }))
    // Numbered max + 1 under the definitions lock rather than by the sequence: the rolled-back
    // preview of `ccat plan` writes a generation too, and must not make the next one skip a number.
    const [row] = yield* sql<{ id: number }>`
      INSERT INTO definitions_generation (id, created_by, ir_version, ir_hash, summary, ir)
      SELECT coalesce(max(id), 0) + 1, ${createdBy}, ${ir.irVersion}, ${ir.hash}, ${json(plan.summary)}::jsonb, ${json(encodeIrWorkspace(ir))}::jsonb
      FROM definitions_generation
      RETURNING id::int4 AS id`
    const generation = row!.id
    const storedBy = storedIndex(stored)
    const storedId = (c: EntityChange): string => {
      const s = storedBy.get(key(c.kind, c.name, c.pipeline))
      // The plan was made from these very rows, under the same lock: a miss is a bug, not a state.
      if (s === undefined) throw new Error(`apply: no stored ${c.kind} ${c.name} to ${c.action}`)
      return s.id
    }
    const idsByName = (table: "location" | "reduction_software" | "data_grouping" | "pipeline") =>
      sql<{ id: string; name: string }>`SELECT id::text AS id, name FROM ${sql(table)}`.pipe(Effect.map((rows) => new Map(rows.map((r) => [r.name, r.id]))))

    const ofKind = (kind: EntityKind) => plan.changes.filter((c) => c.kind === kind)
    const retire = (c: EntityChange) => sql`UPDATE ${sql(tables[c.kind])} SET retired_generation = ${generation} WHERE id = ${storedId(c)}`

    // Shared definitions first: pipelines and steps refer to them.
    for (const c of ofKind("location")) {
      if (c.action === "retire") {
        yield* retire(c)
        continue
      }
      const l: IrLocation = ir.locations.find((x) => x.name === c.name)!
      const definition = json(definitionJson(l))
      if (c.action === "create") {
        yield* sql`
          INSERT INTO location (name, site, backend, definition, hash, created_generation, updated_generation)
          VALUES (${l.name}, ${l.site}, ${l.backend.kind}, ${definition}::jsonb, ${l.hash}, ${generation}, ${generation})`
      } else {
        yield* sql`
          UPDATE location SET site = ${l.site}, backend = ${l.backend.kind}, definition = ${definition}::jsonb, hash = ${l.hash},
            updated_generation = ${generation}, retired_generation = NULL
          WHERE id = ${storedId(c)}`
      }
    }

    for (const c of ofKind("software")) {
      if (c.action === "retire") {
        yield* retire(c)
        continue
      }
      const s: IrSoftware = ir.software.find((x) => x.name === c.name)!
      const definition = json(definitionJson(s))
      const [written] =
        c.action === "create"
          ? yield* sql<{ id: string }>`
              INSERT INTO reduction_software (name, image, command, definition, hash, created_generation, updated_generation)
              VALUES (${s.name}, ${s.image}, ${s.command}, ${definition}::jsonb, ${s.hash}, ${generation}, ${generation})
              RETURNING id::text AS id`
          : yield* sql<{ id: string }>`
              UPDATE reduction_software SET image = ${s.image}, command = ${s.command}, definition = ${definition}::jsonb, hash = ${s.hash},
                updated_generation = ${generation}, retired_generation = NULL
              WHERE id = ${storedId(c)}
              RETURNING id::text AS id`
      const softwareId = written!.id
      // Versions: registered once, withdrawn when they leave the list, registered again if they return.
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
    }

    for (const c of ofKind("grouping")) {
      if (c.action === "retire") {
        yield* retire(c)
        continue
      }
      const g: IrGrouping = ir.groupings.find((x) => x.name === c.name)!
      const definition = json(definitionJson(g))
      if (c.action === "create") {
        yield* sql`
          INSERT INTO data_grouping (name, definition, hash, created_generation, updated_generation)
          VALUES (${g.name}, ${definition}::jsonb, ${g.hash}, ${generation}, ${generation})`
      } else {
        yield* sql`
          UPDATE data_grouping SET definition = ${definition}::jsonb, hash = ${g.hash}, updated_generation = ${generation}, retired_generation = NULL
          WHERE id = ${storedId(c)}`
      }
    }

    const groupingIds = yield* idsByName("data_grouping")
    const locationIds = yield* idsByName("location")
    for (const c of ofKind("pipeline")) {
      if (c.action === "retire") {
        yield* retire(c)
        continue
      }
      const p: IrPipeline = ir.pipelines.find((x) => x.name === c.name)!
      const definition = json(pipelineDefinition(p))
      const mode = p.trigger.mode.toUpperCase()
      const grouping = groupingIds.get(p.data)!
      const location = locationIds.get(p.location)!
      if (c.action === "create") {
        yield* sql`
          INSERT INTO pipeline (name, data_grouping_id, location_id, trigger_mode, cron, timezone, priority, enabled, definition, hash, created_generation, updated_generation)
          VALUES (${p.name}, ${grouping}, ${location}, ${mode}, ${p.trigger.cron}, ${p.trigger.timezone}, ${p.priority}, ${p.enabled}, ${definition}::jsonb, ${p.hash}, ${generation}, ${generation})`
      } else {
        yield* sql`
          UPDATE pipeline SET data_grouping_id = ${grouping}, location_id = ${location}, trigger_mode = ${mode}, cron = ${p.trigger.cron},
            timezone = ${p.trigger.timezone}, priority = ${p.priority}, enabled = ${p.enabled}, definition = ${definition}::jsonb, hash = ${p.hash},
            updated_generation = ${generation}, retired_generation = NULL
          WHERE id = ${storedId(c)}`
      }
    }

    const pipelineIds = yield* idsByName("pipeline")
    const softwareIds = yield* idsByName("reduction_software")
    const stepChanges = ofKind("step")
    for (const c of stepChanges) {
      if (c.action === "retire") {
        yield* retire(c)
        continue
      }
      const s: IrStep = ir.pipelines.find((x) => x.name === c.pipeline)!.steps.find((x) => x.name === c.name)!
      const definition = json(definitionJson(s))
      const pipeline = pipelineIds.get(c.pipeline!)!
      const software = softwareIds.get(s.software.name)!
      const groupBy = json(s.groupBy)
      if (c.action === "create") {
        yield* sql`
          INSERT INTO reduction_step (pipeline_id, name, software_id, version_range, version_policy, group_by, cooldown_seconds, retries, is_final, fingerprint,
            definition, hash, created_generation, updated_generation)
          VALUES (${pipeline}, ${s.name}, ${software}, ${s.software.range}, ${s.versionPolicy}, ARRAY(SELECT jsonb_array_elements_text(${groupBy}::jsonb)),
            ${s.cooldownSeconds}, ${s.retries}, ${s.final}, ${s.fingerprint}, ${definition}::jsonb, ${s.hash}, ${generation}, ${generation})`
      } else {
        yield* sql`
          UPDATE reduction_step SET software_id = ${software}, version_range = ${s.software.range}, version_policy = ${s.versionPolicy},
            group_by = ARRAY(SELECT jsonb_array_elements_text(${groupBy}::jsonb)), cooldown_seconds = ${s.cooldownSeconds}, retries = ${s.retries},
            is_final = ${s.final}, fingerprint = ${s.fingerprint}, definition = ${definition}::jsonb, hash = ${s.hash},
            updated_generation = ${generation}, retired_generation = NULL
          WHERE id = ${storedId(c)}`
      }
    }

    // The DAG edges of every step written above, from its `after`, once all steps exist.
    for (const c of stepChanges) {
      if (c.action === "retire") continue
      const s = ir.pipelines.find((x) => x.name === c.pipeline)!.steps.find((x) => x.name === c.name)!
      const pipeline = pipelineIds.get(c.pipeline!)!
      const [step] = yield* sql<{ id: string }>`SELECT id::text AS id FROM reduction_step WHERE pipeline_id = ${pipeline} AND name = ${s.name}`
      yield* sql`DELETE FROM reduction_step_upstream WHERE step_id = ${step!.id}`
      if (s.after.length > 0) {
        yield* sql`
          INSERT INTO reduction_step_upstream (step_id, upstream_step_id)
          SELECT ${step!.id}, id FROM reduction_step WHERE pipeline_id = ${pipeline} AND name IN ${sql.in(s.after)}`
      }
    }

    // A pipeline's hash covers its steps: when only steps changed, its own row is otherwise the
    // same, but its hash must follow.
    for (const p of ir.pipelines) {
      const s = storedBy.get(key("pipeline", p.name, null))
      const planned = plan.changes.some((c) => c.kind === "pipeline" && c.name === p.name)
      if (s !== undefined && !planned && s.hash !== p.hash) yield* sql`UPDATE pipeline SET hash = ${p.hash} WHERE id = ${s.id}`
    }
    return generation
  })
