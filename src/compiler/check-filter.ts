import type * as A from "./ast.ts"
import { describeValue } from "./blocks.ts"
import type { DiagnosticSink } from "./diagnostics.ts"
import type { Filter, FilterValue } from "./model.ts"
import { findColumn, findTable, tables, type ColumnDefinition } from "./schema-registry.ts"
import { joinSpans, type Span } from "./span.ts"
import { didYouMeanText, suggest } from "./suggest.ts"

/*
 * Type-checks a `where` expression against the schema registry and turns it into a Filter.
 * A comparison that fails a check is dropped from the result (with its diagnostic), so one
 * mistake does not hide the others.
 */

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export const checkFilter = (expression: A.Expression, sink: DiagnosticSink): Filter | undefined => {
  switch (expression.kind) {
    case "and":
    case "or": {
      const operands = expression.operands.map((o) => checkFilter(o, sink))
      if (operands.some((o) => o === undefined)) return undefined
      return { kind: expression.kind, operands: operands as Array<Filter>, span: expression.span }
    }
    case "not": {
      const operand = checkFilter(expression.operand, sink)
      return operand === undefined ? undefined : { kind: "not", operand, span: expression.span }
    }
    case "comparison":
      return checkComparison(expression, sink)
  }
}

const isValidCalendarDate = (text: string): boolean => {
  const [y, m, d] = text.slice(0, 10).split("-").map(Number) as [number, number, number]
  const date = new Date(Date.UTC(y, m - 1, d))
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d
}

/** A timestamp as `Date` reads it; one written without a zone is read as UTC. */
const timestampDate = (raw: string): Date => new Date(/(Z|[+-]\d{2}:\d{2})$/.test(raw) ? raw : `${raw}Z`)

const isValidTimestamp = (text: string): boolean => {
  if (!isValidCalendarDate(text)) return false
  const time = /T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(text)
  if (time === null || !(Number(time[1]) < 24 && Number(time[2]) < 60 && Number(time[3] ?? 0) < 60)) return false
  const zone = /[+-](\d{2}):(\d{2})$/.exec(text)
  if (zone !== null && !(Number(zone[1]) < 24 && Number(zone[2]) < 60)) return false
  // What `Date` cannot read has a NaN time, and `toISOString` throws on it.
  return Number.isFinite(timestampDate(text).getTime())
}

/** A timestamp in UTC ISO form; only for one `isValidTimestamp` accepts. */
const utcTimestamp = (raw: string): string => timestampDate(raw).toISOString()

/** A date or timestamp literal as a filter value, or E080 when no such day or time exists. */
const dateValue = (v: Extract<A.Value, { kind: "date" | "timestamp" }>, sink: DiagnosticSink): FilterValue | undefined => {
  if (!(v.kind === "date" ? isValidCalendarDate(v.raw) : isValidTimestamp(v.raw))) {
    sink.report("E080", v.span, {
      what: v.kind === "date" ? "a date" : "a timestamp",
      range: v.kind === "date" ? "a real calendar date" : "a real calendar date and time of day, with a zone offset within ±23:59",
      found: `\`${v.raw}\``
    })
    return undefined
  }
  return v.kind === "timestamp" ? { type: "timestamp", value: utcTimestamp(v.raw) } : { type: "date", value: v.raw }
}

const checkComparison = (c: A.Comparison, sink: DiagnosticSink): Filter | undefined => {
  if (c.column.table.text === "" || c.values.length === 0) return undefined // recovered from a syntax error
  const table = findTable(c.column.table.text)
  if (table === undefined) {
    const close = suggest(
      c.column.table.text,
      tables.map((t) => t.name)
    )
    sink.report(
      "E030",
      c.column.table.span,
      { table: c.column.table.text },
      {
        help: didYouMeanText(close) ?? `tables: ${tables.map((t) => `\`${t.name}\``).join(", ")}`,
        fixes: close === undefined ? [] : [{ title: `Replace with \`${close}\``, span: c.column.table.span, replacement: close }]
      }
    )
    return undefined
  }
  const [columnId, ...path] = c.column.segments
  if (columnId === undefined) {
    sink.report(
      "E038",
      c.column.table.span,
      { table: table.name },
      {
        help: `columns of ${table.name}: ${table.columns.map((col) => `\`${col.name}\``).join(", ")}`
      }
    )
    return undefined
  }
  const column = findColumn(table, columnId.text)
  if (column === undefined) {
    const close = suggest(
      columnId.text,
      table.columns.map((col) => col.name)
    )
    sink.report(
      "E031",
      columnId.span,
      { table: table.name, column: columnId.text },
      {
        help: didYouMeanText(close) ?? `columns of ${table.name}: ${table.columns.map((col) => `\`${col.name}\``).join(", ")}`,
        fixes: close === undefined ? [] : [{ title: `Replace with \`${close}\``, span: columnId.span, replacement: close }]
      }
    )
    return undefined
  }
  const qualified = `${table.name}.${column.name}`
  if (column.type === "json" && path.length === 0) {
    sink.report("E037", c.column.span, { column: qualified }, { help: `for example \`${qualified}.observation.frequency_ghz\`` })
    return undefined
  }
  if (column.type !== "json" && path.length > 0) {
    sink.report("E032", joinSpans(path[0]!.span, path[path.length - 1]!.span), { column: qualified, type: column.type })
    return undefined
  }
  const jsonPath = path.map((p) => p.text)
  const shown = [qualified, ...jsonPath].join(".")
  const base = { table: table.name, column: column.name, jsonPath, span: c.span }

  const operator = c.operator
  if (operator === "like" || operator === "not like") {
    if (column.type !== "string" && column.type !== "json") {
      sink.report(
        "E035",
        c.operatorSpan,
        { operator: "like", column: shown, type: column.type },
        {
          help: "`like` matches text; use `==` or `in (...)` here"
        }
      )
      return undefined
    }
    const v = c.values[0]!
    if (v.kind !== "string") {
      sink.report(
        "E033",
        v.span,
        { column: shown, type: "text pattern", found: describeValue(v) },
        { help: '`like` takes a string pattern such as `"NGC%"`' }
      )
      return undefined
    }
    return { kind: "like", ...base, negated: operator === "not like", pattern: v.value }
  }
  const ordering = operator === "<" || operator === "<=" || operator === ">" || operator === ">="
  if (ordering && (column.type === "enum" || column.type === "boolean" || column.type === "uuid")) {
    sink.report(
      "E035",
      c.operatorSpan,
      { operator, column: shown, type: column.type },
      { help: "compare it with `==`, `!=` or `in (...)`" }
    )
    return undefined
  }
  const values: Array<FilterValue> = []
  for (const v of c.values) {
    const checked = checkValue(v, column, shown, sink)
    if (checked === undefined) return undefined
    values.push(checked)
  }
  if (operator === "in" || operator === "not in") return { kind: "in", ...base, negated: operator === "not in", values }
  return { kind: "compare", ...base, operator, value: values[0]! }
}

const checkValue = (v: A.Value, column: ColumnDefinition, shown: string, sink: DiagnosticSink): FilterValue | undefined => {
  const mismatch = (help?: string): undefined => {
    sink.report("E033", v.span, { column: shown, type: column.type === "json" ? "JSON" : column.type, found: describeValue(v) }, { help })
    return undefined
  }
  if (v.kind === "identifier") return mismatch(`write text in quotes: \`"${v.raw}"\``)
  switch (column.type) {
    case "string":
      return v.kind === "string"
        ? { type: "string", value: v.value }
        : mismatch(v.kind === "integer" || v.kind === "decimal" ? `write it in quotes: \`"${v.raw}"\`` : undefined)
    case "uuid":
      if (v.kind !== "string") return mismatch()
      return uuidPattern.test(v.value)
        ? { type: "string", value: v.value.toLowerCase() }
        : mismatch("a UUID looks like `0b6e6f6c-2a4e-4f7e-9c1d-3e5f7a9b1c2d`")
    case "enum": {
      if (v.kind !== "string") return mismatch(`values of \`${shown}\`: ${(column.values ?? []).map((x) => `"${x}"`).join(", ")}`)
      if ((column.values ?? []).includes(v.value)) return { type: "string", value: v.value }
      const close = suggest(v.value, column.values ?? [])
      sink.report(
        "E034",
        v.span,
        { value: v.value, column: shown },
        {
          help: didYouMeanText(close, { as: "string" }) ?? `values: ${(column.values ?? []).map((x) => `"${x}"`).join(", ")}`,
          fixes: close === undefined ? [] : [{ title: `Replace with "${close}"`, span: v.span, replacement: `"${close}"` }]
        }
      )
      return undefined
    }
    case "integer":
      if (v.kind === "integer") return { type: "number", value: v.value }
      return mismatch(v.kind === "decimal" ? `\`${shown}\` holds whole numbers` : undefined)
    case "decimal":
      return v.kind === "integer" || v.kind === "decimal" ? { type: "number", value: v.value } : mismatch()
    case "boolean":
      return v.kind === "boolean" ? { type: "boolean", value: v.value } : mismatch()
    case "timestamp":
    case "date":
      if (v.kind === "date" || (v.kind === "timestamp" && column.type === "timestamp")) return dateValue(v, sink)
      return mismatch(
        v.kind === "string" && /^\d{4}-\d{2}-\d{2}/.test(v.value)
          ? `dates are written without quotes: \`${v.value}\``
          : `write a date such as \`2026-06-01\``
      )
    case "json":
      switch (v.kind) {
        case "string":
          return { type: "string", value: v.value }
        case "integer":
        case "decimal":
          return { type: "number", value: v.value }
        case "boolean":
          return { type: "boolean", value: v.value }
        case "date":
        case "timestamp":
          return dateValue(v, sink)
        default:
          return mismatch("compare a JSON field with a string, number, boolean or date")
      }
  }
}

export interface Contradiction {
  readonly spans: ReadonlyArray<Span>
  readonly reason: string
}

/**
 * A conservative satisfiability check: returns why a filter can never match, or undefined when
 * it may. Only conjunctions of comparisons on the same column are analysed; `not` is assumed
 * satisfiable.
 */
export const findContradiction = (filter: Filter): Contradiction | undefined => {
  const known = contradictions.get(filter)
  if (known !== undefined) return known ?? undefined
  const found = contradictionOf(filter)
  contradictions.set(filter, found ?? null)
  return found
}

// A grouping's selection holds its parent's (the same object): each is looked at once, not once
// per grouping below it, which made a chain of `from` cost the cube of its length.
const contradictions = new WeakMap<Filter, Contradiction | null>()

const contradictionOf = (filter: Filter): Contradiction | undefined => {
  switch (filter.kind) {
    case "or": {
      const reasons = filter.operands.map(findContradiction)
      return reasons.every((r) => r !== undefined) ? reasons[0] : undefined
    }
    case "not":
    case "compare":
    case "in":
    case "like":
      return undefined
    case "and": {
      for (const o of filter.operands) {
        const r = findContradiction(o)
        if (r !== undefined) return r
      }
      return conjunctionContradiction(flattenAnd(filter))
    }
  }
}

/** The operands of nested `and`s, in order, in one array (a copy per level made it quadratic). */
const flattenAnd = (f: Filter): ReadonlyArray<Filter> => {
  const out: Array<Filter> = []
  const stack: Array<Filter> = [f]
  while (stack.length > 0) {
    const g = stack.pop()!
    if (g.kind !== "and") out.push(g)
    else for (let i = g.operands.length - 1; i >= 0; i--) stack.push(g.operands[i]!)
  }
  return out
}

type Bound = { value: number | string; inclusive: boolean; span: Span }

const conjunctionContradiction = (filters: ReadonlyArray<Filter>): Contradiction | undefined => {
  const byColumn = new Map<string, Array<Filter>>()
  for (const f of filters) {
    if (f.kind !== "compare" && f.kind !== "in") continue
    const key = f.jsonPath.length === 0 ? `${f.table}.${f.column}` : [f.table, f.column, ...f.jsonPath].join(".")
    const same = byColumn.get(key)
    if (same === undefined) byColumn.set(key, [f])
    else same.push(f)
  }
  for (const [column, constraints] of byColumn) {
    // One condition on a column is always satisfiable on its own (`in` lists are never empty).
    if (constraints.length < 2) continue
    let allowed: { values: Set<string>; span: Span } | undefined
    const excluded = new Map<string, Span>()
    let lower: Bound | undefined
    let upper: Bound | undefined
    const valueKey = (v: FilterValue): string => `${v.type}:${v.value}`
    for (const f of constraints) {
      if (f.kind === "in" && !f.negated) {
        const set = new Set(f.values.map(valueKey))
        if (allowed !== undefined) {
          const both = new Set([...allowed.values].filter((x) => set.has(x)))
          if (both.size === 0) return { spans: [allowed.span, f.span], reason: `these conditions on \`${column}\` exclude each other` }
          allowed = { values: both, span: f.span }
        } else allowed = { values: set, span: f.span }
      } else if (f.kind === "in" && f.negated) {
        f.values.forEach((v) => excluded.set(valueKey(v), f.span))
      } else if (f.kind === "compare") {
        const k = valueKey(f.value)
        const v = f.value.value as number | string
        if (f.operator === "==") {
          if (allowed !== undefined && !allowed.values.has(k)) {
            return { spans: [allowed.span, f.span], reason: `these conditions on \`${column}\` exclude each other` }
          }
          allowed = { values: new Set([k]), span: f.span }
        } else if (f.operator === "!=") excluded.set(k, f.span)
        else if (f.operator === ">" || f.operator === ">=") {
          const b = { value: v, inclusive: f.operator === ">=", span: f.span }
          if (lower === undefined || v > lower.value || (v === lower.value && !b.inclusive)) lower = b
        } else {
          const b = { value: v, inclusive: f.operator === "<=", span: f.span }
          if (upper === undefined || v < upper.value || (v === upper.value && !b.inclusive)) upper = b
        }
      }
    }
    if (lower !== undefined && upper !== undefined) {
      if (lower.value > upper.value || (lower.value === upper.value && !(lower.inclusive && upper.inclusive))) {
        return { spans: [lower.span, upper.span], reason: `no value of \`${column}\` lies in this range` }
      }
    }
    if (allowed !== undefined) {
      const remaining = [...allowed.values].filter((k) => {
        if (excluded.has(k)) return false
        const raw = k.slice(k.indexOf(":") + 1)
        const numeric = k.startsWith("number:") ? Number(raw) : raw
        if (lower !== undefined && (numeric < lower.value || (numeric === lower.value && !lower.inclusive))) return false
        if (upper !== undefined && (numeric > upper.value || (numeric === upper.value && !upper.inclusive))) return false
        return true
      })
      if (remaining.length === 0) {
        const other = [...excluded.values()][0] ?? lower?.span ?? upper?.span
        return {
          spans: other === undefined ? [allowed.span] : [allowed.span, other],
          reason: `every value allowed for \`${column}\` is excluded`
        }
      }
    }
  }
  return undefined
}
