import { SqlClient, type SqlError, type Statement } from "@effect/sql"
import { Effect, Either } from "effect"
import type { IrWorkspace } from "../compiler/ir.ts"
import { tableOf, type Column, type ColumnValue, type DefinitionTable, type Reference } from "./definition-tables.ts"
import type { EntityChange, EntityKind, Plan } from "./plan.ts"
import { definitionName, describeChange, PlanDoesNotMatchDefinitions } from "./plan-mismatch.ts"
import type { StoredDefinitions } from "./stored.ts"

/*
 * Create, update and retire the rows of one kind of definition, as a plan's changes say, from
 * its entry in definition-tables.ts. First every change is resolved against the plan's IR and the
 * stored definitions, without touching the database: a change that names what is not there is
 * refused before the first row is written. Then the rows are written.
 */

/** A change with what it writes: the declared entity, the stored row, or both. */
export type ResolvedChange<Entity> =
  | { readonly change: EntityChange; readonly op: "retire"; readonly storedId: string }
  | { readonly change: EntityChange; readonly op: "create"; readonly entity: Entity }
  | { readonly change: EntityChange; readonly op: "update"; readonly entity: Entity; readonly storedId: string }

/** What a plan's changes can be resolved against: its IR, and the stored rows it was made from. */
export interface PlanContext {
  readonly ir: IrWorkspace
  readonly storedId: (kind: EntityKind, name: string, pipeline: string | null) => string | undefined
  /** Whether a definition has a row once the plan's creations are written (retired rows count: they are kept). */
  readonly willExist: (kind: EntityKind, name: string) => boolean
}

const indexKey = (kind: EntityKind, name: string, pipeline: string | null): string => `${kind}\u0000${pipeline ?? ""}\u0000${name}`

export const planContext = (plan: Plan, stored: StoredDefinitions): PlanContext => {
  const ids = new Map<string, string>()
  for (const l of stored.locations) ids.set(indexKey("location", l.name, null), l.id)
  for (const s of stored.software) ids.set(indexKey("software", s.name, null), s.id)
  for (const g of stored.groupings) ids.set(indexKey("grouping", g.name, null), g.id)
  for (const p of stored.pipelines) {
    ids.set(indexKey("pipeline", p.name, null), p.id)
    for (const s of p.steps) ids.set(indexKey("step", s.name, p.name), s.id)
  }
  const created = new Set(plan.changes.filter((c) => c.action === "create").map((c) => indexKey(c.kind, c.name, c.pipeline)))
  const storedId = (kind: EntityKind, name: string, pipeline: string | null) => ids.get(indexKey(kind, name, pipeline))
  return {
    ir: plan.ir,
    storedId,
    willExist: (kind, name) => storedId(kind, name, null) !== undefined || created.has(indexKey(kind, name, null))
  }
}

const mismatch = (change: EntityChange, missing: string) =>
  Either.left(new PlanDoesNotMatchDefinitions({ change: describeChange(change), missing }))

const missingReference = (change: EntityChange, ref: Reference) =>
  new PlanDoesNotMatchDefinitions({
    change: describeChange(change),
    missing: `${ref.kind} ${ref.name}, which is neither stored nor created by the plan`
  })

const resolveOne = <Entity>(
  table: DefinitionTable<Entity>,
  change: EntityChange,
  context: PlanContext
): Either.Either<ResolvedChange<Entity>, PlanDoesNotMatchDefinitions> => {
  const storedId = change.action === "create" ? undefined : context.storedId(change.kind, change.name, change.pipeline)
  if (change.action !== "create" && storedId === undefined)
    return mismatch(change, `a stored ${definitionName(change)}, and none is stored`)
  if (change.action === "retire" && storedId !== undefined) return Either.right({ change, op: "retire", storedId })
  const entity = table.declared(context.ir, change)
  if (entity === undefined) return mismatch(change, `${definitionName(change)} in the plan's IR, which declares none`)
  const absent = table.references(entity).find((ref) => !context.willExist(ref.kind, ref.name))
  if (absent !== undefined) return Either.left(missingReference(change, absent))
  return Either.right(storedId === undefined ? { change, op: "create", entity } : { change, op: "update", entity, storedId })
}

/** The plan's changes of this table's kind, each resolved, or the first that cannot be. */
export const resolveChanges = <Entity>(
  table: DefinitionTable<Entity>,
  plan: Plan,
  context: PlanContext
): Either.Either<ReadonlyArray<ResolvedChange<Entity>>, PlanDoesNotMatchDefinitions> =>
  Either.all(plan.changes.filter((c) => c.kind === table.kind).map((c) => resolveOne(table, c, context)))

/** A created or updated row and its id. */
export interface WrittenRow<Entity> {
  readonly entity: Entity
  readonly id: string
}

const bind = (sql: SqlClient.SqlClient, value: ColumnValue): Statement.Fragment => {
  if (value === null || typeof value !== "object") return sql`${value}`
  return value._tag === "Jsonb"
    ? sql`${JSON.stringify(value.value)}::jsonb`
    : sql`ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(value.values)}::jsonb))`
}

const list = (sql: SqlClient.SqlClient, fragments: ReadonlyArray<Statement.Fragment>) => sql.join(", ", false)(fragments)

/** Writes the resolved changes of one table in plan order, returning the rows created or updated. */
export const writeChanges = <Entity>(
  table: DefinitionTable<Entity>,
  changes: ReadonlyArray<ResolvedChange<Entity>>,
  generation: number
): Effect.Effect<ReadonlyArray<WrittenRow<Entity>>, SqlError.SqlError | PlanDoesNotMatchDefinitions, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const written: Array<WrittenRow<Entity>> = []
    for (const resolved of changes) {
      if (resolved.op === "retire") {
        yield* sql`UPDATE ${sql(table.table)} SET retired_generation = ${generation} WHERE id = ${resolved.storedId}`
        continue
      }
      const { change, entity } = resolved
      const keyColumns: Array<Column> = [...table.key(entity)]
      const fieldColumns: Array<Column> = []
      for (const ref of table.references(entity)) {
        // Looked up now, not from the stored rows: the plan may have created it a moment ago.
        const [row] = yield* sql<{ id: string }>`SELECT id::text AS id FROM ${sql(tableOf[ref.kind])} WHERE name = ${ref.name}`
        if (row === undefined) return yield* missingReference(change, ref)
        ;(ref.key ? keyColumns : fieldColumns).push([ref.column, row.id])
      }
      fieldColumns.push(...table.fields(entity))
      const inserted = [...keyColumns, ...fieldColumns]
      const [row] =
        resolved.op === "create"
          ? yield* sql<{ id: string }>`
              INSERT INTO ${sql(table.table)} (${list(
                sql,
                inserted.map(([c]) => sql`${sql(c)}`)
              )}, created_generation, updated_generation)
              VALUES (${list(
                sql,
                inserted.map(([, v]) => bind(sql, v))
              )}, ${generation}, ${generation})
              RETURNING id::text AS id`
          : yield* sql<{ id: string }>`
              UPDATE ${sql(table.table)} SET ${list(
                sql,
                fieldColumns.map(([c, v]) => sql`${sql(c)} = ${bind(sql, v)}`)
              )},
                updated_generation = ${generation}, retired_generation = NULL
              WHERE id = ${resolved.storedId}
              RETURNING id::text AS id`
      if (row === undefined)
        return yield* new PlanDoesNotMatchDefinitions({
          change: describeChange(change),
          missing: `a stored ${definitionName(change)}, and none is stored`
        })
      written.push({ entity, id: row.id })
    }
    return written
  })
