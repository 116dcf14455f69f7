import type { IrFilter, IrFilterValue, IrWorkspace } from "./ir.ts"

/*
 * The reference system's JSON rule format: a flat list of `{table, column, operator, value,
 * json_path}` that are ANDed. Only selections made of plain ANDs of comparisons fit it; the
 * others are reported with the reason instead.
 */

export interface ReferenceRule {
  readonly table: string
  readonly column: string
  readonly operator: string
  readonly value: string | number | boolean | ReadonlyArray<string | number | boolean>
  readonly json_path: string | null
}

export type ReferenceExport =
  | { readonly grouping: string; readonly rules: ReadonlyArray<ReferenceRule> }
  | { readonly grouping: string; readonly rules: null; readonly reason: string }

const plain = (v: IrFilterValue): string | number | boolean => v.value

export const toReferenceRules = (filter: IrFilter | null): ReadonlyArray<ReferenceRule> | string => {
  if (filter === null) return []
  const out: Array<ReferenceRule> = []
  const visit = (f: IrFilter): string | undefined => {
    switch (f.kind) {
      case "and":
        for (const o of f.operands) {
          const problem = visit(o)
          if (problem !== undefined) return problem
        }
        return undefined
      case "or":
        return "it uses `or`"
      case "not":
        return "it uses `not`"
      case "compare":
        out.push({
          table: f.table,
          column: f.column,
          operator: f.operator,
          value: plain(f.value),
          json_path: f.jsonPath.length > 0 ? f.jsonPath.join(".") : null
        })
        return undefined
      case "in":
        out.push({
          table: f.table,
          column: f.column,
          operator: f.negated ? "not in" : "in",
          value: f.values.map(plain),
          json_path: f.jsonPath.length > 0 ? f.jsonPath.join(".") : null
        })
        return undefined
      case "like":
        out.push({
          table: f.table,
          column: f.column,
          operator: f.negated ? "not like" : "like",
          value: f.pattern,
          json_path: f.jsonPath.length > 0 ? f.jsonPath.join(".") : null
        })
        return undefined
    }
  }
  const problem = visit(filter)
  return problem ?? out
}

export const referenceRules = (ir: IrWorkspace): ReadonlyArray<ReferenceExport> =>
  ir.groupings.map((g) => {
    const r = toReferenceRules(g.selection)
    return typeof r === "string"
      ? { grouping: g.name, rules: null, reason: `not a plain AND of comparisons: ${r}` }
      : { grouping: g.name, rules: r }
  })
