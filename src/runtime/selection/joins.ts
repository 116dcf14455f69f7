import type { SqlClient } from "@effect/sql"
import type { Statement } from "@effect/sql"
import { findColumn, findTable, joinPath, type ColumnDefinition, type TableDefinition } from "../../compiler/schema-registry.ts"
import { UnknownSchemaReference } from "./errors.ts"

/*
 * Which tables a selection needs and how they hang off raw_data_package, all read from the
 * schema registry: a new table or column there needs no change here. Each table is aliased by
 * its own SQL name (every table occurs at most once on the join tree).
 */

export const resolveTable = (name: string): TableDefinition => {
  const table = findTable(name)
  // Thrown, not failed: the checked IR only names registry entries (see UnknownSchemaReference).
  if (table === undefined) throw new UnknownSchemaReference({ kind: "table", name })
  return table
}

export const resolveColumn = (
  tableName: string,
  columnName: string
): { readonly table: TableDefinition; readonly column: ColumnDefinition } => {
  const table = resolveTable(tableName)
  const column = findColumn(table, columnName)
  if (column === undefined) throw new UnknownSchemaReference({ kind: "column", name: `${tableName}.${columnName}` })
  return { table, column }
}

/** `alias.column`, both quoted as identifiers. */
export const columnRef = (sql: SqlClient.SqlClient, table: TableDefinition, column: string): Statement.Fragment =>
  sql`${sql(table.sqlTable)}.${sql(column)}`

/**
 * LEFT JOINs reaching every given table from raw_data_package, parents before children, each
 * table once. LEFT rather than INNER: a package whose parent row is missing then reads as
 * "value missing" (see filter-sql.ts) instead of silently vanishing from negated rules.
 */
export const joinsFor = (sql: SqlClient.SqlClient, tableNames: Iterable<string>): Statement.Fragment => {
  const ordered: Array<TableDefinition> = []
  const seen = new Set<string>()
  for (const name of tableNames) {
    resolveTable(name)
    // joinPath lists the root's child first, so every parent is placed before its children.
    for (const table of joinPath(name)) {
      if (seen.has(table.name)) continue
      seen.add(table.name)
      ordered.push(table)
    }
  }
  const clauses = ordered.map((table) => {
    const parent = resolveTable(table.join!.parent)
    return sql`LEFT JOIN ${sql(table.sqlTable)} ON ${columnRef(sql, table, "id")} = ${columnRef(sql, parent, table.join!.foreignKey)}`
  })
  return sql.join(" ", false)(clauses)
}
