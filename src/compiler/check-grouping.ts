import type * as A from "./ast.ts"
import { BlockView } from "./blocks.ts"
import { checkFilter, findContradiction } from "./check-filter.ts"
import type { DiagnosticSink } from "./diagnostics.ts"
import { maxNesting } from "./limits.ts"
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
 * inheritance cycles once, at the grouping that closes them, and a chain of `from` deeper than
 * `maxNesting` once, at the grouping that crosses the limit. Walks each chain with a loop: a
 * chain of thousands of groupings must not recurse once per grouping.
 */
export const effectiveFilters = (
  groupings: ReadonlyMap<string, GroupingModel>,
  fromSpans: ReadonlyMap<string, A.Identifier>,
  sink: DiagnosticSink
): Map<string, Filter | null> => {
  const result = new Map<string, Filter | null>()
  // How many `from` hops lead from a resolved grouping to its root.
  const depth = new Map<string, number>()
  // Groupings with no selection: in or under a cycle, under an unknown grouping, or too deep.
  const failed = new Set<string>()
  const reported = new Set<string>()
  for (const start of groupings.keys()) {
    if (result.has(start) || failed.has(start)) continue
    // Up the chain to a grouping already resolved, a root, or trouble; `chain[i]` inherits from `chain[i + 1]`.
    const chain: Array<string> = []
    const onChain = new Map<string, number>()
    let base: { filter: Filter | null; depth: number } | undefined
    for (let name: string | null = start; ; ) {
      if (name === null) {
        base = { filter: null, depth: -1 }
        break
      }
      const known = result.get(name)
      if (known !== undefined || result.has(name)) {
        base = { filter: known ?? null, depth: depth.get(name)! }
        break
      }
      const g = groupings.get(name)
      if (g === undefined || failed.has(name)) break
      const seen = onChain.get(name)
      if (seen !== undefined) {
        const cycle = [...chain.slice(seen), name]
        const key = [...new Set(cycle)].sort().join()
        if (!reported.has(key)) {
          reported.add(key)
          const at = fromSpans.get(chain[chain.length - 1]!)
          if (at !== undefined)
            sink.report(
              "E036",
              at.span,
              { cycle: cycle.join(" → ") },
              { help: "a grouping cannot inherit from itself, directly or through others" }
            )
        }
        break
      }
      onChain.set(name, chain.length)
      chain.push(name)
      name = g.from
    }
    if (base === undefined) {
      for (const name of chain) failed.add(name)
      continue
    }
    let parent = base
    for (let i = chain.length - 1; i >= 0; i--) {
      const g = groupings.get(chain[i]!)!
      const level = parent.depth + 1
      if (level > maxNesting) {
        const at = fromSpans.get(g.name)
        if (at !== undefined) {
          sink.report(
            "E100",
            at.span,
            { what: "groupings inherit through `from`" },
            {
              help: `\`${g.name}\` would inherit through ${level} groupings: inherit from one nearer the start of the chain`
            }
          )
        }
        for (let j = i; j >= 0; j--) failed.add(chain[j]!)
        break
      }
      const own = g.where
      const combined: Filter | null =
        parent.filter === null ? own : own === null ? parent.filter : { kind: "and", operands: [parent.filter, own], span: g.span }
      result.set(g.name, combined)
      depth.set(g.name, level)
      parent = { filter: combined, depth: level }
    }
  }
  return result
}

export const warnNeverMatches = (grouping: GroupingModel, filter: Filter | null, sink: DiagnosticSink, nameSpan: A.Identifier): void => {
  if (filter === null) return
  const contradiction = findContradiction(filter)
  if (contradiction === undefined) return
  sink.report(
    "W004",
    nameSpan.span,
    { name: grouping.name },
    {
      notes: contradiction.reason,
      related: contradiction.spans.map((span) => ({ span, message: "this condition" }))
    }
  )
}
