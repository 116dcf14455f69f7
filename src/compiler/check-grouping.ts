import type * as A from "./ast.ts"
import { BlockView } from "./blocks.ts"
import { checkFilter, findContradiction } from "./check-filter.ts"
import type { DiagnosticSink } from "./diagnostics.ts"
import type { Filter, GroupingModel } from "./model.ts"
import { resolveReference, type SymbolTable } from "./symbols.ts"

export const checkGrouping = (decl: A.Declaration, symbols: SymbolTable, sink: DiagnosticSink): GroupingModel | undefined => {
  const view = new BlockView("grouping", decl.name, decl.span, decl.properties, sink)
  const from = view.name("from")
  if (from !== undefined) resolveReference(symbols, sink, "grouping", from)
  const clauses: Array<Filter> = []
  let failed = false
  for (const w of view.all("where")) {
    if (w.kind !== "where" || w.expression === undefined) continue
    const f = checkFilter(w.expression, sink)
    if (f === undefined) failed = true
    else clauses.push(f)
  }
  if (decl.name === undefined || failed) return undefined
  const where: Filter | null =
    clauses.length === 0 ? null : clauses.length === 1 ? clauses[0]! : { kind: "and", operands: clauses, span: decl.span }
  return { name: decl.name.text, span: decl.span, description: view.string("description")?.value ?? null, from: from?.value ?? null, where }
}

/**
 * The rules a grouping selects by: its own ANDed with everything it inherits. Reports
 * inheritance cycles once, at the grouping that closes them.
 */
export const effectiveFilters = (
  groupings: ReadonlyMap<string, GroupingModel>,
  fromSpans: ReadonlyMap<string, A.Identifier>,
  sink: DiagnosticSink
): Map<string, Filter | null> => {
  const result = new Map<string, Filter | null>()
  const reported = new Set<string>()
  const resolve = (name: string, stack: Array<string>): Filter | null | undefined => {
    if (result.has(name)) return result.get(name)
    const g = groupings.get(name)
    if (g === undefined) return undefined
    if (stack.includes(name)) {
      const cycle = [...stack.slice(stack.indexOf(name)), name]
      const key = [...new Set(cycle)].sort().join()
      if (!reported.has(key)) {
        reported.add(key)
        const at = fromSpans.get(stack[stack.length - 1]!)
        if (at !== undefined) sink.report("E036", at.span, { cycle: cycle.join(" → ") }, { help: "a grouping cannot inherit from itself, directly or through others" })
      }
      return undefined
    }
    const parent = g.from === null ? null : resolve(g.from, [...stack, name])
    if (parent === undefined && g.from !== null) return undefined
    const own = g.where
    const combined: Filter | null =
      parent === null || parent === undefined ? own : own === null ? parent : { kind: "and", operands: [parent, own], span: g.span }
    result.set(name, combined)
    return combined
  }
  for (const name of groupings.keys()) resolve(name, [])
  return result
}

export const warnNeverMatches = (grouping: GroupingModel, filter: Filter | null, sink: DiagnosticSink, nameSpan: A.Identifier): void => {
  if (filter === null) return
  const contradiction = findContradiction(filter)
  if (contradiction === undefined) return
  sink.report("W004", nameSpan.span, { name: grouping.name }, {
    notes: contradiction.reason,
    related: contradiction.spans.map((span) => ({ span, message: "this condition" }))
  })
}
