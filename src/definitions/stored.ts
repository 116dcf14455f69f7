import { SqlClient, type SqlError } from "@effect/sql"
import { Data, Effect, Schema } from "effect"
import { IrJson } from "../compiler/ir.ts"
import type { JsonRecord } from "./entity-json.ts"

/*
 * The definitions as the database holds them: every row, retired ones included (a retired
 * definition that is declared again is re-enabled, not created twice), and the current
 * definitions generation. Read inside the apply transaction, after the lock, so that the plan
 * that is applied is the plan against the state that is there.
 */

export interface StoredDefinition {
  readonly id: string
  readonly name: string
  readonly hash: string
  /** The IR entity without spans (a pipeline without its steps, which are rows of their own). */
  readonly definition: JsonRecord
  readonly retiredGeneration: number | null
}

export interface StoredVersion {
  readonly version: string
  readonly withdrawnGeneration: number | null
}

export interface StoredSoftware extends StoredDefinition {
  readonly versions: ReadonlyArray<StoredVersion>
}

export interface StoredPipeline extends StoredDefinition {
  readonly steps: ReadonlyArray<StoredDefinition>
}

export interface StoredDefinitions {
  /** The newest definitions generation; 0 before the first apply. */
  readonly generation: number
  readonly locations: ReadonlyArray<StoredDefinition>
  readonly software: ReadonlyArray<StoredSoftware>
  readonly groupings: ReadonlyArray<StoredDefinition>
  readonly pipelines: ReadonlyArray<StoredPipeline>
}

export const noStoredDefinitions: StoredDefinitions = { generation: 0, locations: [], software: [], groupings: [], pipelines: [] }

export class StoredDefinitionsError extends Data.TaggedError("StoredDefinitionsError")<{
  readonly table: string
  readonly reason: string
}> {
  override get message(): string {
    return `the stored definitions in table ${this.table} are unreadable (${this.reason}); was the database written by a newer ccat?`
  }
}

const Row = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  hash: Schema.String,
  definition: Schema.Record({ key: Schema.String, value: IrJson }),
  retiredGeneration: Schema.NullOr(Schema.Number),
  ownerId: Schema.NullOr(Schema.String)
})
const decodeRows = Schema.decodeUnknown(Schema.Array(Row))

const VersionRow = Schema.Struct({ softwareId: Schema.String, version: Schema.String, withdrawnGeneration: Schema.NullOr(Schema.Number) })
const decodeVersionRows = Schema.decodeUnknown(Schema.Array(VersionRow))

/** Generation ids are bigserial; they fit an int4 for any plausible number of applies. */
export const currentGeneration: Effect.Effect<number, SqlError.SqlError, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ generation: number }>`SELECT coalesce(max(id), 0)::int4 AS generation FROM definitions_generation`
  return rows[0]?.generation ?? 0
})

const definitionRows = (table: "location" | "reduction_software" | "data_grouping" | "pipeline" | "reduction_step") =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    // Only steps belong to another definition (their pipeline).
    const owner = table === "reduction_step" ? sql`pipeline_id::text` : sql`NULL::text`
    const rows = yield* sql`
      SELECT id::text AS "id", name, hash, definition, retired_generation::int4 AS "retiredGeneration", ${owner} AS "ownerId"
      FROM ${sql(table)} ORDER BY name, id`
    return yield* decodeRows(rows).pipe(
      Effect.mapError((e) => new StoredDefinitionsError({ table, reason: e.message.split("\n")[0] ?? "" }))
    )
  })

const definition = (row: typeof Row.Type): StoredDefinition => ({
  id: row.id,
  name: row.name,
  hash: row.hash,
  definition: row.definition,
  retiredGeneration: row.retiredGeneration
})

export const readStoredDefinitions: Effect.Effect<StoredDefinitions, SqlError.SqlError | StoredDefinitionsError, SqlClient.SqlClient> =
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const generation = yield* currentGeneration
    const locations = yield* definitionRows("location")
    const software = yield* definitionRows("reduction_software")
    const groupings = yield* definitionRows("data_grouping")
    const pipelines = yield* definitionRows("pipeline")
    const steps = yield* definitionRows("reduction_step")
    const versionRows = yield* sql`
    SELECT software_id::text AS "softwareId", version, withdrawn_generation::int4 AS "withdrawnGeneration"
    FROM reduction_software_version ORDER BY software_id, id`
    const versions = yield* decodeVersionRows(versionRows).pipe(
      Effect.mapError((e) => new StoredDefinitionsError({ table: "reduction_software_version", reason: e.message.split("\n")[0] ?? "" }))
    )
    return {
      generation,
      locations: locations.map(definition),
      software: software.map((row) => ({
        ...definition(row),
        versions: versions
          .filter((v) => v.softwareId === row.id)
          .map((v) => ({ version: v.version, withdrawnGeneration: v.withdrawnGeneration }))
      })),
      groupings: groupings.map(definition),
      pipelines: pipelines.map((row) => ({ ...definition(row), steps: steps.filter((s) => s.ownerId === row.id).map(definition) }))
    }
  })
