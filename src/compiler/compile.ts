import type * as A from "./ast.ts"
import { checkGrouping, effectiveFilters, warnNeverMatches } from "./check-grouping.ts"
import { checkLocation } from "./check-location.ts"
import { checkPipeline } from "./check-pipeline.ts"
import { checkSoftware } from "./check-software.ts"
import { buildSourceFile } from "./cst-to-ast.ts"
import { compareDiagnostics, DiagnosticSink, makeDiagnostic, type Diagnostic } from "./diagnostics.ts"
import type { IrWorkspace } from "./ir.ts"
import { maxErrorsPerFile, maxFileLength } from "./limits.ts"
import { lowerWorkspace } from "./lower.ts"
import type { Filter, GroupingModel, LocationModel, PipelineModel, SoftwareModel } from "./model.ts"
import { parseText, type ParseOutput } from "./parser.ts"
import { reportLexical, reportSyntax } from "./syntax-diagnostics.ts"
import { defaultLoopIntervalSeconds } from "./properties.ts"
import { fileStart } from "./span.ts"
import { buildSymbolTable, type SymbolTable } from "./symbols.ts"

/*
 * The compiler's entry point: pure and synchronous. Source texts in, diagnostics and (when there
 * are no errors) the IR out. Parsing, checking and lowering never touch the file system.
 */

export interface SourceInput {
  /** The name diagnostics and IR spans use, e.g. `pipelines/chai.ccat`. */
  readonly path: string
  readonly text: string
  /** Set when the file's bytes are not UTF-8 text (`text` is then empty): one E104, and the file is not compiled. */
  readonly notText?: NotText
}

/** The first thing in a file's bytes that text does not hold, at its byte offset. */
export interface NotText {
  readonly problem: "a NUL byte" | "an invalid UTF-8 sequence"
  readonly offset: number
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true })

/**
 * A file's bytes as a source. A file that is not UTF-8 text (an image, a Latin-1 or UTF-16 file)
 * would lex into thousands of unexpected characters; it gets one diagnostic instead. A NUL byte
 * counts as not text, as for git and grep: UTF-16 and binary files are full of them.
 */
export const sourceFromBytes = (path: string, bytes: Uint8Array): SourceInput => {
  const nul = bytes.indexOf(0)
  let text: string | undefined
  try {
    text = strictUtf8.decode(bytes)
  } catch {
    text = undefined
  }
  if (nul < 0 && text !== undefined) return { path, text }
  const invalid = text === undefined ? firstInvalidUtf8(bytes) : -1
  const notText: NotText =
    invalid >= 0 && (nul < 0 || invalid < nul)
      ? { problem: "an invalid UTF-8 sequence", offset: invalid }
      : { problem: "a NUL byte", offset: nul }
  return { path, text: "", notText }
}

/** The offset of the first byte that does not start a well-formed UTF-8 sequence (RFC 3629), -1 when all do. */
const firstInvalidUtf8 = (bytes: Uint8Array): number => {
  let i = 0
  while (i < bytes.length) {
    const lead = bytes[i]!
    if (lead < 0x80) {
      i++
      continue
    }
    const following = lead >= 0xc2 && lead <= 0xdf ? 1 : lead >= 0xe0 && lead <= 0xef ? 2 : lead >= 0xf0 && lead <= 0xf4 ? 3 : -1
    if (following < 0 || i + following >= bytes.length) return i
    // The second byte's range rules out overlong forms, surrogates and code points past U+10FFFF.
    const low = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80
    const high = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf
    if (bytes[i + 1]! < low || bytes[i + 1]! > high) return i
    for (let k = 2; k <= following; k++) if ((bytes[i + k]! & 0xc0) !== 0x80) return i
    i += following + 1
  }
  return -1
}

export interface CompileOptions {
  /** The runtime's trigger loop interval, for the short-cooldown warning (default: the loop's own default, trigger-interval.ts). */
  readonly loopIntervalSeconds?: number
  /**
   * Parses kept between compilations (the language server's): a file whose text did not change
   * is not parsed again. The AST is never modified after it is built, so sharing it is safe.
   */
  readonly parseCache?: Map<string, CachedParse>
  /**
   * How a file is parsed when the cache has no parse of its text (default: `parseSource`). The
   * language server parses per declaration; the result must equal `parseSource`'s. Such a
   * parser may move the AST of its earlier parse of the same file in place (the server's does),
   * which leaves earlier results of that file stale; the cache above only keeps the latest.
   */
  readonly parse?: (input: SourceInput) => ParsedSource
  /**
   * Lower to IR only when `ir` is first read (the language server: diagnostics never need it,
   * and lowering reports nothing). `ir` is still present exactly when there are no errors.
   */
  readonly lazyIr?: boolean
}

/** A parsed file and the diagnostics of lexing, parsing and building its AST. */
export interface ParsedSource {
  readonly file: A.SourceFile
  readonly diagnostics: ReadonlyArray<Diagnostic>
}

export interface CachedParse {
  readonly text: string
  readonly file: A.SourceFile
  readonly diagnostics: ReadonlyArray<Diagnostic>
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

const parseWhole = (input: SourceInput): ParsedSource => {
  const own = new DiagnosticSink()
  const { file } = parseSource(input, own)
  return { file, diagnostics: own.items }
}

const parseCached = (input: SourceInput, sink: DiagnosticSink, options: CompileOptions): A.SourceFile => {
  if (input.notText !== undefined) return notTextFile(input, input.notText, sink)
  if (input.text.length > maxFileLength) return tooLarge(input, sink)
  const cache = options.parseCache
  const cached = cache?.get(input.path)
  if (cached !== undefined && cached.text === input.text) {
    appendAll(sink.items, cached.diagnostics)
    return cached.file
  }
  const { file, diagnostics } = (options.parse ?? parseWhole)(input)
  cache?.set(input.path, { text: input.text, file, diagnostics })
  appendAll(sink.items, diagnostics)
  return file
}

/** A file past the size limit is not lexed at all: one diagnostic, and no declarations. */
const tooLarge = (input: SourceInput, sink: DiagnosticSink): A.SourceFile => {
  sink.report(
    "E103",
    fileStart(input.path),
    { length: input.text.length },
    {
      help: "split the declarations into several `.ccat` files of the folder: they compile together"
    }
  )
  return { path: input.path, text: input.text, declarations: [], strayDeclarationSteps: [] }
}

/** A file that is not text is not lexed at all: one diagnostic, and no declarations. */
const notTextFile = (input: SourceInput, notText: NotText, sink: DiagnosticSink): A.SourceFile => {
  // NUL bytes in text are most likely UTF-16; a stray high byte, a single-byte encoding.
  const conversion =
    notText.problem === "a NUL byte" ? "from UTF-16: `iconv -f utf-16 -t utf-8`" : "from Latin-1: `iconv -f latin1 -t utf-8`"
  sink.report(
    "E104",
    fileStart(input.path),
    { path: input.path, problem: notText.problem, offset: notText.offset },
    {
      help: [
        `if it is text in another encoding, save it as UTF-8 (${conversion})`,
        "if it is not a ccat source, rename it so that its name does not end in `.ccat`"
      ]
    }
  )
  return { path: input.path, text: "", declarations: [], strayDeclarationSteps: [] }
}

/** `push(...items)` passes every item as an argument: a hundred thousand overflow the stack. */
const appendAll = <T>(target: Array<T>, items: ReadonlyArray<T>): void => {
  for (const item of items) target.push(item)
}

/**
 * At most `maxErrorsPerFile` errors per file, in source order, then one that counts the rest,
 * at the first one left out. Past a hundred, more say nothing a person can use, and a hundred
 * thousand of them (a file of junk) would flood the terminal and the editor.
 */
const capErrorsPerFile = (sorted: ReadonlyArray<Diagnostic>): Array<Diagnostic> => {
  const errorsByFile = new Map<string, number>()
  const out: Array<Diagnostic> = []
  const firstLeftOut = new Map<string, Diagnostic>()
  for (const d of sorted) {
    if (d.severity !== "error") {
      out.push(d)
      continue
    }
    const seen = (errorsByFile.get(d.span.file) ?? 0) + 1
    errorsByFile.set(d.span.file, seen)
    if (seen <= maxErrorsPerFile) out.push(d)
    else if (seen === maxErrorsPerFile + 1) firstLeftOut.set(d.span.file, d)
  }
  if (firstLeftOut.size === 0) return out
  for (const [file, first] of firstLeftOut) {
    out.push(
      makeDiagnostic(
        "E101",
        first.span,
        { count: errorsByFile.get(file)! - maxErrorsPerFile },
        { help: "fix the errors above first: many of the rest often follow from them" }
      )
    )
  }
  return out.sort(compareDiagnostics)
}

export const compileSources = (inputs: ReadonlyArray<SourceInput>, options: CompileOptions = {}): CompileResult => {
  const sink = new DiagnosticSink()
  // Files in path order: which duplicate is "first" must not depend on argument order.
  const sorted = [...inputs].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  const files = sorted.map((input) => parseCached(input, sink, options))
  if (options.parseCache !== undefined) {
    const present = new Set(sorted.map((i) => i.path))
    for (const path of options.parseCache.keys()) if (!present.has(path)) options.parseCache.delete(path)
  }
  const result = checkFiles(files, sink, options)
  const diagnostics = capErrorsPerFile(withoutEchoes(sink.items).sort(compareDiagnostics))
  const hasErrors = diagnostics.some((d) => d.severity === "error")
  const lower = (): IrWorkspace | undefined =>
    hasErrors
      ? undefined
      : lowerWorkspace({
          locations: [...result.checked.locations.values()],
          software: [...result.checked.software.values()],
          groupings: [...result.checked.groupings.values()].map((model) => ({
            model,
            selection: result.checked.selections.get(model.name) ?? null
          })),
          pipelines: [...result.checked.pipelines.values()],
          softwareByName: result.checked.software
        })
  if (options.lazyIr !== true) return { files, diagnostics, symbols: result.symbols, checked: result.checked, ir: lower() }
  let ir: { readonly value: IrWorkspace | undefined } | undefined
  return {
    files,
    diagnostics,
    symbols: result.symbols,
    checked: result.checked,
    get ir() {
      ir ??= { value: lower() }
      return ir.value
    }
  }
}

/**
 * A step nested in a step is what a missing `}` looks like from inside; when the file already
 * has the missing-brace error (E006), the nested-step error only repeats it.
 */
const withoutEchoes = (items: ReadonlyArray<Diagnostic>): Array<Diagnostic> => {
  const unclosed = new Set(items.filter((d) => d.code === "E006").map((d) => d.span.file))
  return items.filter((d) => !(d.code === "E021" && d.message.startsWith("`step`") && unclosed.has(d.span.file)))
}

export const checkFiles = (
  files: ReadonlyArray<A.SourceFile>,
  sink: DiagnosticSink,
  options: CompileOptions
): { symbols: SymbolTable; checked: CheckedWorkspace } => {
  const symbols = buildSymbolTable(files, sink)
  for (const f of files) {
    for (const step of f.strayDeclarationSteps) {
      sink.report("E009", step.keywordSpan, { name: step.name?.text ?? "?" }, { help: "move it into the `pipeline { }` it belongs to" })
    }
  }
  const declared = (kind: A.DeclarationKind): ReadonlyArray<A.Declaration> => [...symbols.byKind.get(kind)!.values()]
  // Duplicates are checked too, so their own mistakes are not hidden by the name clash.
  const duplicates = files
    .flatMap((f) => f.declarations)
    .filter((d) => d.name === undefined || symbols.byKind.get(d.kind)!.get(d.name.text) !== d)

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
    appendAll(
      sink.items,
      scratch.items.filter((x) => x.code !== "E010")
    )
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
