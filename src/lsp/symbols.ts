import { FoldingRangeKind, SymbolKind, type DocumentSymbol, type FoldingRange, type SymbolInformation } from "vscode-languageserver"
import type * as A from "../compiler/ast.ts"
import { stepsOf } from "./navigation.ts"
import { spanToRange } from "./positions.ts"
import type { Snapshot } from "./workspace-state.ts"

/*
 * The outline (declarations, with a pipeline's steps as children), workspace symbols (a
 * case-insensitive substring of the name) and folding ranges (multi-line blocks).
 */

const kinds: Record<A.DeclarationKind | "step", SymbolKind> = {
  location: SymbolKind.Module,
  software: SymbolKind.Package,
  grouping: SymbolKind.Struct,
  pipeline: SymbolKind.Class,
  step: SymbolKind.Function
}

export const documentSymbols = (snapshot: Snapshot, path: string): Array<DocumentSymbol> => {
  const doc = snapshot.docs.get(path)
  const file = snapshot.result.files.find((f) => f.path === path)
  if (doc === undefined || file === undefined) return []
  const symbols: Array<DocumentSymbol> = []
  for (const d of file.declarations) {
    if (d.name === undefined) continue
    const children: Array<DocumentSymbol> = []
    for (const step of d.kind === "pipeline" ? stepsOf(d) : []) {
      if (step.name === undefined) continue
      children.push({
        name: step.name.text,
        detail: "step",
        kind: kinds.step,
        range: spanToRange(doc, step.span),
        selectionRange: spanToRange(doc, step.name.span)
      })
    }
    symbols.push({
      name: d.name.text,
      detail: d.kind,
      kind: kinds[d.kind],
      range: spanToRange(doc, d.span),
      selectionRange: spanToRange(doc, d.name.span),
      children
    })
  }
  return symbols
}

export const workspaceSymbols = (snapshot: Snapshot, uriOf: (path: string) => string, query: string): Array<SymbolInformation> => {
  const needle = query.toLowerCase()
  const found: Array<SymbolInformation> = []
  for (const file of snapshot.result.files) {
    const doc = snapshot.docs.get(file.path)
    if (doc === undefined) continue
    const uri = uriOf(file.path)
    for (const d of file.declarations) {
      if (d.name === undefined) continue
      if (d.name.text.toLowerCase().includes(needle))
        found.push({ name: d.name.text, kind: kinds[d.kind], location: { uri, range: spanToRange(doc, d.span) } })
      for (const step of d.kind === "pipeline" ? stepsOf(d) : []) {
        if (step.name === undefined || !step.name.text.toLowerCase().includes(needle)) continue
        found.push({
          name: step.name.text,
          kind: kinds.step,
          containerName: d.name.text,
          location: { uri, range: spanToRange(doc, step.span) }
        })
      }
    }
  }
  return found
}

export const foldingRanges = (snapshot: Snapshot, path: string): Array<FoldingRange> => {
  const doc = snapshot.docs.get(path)
  const file = snapshot.result.files.find((f) => f.path === path)
  if (doc === undefined || file === undefined) return []
  const ranges: Array<FoldingRange> = []
  const add = (span: { start: number; end: number }): void => {
    const range = spanToRange(doc, span)
    // The closing brace's line stays visible.
    const endLine = range.end.line - 1
    if (endLine > range.start.line) ranges.push({ startLine: range.start.line, endLine })
  }
  const addProperties = (properties: ReadonlyArray<A.Property>): void => {
    for (const p of properties) {
      if (p.kind === "step") {
        add(p.step.span)
        addProperties(p.step.properties)
      } else if (p.kind === "config" || p.kind === "resources" || p.kind === "backend" || p.kind === "where") {
        const range = spanToRange(doc, p.span)
        if (range.end.line > range.start.line)
          ranges.push({ startLine: range.start.line, endLine: p.kind === "where" ? range.end.line : range.end.line - 1 })
      }
    }
  }
  for (const d of file.declarations) {
    add(d.span)
    addProperties(d.properties)
  }
  // Block comments of several lines.
  const text = doc.getText()
  for (const m of text.matchAll(/\/\*[\s\S]*?\*\//g)) {
    const range = spanToRange(doc, { start: m.index, end: m.index + m[0].length })
    if (range.end.line > range.start.line)
      ranges.push({ startLine: range.start.line, endLine: range.end.line, kind: FoldingRangeKind.Comment })
  }
  return ranges.filter((r) => r.endLine > r.startLine)
}
