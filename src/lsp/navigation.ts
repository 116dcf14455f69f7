import { ErrorCodes, ResponseError, type Location, type Range, type TextEdit, type WorkspaceEdit } from "vscode-languageserver"
import type * as A from "../compiler/ast.ts"
import type { CompileResult } from "../compiler/compile.ts"
import { keywords, keywordText } from "../compiler/lexer.ts"
import type { Span } from "../compiler/span.ts"
import { compareSpans } from "../compiler/symbols.ts"
import { spanContains, spanToRange } from "./positions.ts"
import type { Snapshot } from "./workspace-state.ts"

/*
 * Go to definition, find references and rename. A symbol is a declaration kind and a name;
 * steps also have a scope, the pipeline they belong to. Occurrences come from the compiler:
 * declaration names, and `symbols.references` (every reference that resolved).
 */

export type SymbolKind = A.DeclarationKind | "step"

export interface SymbolKey {
  readonly kind: SymbolKind
  readonly name: string
  /** The pipeline of a step. */
  readonly scope?: string
}

export interface Occurrence {
  readonly key: SymbolKey
  readonly span: Span
  readonly isDeclaration: boolean
  /** The declaration (for declaration occurrences). */
  readonly declaration?: A.Declaration
  readonly step?: A.StepDeclaration
}

export const sameKey = (a: SymbolKey, b: SymbolKey): boolean =>
  a.kind === b.kind && a.name === b.name && (a.scope ?? "") === (b.scope ?? "")

/** The steps of a pipeline declaration. */
export const stepsOf = (pipeline: A.Declaration): Array<A.StepDeclaration> =>
  pipeline.properties.flatMap((p) => (p.kind === "step" ? [p.step] : []))

const cache = new WeakMap<CompileResult, ReadonlyArray<Occurrence>>()

/** Every declaration name (steps included, duplicates too) and every resolved reference. */
export const occurrences = (result: CompileResult): ReadonlyArray<Occurrence> => {
  const cached = cache.get(result)
  if (cached !== undefined) return cached
  const found: Array<Occurrence> = []
  for (const file of result.files) {
    for (const d of file.declarations) {
      if (d.name === undefined) continue
      found.push({ key: { kind: d.kind, name: d.name.text }, span: d.name.span, isDeclaration: true, declaration: d })
      if (d.kind !== "pipeline") continue
      for (const step of stepsOf(d)) {
        if (step.name === undefined) continue
        found.push({
          key: { kind: "step", name: step.name.text, scope: d.name.text },
          span: step.name.span,
          isDeclaration: true,
          declaration: d,
          step
        })
      }
    }
  }
  const seen = new Set<string>()
  for (const r of result.symbols.references) {
    // A duplicate pipeline is checked twice; its references would be listed twice.
    const id = `${r.span.file}:${r.span.start}:${r.span.end}:${r.kind}`
    if (seen.has(id)) continue
    seen.add(id)
    found.push({
      key: { kind: r.kind, name: r.name, ...(r.scope === undefined ? {} : { scope: r.scope }) },
      span: r.span,
      isDeclaration: false
    })
  }
  cache.set(result, found)
  return found
}

/** The innermost occurrence at an offset of a file. */
export const occurrenceAt = (result: CompileResult, path: string, offset: number): Occurrence | undefined => {
  let best: Occurrence | undefined
  for (const o of occurrences(result)) {
    if (o.span.file !== path || !spanContains(o.span, offset)) continue
    if (best === undefined || o.span.end - o.span.start < best.span.end - best.span.start) best = o
  }
  return best
}

/** The declaration that wins (first in file and offset order, as the symbol table decides). */
export const definitionOf = (result: CompileResult, key: SymbolKey): Occurrence | undefined =>
  occurrences(result)
    .filter((o) => o.isDeclaration && sameKey(o.key, key))
    .sort((a, b) => compareSpans(a.span, b.span))[0]

export const referencesOf = (result: CompileResult, key: SymbolKey, includeDeclaration: boolean): Array<Occurrence> =>
  occurrences(result)
    .filter((o) => sameKey(o.key, key) && (includeDeclaration || !o.isDeclaration))
    .sort((a, b) => compareSpans(a.span, b.span))

const toLocation = (snapshot: Snapshot, uriOf: (path: string) => string, span: Span): Location | undefined => {
  const doc = snapshot.docs.get(span.file)
  return doc === undefined ? undefined : { uri: uriOf(span.file), range: spanToRange(doc, span) }
}

export const definition = (snapshot: Snapshot, uriOf: (path: string) => string, path: string, offset: number): Array<Location> => {
  const at = occurrenceAt(snapshot.result, path, offset)
  if (at === undefined) return []
  const target = definitionOf(snapshot.result, at.key)
  const location = target === undefined ? undefined : toLocation(snapshot, uriOf, target.span)
  return location === undefined ? [] : [location]
}

export const references = (
  snapshot: Snapshot,
  uriOf: (path: string) => string,
  path: string,
  offset: number,
  includeDeclaration: boolean
): Array<Location> => {
  const at = occurrenceAt(snapshot.result, path, offset)
  if (at === undefined) return []
  return referencesOf(snapshot.result, at.key, includeDeclaration).flatMap((o) => toLocation(snapshot, uriOf, o.span) ?? [])
}

const identifierPattern = /^[A-Za-z_][A-Za-z0-9_]*$/
const keywordSet = new Set(keywords.map((k) => keywordText(k)).filter((w): w is string => w !== undefined))

/** Why a name cannot be used for a symbol of this kind, or `undefined` when it can. */
export const renameProblem = (result: CompileResult, key: SymbolKey, newName: string): string | undefined => {
  if (!identifierPattern.test(newName)) return `\`${newName}\` is not a name: use letters, digits and \`_\`, not starting with a digit`
  if (keywordSet.has(newName)) return `\`${newName}\` is a keyword and cannot name a ${key.kind}`
  if (newName === key.name) return undefined
  const clash = definitionOf(result, { ...key, name: newName })
  if (clash !== undefined) {
    const where = key.scope === undefined ? "" : ` in pipeline \`${key.scope}\``
    return `a ${key.kind} named \`${newName}\` already exists${where} (${clash.span.file}:${clash.span.startLine})`
  }
  return undefined
}

/** The range of the renameable name at a position, or an error saying why there is none. */
export const prepareRename = (snapshot: Snapshot, path: string, offset: number): Range | ResponseError<void> => {
  const at = occurrenceAt(snapshot.result, path, offset)
  const doc = snapshot.docs.get(path)
  if (at === undefined || doc === undefined)
    return new ResponseError(ErrorCodes.InvalidRequest, "nothing to rename here: place the cursor on a declared name or a reference to one")
  return spanToRange(doc, at.span)
}

export const rename = (
  snapshot: Snapshot,
  uriOf: (path: string) => string,
  path: string,
  offset: number,
  newName: string
): WorkspaceEdit | ResponseError<void> => {
  const at = occurrenceAt(snapshot.result, path, offset)
  if (at === undefined)
    return new ResponseError(ErrorCodes.InvalidRequest, "nothing to rename here: place the cursor on a declared name or a reference to one")
  const problem = renameProblem(snapshot.result, at.key, newName)
  if (problem !== undefined)
    return new ResponseError(ErrorCodes.InvalidRequest, `cannot rename ${at.key.kind} \`${at.key.name}\`: ${problem}`)
  const changes: Record<string, Array<TextEdit>> = {}
  for (const o of referencesOf(snapshot.result, at.key, true)) {
    const doc = snapshot.docs.get(o.span.file)
    if (doc === undefined) continue
    const range = spanToRange(doc, o.span)
    // Only where the text is the name itself: never rewrite a span that covers more.
    if (doc.getText(range) !== at.key.name) continue
    const uri = uriOf(o.span.file)
    ;(changes[uri] ??= []).push({ range, newText: newName })
  }
  return { changes }
}
