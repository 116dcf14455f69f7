import type * as A from "./ast.ts"
import type { DiagnosticSink } from "./diagnostics.ts"
import type { Span } from "./span.ts"
import { didYouMeanText, suggest } from "./suggest.ts"

/*
 * Declarations by kind and name across all files of a workspace. Names are unique per kind;
 * the first declaration in (file, offset) order wins, so the result does not depend on the
 * order in which files were given.
 */

export interface SymbolTable {
  readonly byKind: ReadonlyMap<A.DeclarationKind, ReadonlyMap<string, A.Declaration>>
  /** Every reference that resolved, for find-references and rename. */
  readonly references: Array<{
    readonly kind: A.DeclarationKind | "step"
    readonly name: string
    readonly scope?: string
    readonly span: Span
  }>
}

export const buildSymbolTable = (files: ReadonlyArray<A.SourceFile>, sink: DiagnosticSink): SymbolTable => {
  const byKind = new Map<A.DeclarationKind, Map<string, A.Declaration>>(
    (["location", "software", "grouping", "pipeline"] as const).map((k) => [k, new Map()])
  )
  const ordered = files.flatMap((f) => f.declarations).sort((a, b) => compareSpans(a.span, b.span))
  for (const d of ordered) {
    if (d.name === undefined) continue
    const table = byKind.get(d.kind)!
    const first = table.get(d.name.text)
    if (first === undefined) {
      table.set(d.name.text, d)
      continue
    }
    sink.report(
      "E010",
      d.name.span,
      { kind: d.kind, name: d.name.text },
      {
        related: [{ span: first.name!.span, message: "first declared here" }],
        help: "names are unique per kind across all files of the workspace; rename one of them"
      }
    )
  }
  return { byKind, references: [] }
}

export const compareSpans = (a: Span, b: Span): number => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.start - b.start)

/**
 * Resolves a reference to a declaration of `kind`. Reports an unknown name (with the closest
 * name of that kind) or a name that exists with another kind.
 */
export const resolveReference = (
  symbols: SymbolTable,
  sink: DiagnosticSink,
  kind: A.DeclarationKind,
  ref: { readonly value: string; readonly span: Span }
): A.Declaration | undefined => {
  const found = symbols.byKind.get(kind)!.get(ref.value)
  if (found !== undefined) {
    symbols.references.push({ kind, name: ref.value, span: ref.span })
    return found
  }
  for (const [otherKind, table] of symbols.byKind) {
    const other = table.get(ref.value)
    if (other !== undefined && otherKind !== kind) {
      sink.report(
        "E012",
        ref.span,
        { name: ref.value, actual: otherKind, expected: kind },
        {
          related: [{ span: other.name!.span, message: `the ${otherKind} is declared here` }]
        }
      )
      return undefined
    }
  }
  const names = [...symbols.byKind.get(kind)!.keys()]
  const close = suggest(ref.value, names)
  sink.report(
    "E011",
    ref.span,
    { kind, name: ref.value },
    {
      help:
        close !== undefined
          ? didYouMeanText(close)
          : names.length === 0
            ? `no ${kind} is declared in this workspace`
            : `declared ${kind === "software" ? "software" : `${kind}s`}: ${names
                .slice(0, 8)
                .map((n) => `\`${n}\``)
                .join(", ")}${names.length > 8 ? ", …" : ""}`,
      fixes: close === undefined ? [] : [{ title: `Replace with \`${close}\``, span: ref.span, replacement: close }]
    }
  )
  return undefined
}
