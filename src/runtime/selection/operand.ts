import type { SqlClient, Statement } from "@effect/sql"
import type { IrFilterValue } from "../../compiler/ir.ts"
import { columnRef, resolveColumn } from "./joins.ts"

/*
 * Both sides of one comparison, typed by the literal. Every literal is a bound parameter; the
 * only text spliced into the SQL is identifiers from the registry and the constants below.
 *
 * A JSON field is read as the literal's type only when the JSON value has that type, and is
 * otherwise NULL ("missing"): `metadata.x < 5` never raises on `"x": "abc"`, it just does not
 * hold. Timestamps in JSON are strings in strict ISO form (a date, or date and time with `Z` or
 * `±HH:MM`) with a real calendar date; anything else is missing rather than an error, because
 * one malformed metadata value must not break a pipeline's whole selection.
 */

export interface FieldRef {
  readonly table: string
  readonly column: string
  readonly jsonPath: ReadonlyArray<string>
}

export type ValueType = IrFilterValue["type"]

/** The strict ISO form a JSON string must have to be compared as a date or timestamp. */
export const jsonInstantPattern =
  "^(?!0000)\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])(T([01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(\\.\\d{1,3})?(Z|[+-]([01]\\d|2[0-3]):[0-5]\\d))?$"

/** The column (or JSON field) as an SQL value of the literal's type; NULL when missing or of another type. */
export const operand = (sql: SqlClient.SqlClient, ref: FieldRef, type: ValueType): Statement.Fragment => {
  const { table, column } = resolveColumn(ref.table, ref.column)
  const base = columnRef(sql, table, column.name)
  if (column.type !== "json" || ref.jsonPath.length === 0) return base
  // The keys are user text too: bound, never spliced.
  const path = sql`ARRAY[${sql.join(", ", false)(ref.jsonPath.map((key) => sql`${key}`))}]::text[]`
  const json = sql`(${base} #> ${path})`
  const text = sql`(${base} #>> ${path})`
  switch (type) {
    case "string":
      return sql`(CASE WHEN jsonb_typeof(${json}) = 'string' THEN ${text} END)`
    case "number":
      return sql`(CASE WHEN jsonb_typeof(${json}) = 'number' THEN ${text}::numeric END)`
    case "boolean":
      return sql`(CASE WHEN jsonb_typeof(${json}) = 'boolean' THEN ${text}::boolean END)`
    case "timestamp":
    case "date": {
      // The pattern bounds month and day; the inner CASE rejects days past the month's end
      // (2026-02-30), which the cast would otherwise raise on. CASE evaluates lazily, in order.
      const lastDay = sql`extract(day FROM make_date(substr(${text}, 1, 4)::int, substr(${text}, 6, 2)::int, 1) + interval '1 month' - interval '1 day')`
      const instant = sql`(CASE WHEN length(${text}) = 10 THEN ${text} || 'T00:00:00Z' ELSE ${text} END)::timestamptz`
      return sql`(CASE WHEN jsonb_typeof(${json}) = 'string' AND ${text} ~ ${jsonInstantPattern} THEN CASE WHEN substr(${text}, 9, 2)::int <= ${lastDay} THEN ${instant} END END)`
    }
  }
}

/** The literal as a bound parameter of the type its column compares with. */
export const parameter = (sql: SqlClient.SqlClient, ref: FieldRef, value: IrFilterValue): Statement.Fragment => {
  const { column } = resolveColumn(ref.table, ref.column)
  switch (value.type) {
    case "string":
      return sql`${value.value}`
    case "number":
      // JSON numbers are read as numeric; a typed column lets the server infer the parameter's type.
      return column.type === "json" ? sql`${String(value.value)}::numeric` : sql`${value.value}`
    case "boolean":
      return sql`${value.value}::boolean`
    case "timestamp":
      return sql`${value.value}::timestamptz`
    case "date":
      // A date against a date column is that date; against anything else, midnight UTC of it.
      return column.type === "date" ? sql`${value.value}::date` : sql`${`${value.value}T00:00:00Z`}::timestamptz`
  }
}
