import type { SqlClient, Statement } from "@effect/sql"
import type { IrFilter, IrFilterValue } from "../../compiler/ir.ts"
import { joinPath, tables, type TableDefinition } from "../../compiler/schema-registry.ts"
import { columnRef, joinsFor } from "./joins.ts"
import { operand, parameter, type FieldRef, type ValueType } from "./operand.ts"
import { subGroupKeyExpression, subGroupKeySql, subGroupKeyTables } from "./sub-group-key.ts"

/*
 * A grouping's selection as one parameterised query over the registry's join tree.
 *
 * Missing values (SQL NULL: a NULL column, an absent JSON key, a JSON value of another type than
 * the literal) follow two-valued logic, not SQL's three-valued one:
 *   - a missing value never satisfies a positive comparison (`==`, `<`, `<=`, `>`, `>=`, `in`,
 *     `like`);
 *   - `!=`, `not in` and `not like` are exactly the negations of `==`, `in` and `like`, so a
 *     missing value DOES satisfy them;
 *   - `not F` holds exactly when F does not (so `not (x < 5)` holds for a missing x, while
 *     `x >= 5` does not).
 * Why: "everything except FAILED scans" should not silently drop packages whose status is
 * unknown, and `not` should mean what a reader expects, the complement.
 *
 * How: negations are pushed down to the comparisons (De Morgan). A comparison in positive
 * position is emitted as is, since in a WHERE built only from AND and OR a NULL ends up
 * excluding the row just as false would; this keeps plain `column = $1` conditions usable by
 * indexes. A comparison in negated position becomes `(P) IS NOT TRUE`, which is true for NULL.
 *
 * `like` has the wildcards `%` and `_` and no escape character (`ESCAPE ''`): a backslash in a
 * pattern is an ordinary character.
 */

type Atom = Extract<IrFilter, { readonly kind: "compare" | "in" | "like" }>

const sqlOperator = { "==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">=" } as const

/** The comparison as written, ignoring its own negation; NULL when the value is missing. */
const positive = (sql: SqlClient.SqlClient, f: Atom): Statement.Fragment => {
  switch (f.kind) {
    case "compare": {
      // `!=` is rendered as the negation of `==` by the caller.
      const op = f.operator === "!=" ? "==" : f.operator
      return sql`${operand(sql, f, f.value.type)} ${sql.literal(sqlOperator[op])} ${parameter(sql, f, f.value)}`
    }
    case "in":
      return inList(sql, f, f.values)
    case "like":
      return sql`${operand(sql, f, "string")} LIKE ${f.pattern} ESCAPE ''`
  }
}

/** `in` over values of possibly different types (a JSON field): one IN list per type, ORed. */
const inList = (sql: SqlClient.SqlClient, ref: FieldRef, values: ReadonlyArray<IrFilterValue>): Statement.Fragment => {
  if (values.length === 0) return sql`FALSE`
  const byType = new Map<ValueType, Array<IrFilterValue>>()
  for (const v of values) byType.set(v.type, [...(byType.get(v.type) ?? []), v])
  const lists = [...byType].map(
    ([type, vs]) => sql`${operand(sql, ref, type)} IN (${sql.join(", ", false)(vs.map((v) => parameter(sql, ref, v)))})`
  )
  return lists.length === 1 ? lists[0]! : sql.join(" OR ", true)(lists)
}

const isNegatedAtom = (f: Atom): boolean => (f.kind === "compare" ? f.operator === "!=" : f.negated)

/** The filter as a boolean SQL condition, `negated` when under an odd number of `not`s. */
export const filterCondition = (sql: SqlClient.SqlClient, f: IrFilter, negated = false): Statement.Fragment => {
  switch (f.kind) {
    case "and":
    case "or": {
      const conjunction = (f.kind === "and") !== negated
      const parts = f.operands.map((o) => filterCondition(sql, o, negated))
      return conjunction ? sql.join(" AND ", true, "TRUE")(parts) : sql.join(" OR ", true, "FALSE")(parts)
    }
    case "not":
      return filterCondition(sql, f.operand, !negated)
    default:
      return isNegatedAtom(f) !== negated ? sql`((${positive(sql, f)}) IS NOT TRUE)` : sql`(${positive(sql, f)})`
  }
}

/** The registry tables a filter reads. */
export const filterTables = (f: IrFilter | null): ReadonlySet<string> => {
  const found = new Set<string>()
  const walk = (g: IrFilter): void => {
    switch (g.kind) {
      case "and":
      case "or":
        return g.operands.forEach(walk)
      case "not":
        return walk(g.operand)
      default:
        found.add(g.table)
    }
  }
  if (f !== null) walk(f)
  return found
}

export interface SelectionOptions {
  /** Dimensions to return as columns named after them (text, NULL when missing); none by default. */
  readonly groupBy?: ReadonlyArray<string>
}

/** One selected package: its id, and one text column per `group_by` dimension (by dimension name). */
export type SelectionRow = { readonly id: string } & { readonly [dimension: string]: string | null }

const root = tables.find((t) => t.join === null)!

/**
 * `SELECT raw_data_package.id [, dimension keys] FROM raw_data_package LEFT JOIN ... WHERE ...`,
 * joining exactly the tables the filter and the dimensions read. A `null` filter selects every
 * package. The statement is also a fragment: embed it as a subquery to build on a selection.
 * Throws UnknownSchemaReference (a defect) for names the registry lacks.
 */
export const selectionQuery = (
  sql: SqlClient.SqlClient,
  filter: IrFilter | null,
  options: SelectionOptions = {}
): Statement.Statement<SelectionRow> => {
  const keys = subGroupKeySql(sql, options.groupBy ?? [])
  const needed = new Set([...filterTables(filter), ...keys.flatMap((k) => (k.table === null ? [] : [k.table]))])
  const columns = [
    sql`${columnRef(sql, root, "id")} AS id`,
    ...keys.filter((k) => k.expression !== null).map((k) => sql`${k.expression!} AS ${sql(k.dimension)}`)
  ]
  const where = filter === null ? sql`TRUE` : filterCondition(sql, filter)
  return sql<SelectionRow>`SELECT ${sql.join(", ", false)(columns)} FROM ${sql(root.sqlTable)} ${joinsFor(sql, needed)} WHERE ${where}`
}

const keyedTables = (filter: IrFilter | null, keys: ReadonlyArray<{ readonly table: string | null }>): ReadonlySet<string> =>
  new Set([...filterTables(filter), ...keys.flatMap((k) => (k.table === null ? [] : [k.table]))])

/**
 * Every table besides raw_data_package whose rows a keyed selection reads: the tables the
 * filter and the dimensions name and those on the way to them (an obs unit moved to another
 * source changes a package's source without touching the source). A change to one of their
 * rows can move the packages below it between sub-groups, in or out of the selection.
 */
export const keyedSelectionTables = (filter: IrFilter | null, groupBy: ReadonlyArray<string>): ReadonlyArray<TableDefinition> => {
  const reached = new Map<string, TableDefinition>()
  for (const name of keyedTables(filter, subGroupKeyTables(groupBy))) for (const table of joinPath(name)) reached.set(table.name, table)
  return [...reached.values()]
}

export interface KeyedSelectionOptions {
  /** Only packages whose `state` is ARCHIVED: what a step can actually stage and read. */
  readonly archivedOnly: boolean
  /** A further condition over the joined tables, e.g. subGroupMembers' (ANDed). */
  readonly restrict?: Statement.Fragment | undefined
}

/**
 * `SELECT id, checksum, sub_group_key FROM raw_data_package ... WHERE ...`: the selection with
 * each package's sub-group under `groupBy`, keyed in SQL exactly as subGroupKey would. Meant as
 * a subquery of the gap evaluation.
 */
export const keyedSelection = (
  sql: SqlClient.SqlClient,
  filter: IrFilter | null,
  groupBy: ReadonlyArray<string>,
  options: KeyedSelectionOptions
): Statement.Fragment => {
  const keys = subGroupKeySql(sql, groupBy)
  const needed = keyedTables(filter, keys)
  const where = filter === null ? sql`TRUE` : filterCondition(sql, filter)
  const state = options.archivedOnly ? sql` AND ${columnRef(sql, root, "state")} = 'ARCHIVED'` : sql``
  const restrict = options.restrict === undefined ? sql`` : sql` AND (${options.restrict})`
  return sql`SELECT ${columnRef(sql, root, "id")} AS id, ${columnRef(sql, root, "checksum")} AS checksum, ${subGroupKeyExpression(sql, keys)} AS sub_group_key FROM ${sql(root.sqlTable)} ${joinsFor(sql, needed)} WHERE (${where})${state}${restrict}`
}
