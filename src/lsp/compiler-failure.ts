import { compileSources, type CompileResult, type SourceInput } from "../compiler/compile.ts"
import { makeDiagnostic, type Diagnostic } from "../compiler/diagnostics.ts"
import type { TextDocument } from "vscode-languageserver-textdocument"
import type { Snapshot } from "./workspace-state.ts"

/*
 * When the compiler throws on the workspace (a bug in ccat: a stack overflow, a RangeError, …),
 * the editor still gets diagnostics: each file keeps those of the last compilation that
 * succeeded, and the files that could not be checked get one more, at their start, saying so and
 * why. Without it the editor would show stale problems, or none, as if the file were fine.
 */

/** The last compilation that succeeded, with its diagnostics copied out of the AST's reach. */
export interface LastGood {
  readonly snapshot: Snapshot
  readonly diagnostics: ReadonlyArray<Diagnostic>
}

/**
 * The incremental parser moves the spans of pieces it reuses in place; a compilation that throws
 * half-way may have moved some. Diagnostics kept for later are copies, so they still point where
 * they pointed when they were reported.
 */
export const detachedDiagnostics = (diagnostics: ReadonlyArray<Diagnostic>): ReadonlyArray<Diagnostic> =>
  diagnostics.map((d) => ({ ...d, span: { ...d.span }, related: d.related.map((r) => ({ ...r, span: { ...r.span } })) }))

/** What was thrown, on one line and short enough for a diagnostic. */
export const describeFailure = (error: unknown): string => {
  let text: string
  try {
    text = error instanceof Error ? (error.message === "" ? error.name : `${error.name}: ${error.message}`) : String(error)
  } catch {
    text = "an error that cannot be shown"
  }
  const oneLine = text.replace(/\s+/g, " ").trim()
  return oneLine.length > 300 ? `${oneLine.slice(0, 300)}…` : oneLine
}

type Compile = (inputs: ReadonlyArray<SourceInput>) => CompileResult

const throwsOn = (compile: Compile, input: SourceInput): boolean => {
  try {
    compile([input])
    return false
  } catch {
    return true
  }
}

/**
 * The files the failed compilation could not check: those changed since the last good one (all
 * of them when there is none, or when nothing changed). When several changed, the ones that fail
 * on their own, if any: the compiler checks files together, but a crash usually has one cause.
 */
export const uncheckedFiles = (
  inputs: ReadonlyArray<SourceInput>,
  lastGood: LastGood | undefined,
  compile: Compile
): ReadonlySet<string> => {
  const changed = inputs.filter((input) => lastGood?.snapshot.docs.get(input.path)?.getText() !== input.text)
  const candidates = changed.length > 0 ? changed : inputs
  if (candidates.length <= 1) return new Set(candidates.map((c) => c.path))
  const alone = candidates.filter((input) => throwsOn(compile, input))
  return new Set((alone.length > 0 ? alone : candidates).map((c) => c.path))
}

const uncheckedFileDiagnostic = (path: string, reason: string): Diagnostic =>
  makeDiagnostic(
    "E900",
    { file: path, start: 0, end: 0, startLine: 1, startColumn: 1, endLine: 1, endColumn: 1 },
    { reason },
    {
      help: "this is a bug in ccat: please report it with this message and the file's text (the language server's log has the stack trace)",
      notes: "the other problems shown are those of the last successful check"
    }
  )

let emptyResult: CompileResult | undefined

/**
 * What to publish after a failed compilation of `docs`: the last good diagnostics (on the texts
 * they were found in) and one diagnostic per unchecked file, for the documents' current versions.
 */
export const failedSnapshot = (
  lastGood: LastGood | undefined,
  current: { readonly docs: ReadonlyMap<string, TextDocument>; readonly versions: ReadonlyMap<string, number | null> },
  unchecked: ReadonlySet<string>,
  reason: string
): Snapshot => {
  const base = lastGood?.snapshot.result ?? (emptyResult ??= compileSources([]))
  const docs = new Map([...current.docs].map(([path, doc]) => [path, lastGood?.snapshot.docs.get(path) ?? doc]))
  const diagnostics = [
    ...(lastGood?.diagnostics ?? []).filter((d) => docs.has(d.span.file)),
    ...[...unchecked].map((path) => uncheckedFileDiagnostic(path, reason))
  ]
  // Only the diagnostics are published; the rest is the last good result's, without its IR.
  const result: CompileResult = { files: base.files, diagnostics, symbols: base.symbols, checked: base.checked, ir: undefined }
  return { result, docs, versions: current.versions }
}
