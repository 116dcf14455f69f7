import type { SqlClient, Statement } from "@effect/sql"
import { createHash } from "node:crypto"
import { findDimension, joinPath, type TableDefinition } from "../../compiler/schema-registry.ts"
import { columnRef, resolveColumn } from "./joins.ts"
import { UnknownSchemaReference } from "./errors.ts"

/*
 * Sub-groups: a step's `group_by` splits its selection by the values of the dimensions, and
 * each sub-group is named by a key that ends up in paths and in the ops-db.
 *
 * Key format: the dimension values in `group_by` order, joined by `__`; `all` (or no
 * dimension) is `all`. Each value keeps `A-Z a-z 0-9 - . _` and writes every other byte of its
 * UTF-8 form as `~XX` (upper-case hex): `rho Oph` → `rho~20Oph`, `ρ Oph` → `~CF~81~20Oph`.
 * So that `__` only ever separates values, an `_` is escaped (`~5F`) when it starts or ends a
 * value or touches another `_`; a leading `.` is escaped (`~2E`) so that no key is `.`, `..` or
 * hidden. An empty value is `~empty`, a missing one (NULL) `~null`. The result is injective
 * (decodeSubGroupKey inverts it), deterministic, readable for ordinary names, and one path
 * segment. Keys longer than 200 characters keep their first whole tokens and end in
 * `~h` + 16 hex digits of the SHA-256 of the full key, a suffix no unshortened key can have.
 * Note: keys are case-sensitive, as the values are (`NGC253` and `ngc253` are two keys).
 */

export const maxKeyLength = 200
const hashSuffixLength = 2 + 16

export interface DimensionKeySql {
  readonly dimension: string
  /** The registry table the value is read from; `null` for `all`. */
  readonly table: string | null
  /** The value as text; `null` for `all`, which has one constant key. */
  readonly expression: Statement.Fragment | null
  /**
   * The column itself when the value is the column's own (no transform): comparing it with a
   * value lets the database use the column's index, which `expression` (a cast) would not.
   */
  readonly column: Statement.Fragment | null
  /**
   * The longest text a value can have when it never needs escaping (uuid and integer columns:
   * hex digits, digits and `-`), else `null`: such values skip the pattern test, which cost
   * about half a second per million packages and dimension.
   */
  readonly plainLength: number | null
}

/** A dimension's key column, resolved in the registry; `null` for `all`. Throws for a name the registry lacks. */
const dimensionKey = (name: string) => {
  const dimension = findDimension(name)
  if (dimension === undefined) throw new UnknownSchemaReference({ kind: "dimension", name })
  if (dimension.key === null) return null
  return { ...resolveColumn(dimension.key.table, dimension.key.column), transform: dimension.key.transform }
}

/** The SQL text expressions of a `group_by`'s dimension values, in order. */
export const subGroupKeySql = (sql: SqlClient.SqlClient, groupBy: ReadonlyArray<string>): ReadonlyArray<DimensionKeySql> =>
  groupBy.map((name) => {
    const key = dimensionKey(name)
    if (key === null) return { dimension: name, table: null, expression: null, column: null, plainLength: null }
    const { table, column } = key
    const ref = columnRef(sql, table, column.name)
    if (key.transform === "utc_date") {
      return {
        dimension: name,
        table: table.name,
        expression: sql`to_char(${ref} AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
        column: null,
        plainLength: null
      }
    }
    const plainLength = column.type === "uuid" ? 36 : column.type === "integer" ? 20 : null
    return { dimension: name, table: table.name, expression: sql`${ref}::text`, column: ref, plainLength }
  })

/** The registry tables a `group_by`'s dimension values are read from (as subGroupKeySql's `table`). */
export const subGroupKeyTables = (groupBy: ReadonlyArray<string>): ReadonlyArray<{ readonly table: string | null }> =>
  groupBy.map((name) => ({ table: dimensionKey(name)?.table.name ?? null }))

/**
 * The tables whose rows a package's sub-group key is read through: the tables on the way to each
 * dimension's table, and that table unless the key is its `id` (a row's id never changes, so only
 * the foreign key to it, one table down, can). A change to their links or key columns can move
 * packages from one sub-group to another (a source renamed, an obs unit moved to another line);
 * any other change can only move packages in or out of the selection, under the same keys.
 */
export const subGroupKeyPathTables = (groupBy: ReadonlyArray<string>): ReadonlyArray<TableDefinition> => {
  const reached = new Map<string, TableDefinition>()
  for (const name of groupBy) {
    const key = dimensionKey(name)
    if (key === null) continue
    const path = joinPath(key.table.name)
    for (const table of key.column.name === "id" ? path.slice(0, -1) : path) reached.set(table.name, table)
  }
  return [...reached.values()]
}

/** Whether a package's sub-group key is read through its links (scan, module): a package moved to another scan can change sub-group. */
export const subGroupKeyFollowsPackageLinks = (groupBy: ReadonlyArray<string>): boolean =>
  groupBy.some((name) => {
    const key = dimensionKey(name)
    return key !== null && joinPath(key.table.name).length > 0
  })

const plain = /^[A-Za-z0-9-]$/

const escapeBytes = (char: string): string =>
  [...Buffer.from(char, "utf8")].map((b) => `~${b.toString(16).toUpperCase().padStart(2, "0")}`).join("")

/** One value as tokens that are never split when a key is shortened. */
const valueTokens = (value: string | null): Array<string> => {
  if (value === null) return ["~null"]
  if (value === "") return ["~empty"]
  const tokens: Array<string> = []
  let i = 0
  for (const char of value) {
    if (plain.test(char)) tokens.push(char)
    else if (char === ".") tokens.push(i === 0 ? "~2E" : ".")
    else if (char === "_") {
      const lone = i > 0 && i < value.length - 1 && value[i - 1] !== "_" && value[i + 1] !== "_"
      tokens.push(lone ? "_" : "~5F")
    } else tokens.push(escapeBytes(char))
    i += char.length
  }
  return tokens
}

/** The dimensions that name sub-groups; `all` contributes nothing. */
const keyed = (groupBy: ReadonlyArray<string>): ReadonlyArray<string> => groupBy.filter((d) => d !== "all")

/** The sub-group key of one value tuple, `values` keyed by dimension name (as selectionQuery returns them). */
export const subGroupKey = (groupBy: ReadonlyArray<string>, values: Readonly<Record<string, string | null | undefined>>): string => {
  const dims = keyed(groupBy)
  if (dims.length === 0) return "all"
  const tokens = dims.flatMap((d, n) => [...(n === 0 ? [] : ["__"]), ...valueTokens(values[d] ?? null)])
  const key = tokens.join("")
  if (key.length <= maxKeyLength) return key
  let kept = ""
  for (const token of tokens) {
    if (kept.length + token.length > maxKeyLength - hashSuffixLength) break
    kept += token
  }
  return `${kept}~h${createHash("sha256").update(key).digest("hex").slice(0, 16)}`
}

/**
 * The values a key was made from, or `undefined` for a shortened key or one this module
 * cannot have made. The inverse of subGroupKey for keys up to the length limit.
 */
export const decodeSubGroupKey = (groupBy: ReadonlyArray<string>, key: string): ReadonlyArray<string | null> | undefined => {
  const dims = keyed(groupBy)
  if (dims.length === 0) return key === "all" ? [] : undefined
  const parts = key.split("__")
  if (parts.length !== dims.length) return undefined
  const values: Array<string | null> = []
  for (const part of parts) {
    if (part === "~null") values.push(null)
    else if (part === "~empty") values.push("")
    else {
      if (!/^(?:[A-Za-z0-9._-]|~[0-9A-F]{2})+$/.test(part)) return undefined
      const bytes: Array<number> = []
      for (let i = 0; i < part.length; i++) {
        if (part[i] === "~") {
          bytes.push(parseInt(part.slice(i + 1, i + 3), 16))
          i += 2
        } else bytes.push(part.charCodeAt(i))
      }
      values.push(Buffer.from(bytes).toString("utf8"))
    }
  }
  // Only canonical spellings decode: re-encoding must give the same key back.
  return subGroupKey(groupBy, Object.fromEntries(dims.map((d, n) => [d, values[n]!]))) === key ? values : undefined
}

/** A value that subGroupKey keeps as it is: no escaping needed, `_` only alone and inside. */
const plainValuePattern = "^[A-Za-z0-9-][A-Za-z0-9.-]*(_[A-Za-z0-9.-]+)*$"

/**
 * The sub-group key as one SQL text expression over the dimension values, equal to subGroupKey
 * of the same values. Plain values and short keys (nearly all of them) are joined inline; the
 * rest go through `ccat_sub_group_key` (migration 3), which escapes and shortens.
 */
export const subGroupKeyExpression = (sql: SqlClient.SqlClient, keys: ReadonlyArray<DimensionKeySql>): Statement.Fragment => {
  const valued = keys.filter((k) => k.expression !== null)
  const values = valued.map((k) => k.expression!)
  if (values.length === 0) return sql`'all'::text`
  const longest = valued.reduce((n, k) => n + (k.plainLength ?? Infinity), 2 * (valued.length - 1))
  if (longest <= maxKeyLength) {
    // Every value is plain whenever present; a missing one is spelled as subGroupKey spells it.
    return sql`(${sql.join(` || '__' || `, false)(values.map((v) => sql`coalesce(${v}, '~null')`))})`
  }
  const plain = sql.join(" AND ", false)(values.map((v) => sql`${v} ~ ${plainValuePattern}`))
  const length = sql.join(" + ", false)(values.map((v) => sql`length(${v})`))
  const joined = sql.join(` || '__' || `, false)(values)
  const array = sql`ARRAY[${sql.join(", ", false)(values)}]::text[]`
  return sql`(CASE WHEN ${plain} AND ${length} + ${2 * (values.length - 1)} <= ${maxKeyLength} THEN ${joined} ELSE ccat_sub_group_key(${array}) END)`
}

/**
 * A condition over the joined tables that holds for every package of the given sub-groups (and
 * for few others): per dimension, the value is one of the values the keys were made from. Meant
 * as `keyedSelection`'s `restrict`, followed by an exact filter on the key. `undefined` when a
 * key cannot be decoded (shortened keys) or the grouping has a single sub-group: then only the
 * exact filter can tell, over the whole selection.
 */
export const subGroupMembers = (
  sql: SqlClient.SqlClient,
  groupBy: ReadonlyArray<string>,
  keys: ReadonlyArray<string>
): Statement.Fragment | undefined => {
  const dims = subGroupKeySql(sql, groupBy).filter((k) => k.expression !== null)
  if (dims.length === 0 || keys.length === 0) return undefined
  const values = dims.map(() => ({ present: new Set<string>(), missing: false }))
  for (const key of keys) {
    const decoded = decodeSubGroupKey(groupBy, key)
    if (decoded === undefined) return undefined
    decoded.forEach((v, n) => {
      if (v === null) values[n]!.missing = true
      else values[n]!.present.add(v)
    })
  }
  const conditions = dims.map((d, n) => {
    const { present, missing } = values[n]!
    // Parameters are sent untyped, so the database reads them as the column's own type.
    const target = d.column ?? d.expression!
    const inList = present.size === 0 ? sql`FALSE` : sql`${target} IN ${sql.in([...present].sort())}`
    return missing ? sql`(${inList} OR ${d.expression!} IS NULL)` : inList
  })
  return sql.join(" AND ", false)(conditions)
}
