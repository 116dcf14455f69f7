import type { IToken } from "chevrotain"
import type * as A from "./ast.ts"
import { checkGrouping, effectiveFilters, warnNeverMatches } from "./check-grouping.ts"
import { checkLocation } from "./check-location.ts"
import { checkPipeline } from "./check-pipeline.ts"
import { checkSoftware } from "./check-software.ts"
import { buildSourceFile } from "./cst-to-ast.ts"
import { compareDiagnostics, DiagnosticSink, type Diagnostic } from "./diagnostics.ts"
import type { IrWorkspace } from "./ir.ts"
import { lowerWorkspace } from "./lower.ts"
import type { Filter, GroupingModel, LocationModel, PipelineModel, SoftwareModel } from "./model.ts"
import { describeToken } from "./parser-messages.ts"
import { parseText, type ParseOutput } from "./parser.ts"
import { defaultLoopIntervalSeconds } from "./properties.ts"
import { tokenSpan, type Span } from "./span.ts"
import { buildSymbolTable, type SymbolTable } from "./symbols.ts"

/*
 * The compiler's entry point: pure and synchronous. Source texts in, diagnostics and (when there
 * are no errors) the IR out. Parsing, checking and lowering never touch the file system.
 */

export interface SourceInput {
  /** The name diagnostics and IR spans use, e.g. `pipelines/chai.ccat`. */
  readonly path: string
  readonly text: string
}

export interface CompileOptions {
  /** The runtime's trigger loop interval, for the short-cooldown warning. */
  readonly loopIntervalSeconds?: number
}

export interface CheckedWorkspace {
  readonly locations: ReadonlyMap<string, LocationModel>
  readonly software: ReadonlyMap<string, SoftwareModel>
  readonly groupings: ReadonlyMap<string, GroupingModel>
  readonly selections: ReadonlyMap<string, Filter | null>
  readonly pipelines: ReadonlyMap<string, PipelineModel>
}

export interface CompileResult {
  readonly files: ReadonlyArray<A.SourceFile>
  readonly diagnostics: ReadonlyArray<Diagnostic>
  readonly symbols: SymbolTable
  readonly checked: CheckedWorkspace
  /** Present exactly when there are no errors. */
  readonly ir: IrWorkspace | undefined
}

export const parseSource = (input: SourceInput, sink: DiagnosticSink): { file: A.SourceFile; parsed: ParseOutput } => {
  const parsed = parseText(input.text)
  reportLexical(input, parsed, sink)
  reportSyntax(input, parsed, sink)
  return { file: buildSourceFile(input.path, input.text, parsed.cst, sink), parsed }
}

export const compileSources = (inputs: ReadonlyArray<SourceInput>, options: CompileOptions = {}): CompileResult => {
  const sink = new DiagnosticSink()
  // Files in path order: which duplicate is "first" must not depend on argument order.
  const sorted = [...inputs].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  const files = sorted.map((input) => parseSource(input, sink).file)
  const result = checkFiles(files, sink, options)
  const diagnostics = withoutEchoes(sink.items).sort(compareDiagnostics)
  const hasErrors = diagnostics.some((d) => d.severity === "error")
  const ir = hasErrors
    ? undefined
    : lowerWorkspace({
        locations: [...result.checked.locations.values()],
        software: [...result.checked.software.values()],
        groupings: [...result.checked.groupings.values()].map((model) => ({ model, selection: result.checked.selections.get(model.name) ?? null })),
        pipelines: [...result.checked.pipelines.values()],
        softwareByName: result.checked.software
      })
  return { files, diagnostics, symbols: result.symbols, checked: result.checked, ir }
}

/**
 * A step nested in a step is what a missing `}` looks like from inside; when the file already
 * has the missing-brace error (E006), the nested-step error only repeats it.
 */
const withoutEchoes = (items: ReadonlyArray<Diagnostic>): Array<Diagnostic> => {
  const unclosed = new Set(items.filter((d) => d.code === "E006").map((d) => d.span.file))
  return items.filter((d) => !(d.code === "E021" && d.message.startsWith("`step`") && unclosed.has(d.span.file)))
}

export const checkFiles = (files: ReadonlyArray<A.SourceFile>, sink: DiagnosticSink, options: CompileOptions): { symbols: SymbolTable; checked: CheckedWorkspace } => {
  const symbols = buildSymbolTable(files, sink)
  for (const f of files) {
    for (const step of f.strayDeclarationSteps) {
      sink.report("E009", step.keywordSpan, { name: step.name?.text ?? "?" }, { help: "move it into the `pipeline { }` it belongs to" })
    }
  }
  const declared = (kind: A.DeclarationKind): ReadonlyArray<A.Declaration> => [...symbols.byKind.get(kind)!.values()]
  // Duplicates are checked too, so their own mistakes are not hidden by the name clash.
  const duplicates = files.flatMap((f) => f.declarations).filter((d) => d.name === undefined || symbols.byKind.get(d.kind)!.get(d.name.text) !== d)

  const locations = new Map<string, LocationModel>()
  for (const d of declared("location")) {
    const m = checkLocation(d, sink)
    if (m !== undefined) locations.set(m.name, m)
  }
  const software = new Map<string, SoftwareModel>()
  for (const d of declared("software")) {
    const m = checkSoftware(d, sink)
    if (m !== undefined) software.set(m.name, m)
  }
  const groupings = new Map<string, GroupingModel>()
  const fromRefs = new Map<string, A.Identifier>()
  for (const d of declared("grouping")) {
    const m = checkGrouping(d, symbols, sink)
    const from = d.properties.find((p) => p.kind === "value" && p.keyword.text === "from")
    if (from?.kind === "value" && from.values[0] !== undefined && d.name !== undefined) {
      fromRefs.set(d.name.text, { text: "", span: from.values[0].span })
    }
    if (m !== undefined) groupings.set(m.name, m)
  }
  const selections = effectiveFilters(groupings, fromRefs, sink)
  for (const d of declared("grouping")) {
    const g = d.name === undefined ? undefined : groupings.get(d.name.text)
    if (g !== undefined && d.name !== undefined) warnNeverMatches(g, selections.get(g.name) ?? null, sink, d.name)
  }
  const pipelines = new Map<string, PipelineModel>()
  const loopIntervalSeconds = options.loopIntervalSeconds ?? defaultLoopIntervalSeconds
  for (const d of declared("pipeline")) {
    const m = checkPipeline(d, { symbols, software, sink, loopIntervalSeconds })
    if (m !== undefined) pipelines.set(m.name, m)
  }
  for (const d of duplicates) {
    const scratch = new DiagnosticSink()
    if (d.kind === "location") checkLocation(d, scratch)
    else if (d.kind === "software") checkSoftware(d, scratch)
    else if (d.kind === "grouping") checkGrouping(d, symbols, scratch)
    else checkPipeline(d, { symbols, software, sink: scratch, loopIntervalSeconds })
    sink.items.push(...scratch.items.filter((x) => x.code !== "E010"))
  }
  warnUnused(symbols, sink)
  return { symbols, checked: { locations, software, groupings, selections, pipelines } }
}

const warnUnused = (symbols: SymbolTable, sink: DiagnosticSink): void => {
  const used = new Set(symbols.references.map((r) => `${r.kind}:${r.name}`))
  const codes = { grouping: "W002", software: "W003", location: "W005" } as const
  for (const kind of ["grouping", "software", "location"] as const) {
    for (const [name, d] of symbols.byKind.get(kind)!) {
      if (!used.has(`${kind}:${name}`) && d.name !== undefined) sink.report(codes[kind], d.name.span, { name })
    }
  }
}

const reportLexical = (input: SourceInput, parsed: ParseOutput, sink: DiagnosticSink): void => {
  const lines = input.text.split("\n")
  for (const e of parsed.lexErrors) {
    const line = e.line ?? 1
    const column = e.column ?? 1
    const char = input.text.slice(e.offset, e.offset + e.length)
    const span: Span = { file: input.path, start: e.offset, end: e.offset + e.length, startLine: line, startColumn: column, endLine: line, endColumn: column + e.length }
    const shown = char.length > 12 ? `${char.slice(0, 12)}…` : char
    sink.report("E001", span, { char: shown }, { help: lexicalHelp(char, lines[line - 1] ?? "") })
  }
  for (const c of parsed.comments) {
    if (c.tokenType.name === "HashComment") {
      const span = tokenSpan(input.path, c)!
      const hash = { ...span, end: span.start + 1, endLine: span.startLine, endColumn: span.startColumn + 1 }
      sink.report("E001", hash, { char: "#" }, {
        help: "comments start with `//` or are written `/* ... */`",
        fixes: [{ title: "Replace with `//`", span: hash, replacement: "//" }]
      })
    }
    if (c.tokenType.name === "UnterminatedBlockComment") {
      const span = tokenSpan(input.path, c)!
      sink.report("E003", { ...span, end: span.start + 2, endLine: span.startLine, endColumn: span.startColumn + 2 }, {}, { help: "close it with `*/`" })
    }
  }
}

const lexicalHelp = (char: string, _line: string): string | undefined => {
  if (char.startsWith("#")) return "comments start with `//` or are written `/* ... */`"
  if (char.startsWith("'")) return 'strings use double quotes: `"..."`'
  if (char.startsWith("&")) return "write `and`"
  if (char.startsWith("|")) return "write `or`"
  if (char.startsWith("!")) return "write `not`, or `!=` for inequality"
  if (char.startsWith(";")) return "no semicolons are needed: entries are separated by spaces or new lines"
  if (char.startsWith(":")) return "properties are written without a colon, e.g. `cooldown 60s`; config entries use `=`"
  return undefined
}

const reportSyntax = (input: SourceInput, parsed: ParseOutput, sink: DiagnosticSink): void => {
  let reportedUnclosed = false
  for (const e of parsed.parseErrors) {
    const atEnd = e.token.tokenType.name === "EOF" || Number.isNaN(e.token.startOffset)
    const missingBrace = atEnd || /^expected `}`/.test(e.message)
    const open = missingBrace ? openBraces(parsed.tokens, atEnd ? Number.POSITIVE_INFINITY : e.token.startOffset) : undefined
    if (open !== undefined && open.unclosed !== undefined) {
      // One missing `}` derails everything after it; say it once, where it can be fixed.
      if (reportedUnclosed) continue
      reportedUnclosed = true
      const related = []
      if (open.suspicious !== undefined) {
        related.push({
          span: tokenSpan(input.path, open.suspicious.open)!,
          message: `this block's \`}\` may be missing: the \`}\` on line ${open.suspicious.close.startLine} is indented like an outer block`
        })
      }
      if (!atEnd) related.push({ span: tokenSpan(input.path, e.token)!, message: `the block is still open at ${describeToken(e.token)}` })
      sink.report("E006", tokenSpan(input.path, open.unclosed)!, {}, { help: "add the matching `}`", related })
      continue
    }
    const span = atEnd ? endOfPrevious(input, e.previousToken ?? parsed.tokens[parsed.tokens.length - 1]) : tokenSpan(input.path, e.token)!
    sink.report("E005", span, { detail: e.message })
  }
}

const endOfPrevious = (input: SourceInput, previous: IToken | undefined): Span => {
  const span = previous === undefined ? undefined : tokenSpan(input.path, previous)
  if (span === undefined) return { file: input.path, start: 0, end: 0, startLine: 1, startColumn: 1, endLine: 1, endColumn: 1 }
  return { ...span, start: span.end, startLine: span.endLine, startColumn: span.endColumn }
}

/**
 * The innermost `{` still open before `offset`, and the first block whose `}` is indented
 * differently from the line of its `{`: the likely place of a missing `}`, as rustc points out.
 */
const openBraces = (
  tokens: ReadonlyArray<IToken>,
  offset: number
): { unclosed: IToken | undefined; suspicious: { open: IToken; close: IToken } | undefined } => {
  const indentOfLine = new Map<number, number>()
  for (const t of tokens) {
    if (t.startLine !== undefined && !indentOfLine.has(t.startLine)) indentOfLine.set(t.startLine, (t.startColumn ?? 1) - 1)
  }
  const stack: Array<IToken> = []
  let suspicious: { open: IToken; close: IToken } | undefined
  for (const t of tokens) {
    if (t.startOffset >= offset) break
    if (t.tokenType.name === "LCurly") stack.push(t)
    else if (t.tokenType.name === "RCurly") {
      const open = stack.pop()
      const openIndent = indentOfLine.get(open?.startLine ?? -1)
      if (open !== undefined && suspicious === undefined && open.startLine !== t.startLine && openIndent !== (t.startColumn ?? 1) - 1) {
        suspicious = { open, close: t }
      }
    }
  }
  return { unclosed: stack[stack.length - 1], suspicious }
}
