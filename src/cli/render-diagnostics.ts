import { definitions, type Diagnostic } from "../compiler/diagnostics.ts"
import type { Span } from "../compiler/span.ts"

/*
 * Diagnostics for people (rustc's layout: location and message, the source line, a caret under
 * the span, then help and notes) and for machines (`--json`, a stable document).
 */

export interface Style {
  readonly error: (s: string) => string
  readonly warning: (s: string) => string
  readonly note: (s: string) => string
  readonly help: (s: string) => string
  readonly gutter: (s: string) => string
  readonly bold: (s: string) => string
}

const ansi = (code: string) => (s: string) => `\u001b[${code}m${s}\u001b[0m`
export const colorStyle: Style = {
  error: ansi("1;31"),
  warning: ansi("1;33"),
  note: ansi("1;36"),
  help: ansi("1;32"),
  gutter: ansi("34"),
  bold: ansi("1")
}
const id = (s: string) => s
export const plainStyle: Style = { error: id, warning: id, note: id, help: id, gutter: id, bold: id }

export const chooseStyle = (stream: { isTTY?: boolean }): Style =>
  stream.isTTY === true && process.env["NO_COLOR"] === undefined && process.env["TERM"] !== "dumb" ? colorStyle : plainStyle

const location = (span: Span): string => `${span.file}:${span.startLine}:${span.startColumn}`

/** The source line of a span with carets under it; multi-line spans are underlined to the line's end. */
const snippet = (
  span: Span,
  sourceOf: (file: string) => string | undefined,
  style: Style,
  label: string | undefined,
  severity: "error" | "warning" | "note"
): Array<string> => {
  const text = sourceOf(span.file)
  if (text === undefined) return []
  const lines = text.split(/\r?\n/)
  const line = lines[span.startLine - 1]
  if (line === undefined) return []
  const width = String(span.startLine).length
  const gutter = " ".repeat(Math.max(width, 3) + 1)
  const lineNo = String(span.startLine).padStart(Math.max(width, 3))
  const start = span.startColumn - 1
  const end = span.endLine === span.startLine ? Math.max(span.endColumn - 1, start + 1) : Math.max(line.length, start + 1)
  // Keep tabs under tabs so the caret lines up in any terminal.
  const padding = line.slice(0, start).replace(/[^\t]/g, " ")
  const paint = severity === "error" ? style.error : severity === "warning" ? style.warning : style.note
  const carets = paint("^".repeat(end - start) + (label === undefined ? "" : ` ${label}`))
  return [`${style.gutter(`${lineNo} |`)} ${line}`, `${style.gutter(`${gutter}|`)} ${padding}${carets}`]
}

export const renderDiagnostic = (d: Diagnostic, sourceOf: (file: string) => string | undefined, style: Style): string => {
  const paint = d.severity === "error" ? style.error : style.warning
  const out: Array<string> = [`${style.bold(location(d.span))}: ${paint(`${d.severity}[${d.code}]`)}: ${style.bold(d.message)}`]
  out.push(...snippet(d.span, sourceOf, style, d.label, d.severity))
  const pad = "    "
  for (const n of d.notes) out.push(`${pad}${style.gutter("=")} ${style.note("note")}: ${n}`)
  for (const h of d.help) out.push(`${pad}${style.gutter("=")} ${style.help("help")}: ${h}`)
  for (const r of d.related) {
    out.push(`${style.bold(location(r.span))}: ${style.note("note")}: ${r.message}`)
    out.push(...snippet(r.span, sourceOf, style, undefined, "note"))
  }
  return out.join("\n")
}

export const summaryLine = (diagnostics: ReadonlyArray<Diagnostic>, fileCount: number, style: Style): string => {
  const errors = diagnostics.filter((d) => d.severity === "error").length
  const warnings = diagnostics.length - errors
  const files = `${fileCount} file${fileCount === 1 ? "" : "s"}`
  if (errors === 0 && warnings === 0) return `${style.help("ok")}: ${files} checked, no problems`
  const parts = [
    errors > 0 ? style.error(`${errors} error${errors === 1 ? "" : "s"}`) : undefined,
    warnings > 0 ? style.warning(`${warnings} warning${warnings === 1 ? "" : "s"}`) : undefined
  ].filter((x) => x !== undefined)
  return `${parts.join(", ")} in ${files}`
}

const spanJson = (s: Span) => ({
  file: s.file,
  line: s.startLine,
  column: s.startColumn,
  endLine: s.endLine,
  endColumn: s.endColumn,
  start: s.start,
  end: s.end
})

/** The `--json` form of one diagnostic; documented in docs/json-formats.md. */
export const diagnosticJson = (d: Diagnostic) => ({
  code: d.code,
  severity: d.severity,
  title: definitions[d.code].title,
  message: d.message,
  span: spanJson(d.span),
  ...(d.label === undefined ? {} : { label: d.label }),
  notes: d.notes,
  help: d.help,
  related: d.related.map((r) => ({ message: r.message, span: spanJson(r.span) })),
  fixes: d.fixes.map((f) => ({ title: f.title, replacement: f.replacement, span: spanJson(f.span) }))
})

export const checkReportJson = (diagnostics: ReadonlyArray<Diagnostic>, files: ReadonlyArray<string>) => ({
  version: 1,
  files,
  diagnostics: diagnostics.map(diagnosticJson),
  summary: {
    files: files.length,
    errors: diagnostics.filter((d) => d.severity === "error").length,
    warnings: diagnostics.filter((d) => d.severity === "warning").length
  }
})
