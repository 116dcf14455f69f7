import { maxErrorsPerFile, maxFileLength, maxNesting } from "./limits.ts"
import type { Span } from "./span.ts"

/*
 * The central registry of diagnostic codes. A code is stable forever once released: tools and
 * people search for it. Each entry names the problem and renders its message from typed
 * parameters, so every place that reports E031 words it the same way.
 */

export type Severity = "error" | "warning"

interface Definition<P> {
  readonly severity: Severity
  readonly title: string
  readonly message: (p: P) => string
}

const def = <P = Record<string, never>>(severity: Severity, title: string, message: (p: P) => string): Definition<P> => ({
  severity,
  title,
  message
})

const q = (s: string): string => `\`${s}\``
const a = (noun: string): string => (/^[aeiou]/i.test(noun) ? `an ${noun}` : `a ${noun}`)

export const definitions = {
  // Lexical and syntax.
  E001: def<{ char: string }>("error", "unexpected character", (p) => `unexpected character ${q(p.char)}`),
  E002: def("error", "unterminated string", () => 'unterminated string: the closing `"` is missing'),
  E003: def("error", "unterminated comment", () => "unterminated block comment: the closing `*/` is missing"),
  E004: def<{ sequence: string }>("error", "invalid escape", (p) => `invalid escape ${q(p.sequence)} in string`),
  E005: def<{ detail: string }>("error", "syntax error", (p) => p.detail),
  E006: def("error", "unclosed brace", () => "this `{` is never closed"),
  E007: def<{ word: string }>("error", "unknown declaration", (p) => `unknown declaration ${q(p.word)}`),
  E008: def<{ what: string; where: string }>("error", "unexpected tokens", (p) => `unexpected ${p.what} ${p.where}`),
  E009: def<{ name: string }>("error", "step outside a pipeline", (p) => `step ${q(p.name)} is not inside a pipeline`),

  // Names and references.
  E010: def<{ kind: string; name: string; scope?: string }>(
    "error",
    "duplicate name",
    (p) => `${p.kind} ${q(p.name)} is declared more than once${p.scope === undefined ? "" : ` in ${p.scope}`}`
  ),
  E011: def<{ kind: string; name: string; scope?: string }>(
    "error",
    "unknown name",
    (p) => `unknown ${p.kind} ${q(p.name)}${p.scope === undefined ? "" : ` in ${p.scope}`}`
  ),
  E012: def<{ name: string; actual: string; expected: string }>(
    "error",
    "reference to the wrong kind",
    (p) => `${q(p.name)} is ${a(p.actual)}, but ${a(p.expected)} is expected here`
  ),

  E013: def<{ word: string; kind: string }>(
    "error",
    "keyword used as a name",
    (p) => `\`${p.word}\` is a keyword and cannot name a ${p.kind}`
  ),

  // Properties of blocks.
  E020: def<{ word: string; block: string }>("error", "unknown property", (p) => `unknown property ${q(p.word)} in a ${p.block}`),
  E021: def<{ keyword: string; block: string }>("error", "misplaced property", (p) => `${q(p.keyword)} is not a property of a ${p.block}`),
  E022: def<{ keyword: string }>("error", "duplicate property", (p) => `${q(p.keyword)} is given more than once`),
  E023: def<{ block: string; name: string; keyword: string }>(
    "error",
    "missing property",
    (p) => `${p.block} ${q(p.name)} has no ${q(p.keyword)}`
  ),
  E024: def<{ keyword: string; expected: string; found: string }>(
    "error",
    "wrong kind of value",
    (p) => `${q(p.keyword)} expects ${p.expected}, found ${p.found}`
  ),
  E025: def<{ keyword: string }>("error", "too many values", (p) => `${q(p.keyword)} takes a single value`),

  // Filters (`where`).
  E030: def<{ table: string }>("error", "unknown table", (p) => `unknown table ${q(p.table)}`),
  E031: def<{ table: string; column: string }>("error", "unknown column", (p) => `table ${q(p.table)} has no column ${q(p.column)}`),
  E032: def<{ column: string; type: string }>(
    "error",
    "JSON path on a non-JSON column",
    (p) => `${q(p.column)} is ${a(p.type)} column, not JSON: it has no fields`
  ),
  E033: def<{ column: string; type: string; found: string }>(
    "error",
    "type mismatch",
    (p) => `${q(p.column)} is ${a(p.type)} column and cannot be compared with ${p.found}`
  ),
  E034: def<{ value: string; column: string }>("error", "unknown enum value", (p) => `${q(p.value)} is not a value of ${q(p.column)}`),
  E035: def<{ operator: string; column: string; type: string }>(
    "error",
    "operator not valid for the column",
    (p) => `${q(p.operator)} cannot be used on ${q(p.column)}, ${a(p.type)} column`
  ),
  E036: def<{ cycle: string }>("error", "grouping inheritance cycle", (p) => `groupings inherit from each other in a cycle: ${p.cycle}`),
  E037: def<{ column: string }>("error", "JSON column without a path", (p) => `${q(p.column)} is a JSON column: name a field inside it`),
  E038: def<{ table: string }>("error", "table without a column", (p) => `name a column of ${q(p.table)}`),

  // Pipelines and steps.
  E040: def<{ cycle: string }>("error", "dependency cycle", (p) => `steps depend on each other in a cycle: ${p.cycle}`),
  E041: def<{ step: string; groupBy: string; upstream: string; upstreamGroupBy: string }>(
    "error",
    "group_by does not nest in an upstream step's",
    (p) =>
      `step ${q(p.step)} (group_by ${p.groupBy}) cannot take the outputs of ${q(p.upstream)} (group_by ${p.upstreamGroupBy}): one sub-group of ${q(p.upstream)} can span several of ${q(p.step)}`
  ),
  E042: def<{ dimension: string }>("error", "unknown group_by dimension", (p) => `unknown group_by dimension ${q(p.dimension)}`),
  E043: def("error", "`all` combined with other dimensions", () => "`all` cannot be combined with other dimensions"),
  E044: def<{ name: string }>("error", "pipeline without steps", (p) => `pipeline ${q(p.name)} has no steps`),
  E045: def<{ kind: string }>("error", "unknown output kind", (p) => `unknown output kind ${q(p.kind)}`),
  E046: def<{ detail: string }>("error", "malformed output pattern", (p) => `malformed output pattern: ${p.detail}`),
  E047: def<{ reason: string }>("error", "unknown failure reason", (p) => `unknown failure reason ${q(p.reason)}`),
  E048: def<{ reason: string; step: string }>(
    "error",
    "adjustment for a reason that is not retried",
    (p) => `step ${q(p.step)} does not retry ${q(p.reason)}: an adjustment on it never applies`
  ),

  // Triggers.
  E050: def<{ detail: string }>("error", "malformed cron expression", (p) => `malformed cron expression: ${p.detail}`),
  E051: def<{ detail: string }>("error", "impossible cron expression", (p) => `cron expression can never fire: ${p.detail}`),
  E052: def<{ zone: string }>("error", "unknown time zone", (p) => `unknown time zone ${q(p.zone)}`),
  E053: def<{ word: string }>("error", "unknown trigger", (p) => `unknown trigger ${q(p.word)}`),

  // Software and versions.
  E060: def<{ software: string; range: string }>(
    "error",
    "no version satisfies the range",
    (p) => `no declared version of ${q(p.software)} satisfies ${q(p.range)}`
  ),
  E061: def<{ version: string }>("error", "malformed version", (p) => `${q(p.version)} is not a semantic version (MAJOR.MINOR.PATCH)`),
  E062: def<{ version: string }>("error", "duplicate version", (p) => `version ${q(p.version)} is declared more than once`),
  E063: def<{ range: string }>("error", "malformed version range", (p) => `${q(p.range)} is not a version range`),

  // Commands and config.
  E070: def<{ key: string; step: string }>(
    "error",
    "placeholder without a config key",
    (p) => `the command uses ${q(`{config.${p.key}}`)}, but step ${q(p.step)} has no config key ${q(p.key)}`
  ),
  E071: def<{ placeholder: string; where: string }>(
    "error",
    "unknown placeholder",
    (p) => `unknown placeholder ${q(`{${p.placeholder}}`)} in ${p.where}`
  ),
  E072: def<{ found: string }>("error", "config value is not plain data", (p) => `config values must be plain data, found ${p.found}`),
  E073: def<{ key: string }>("error", "duplicate config key", (p) => `config key ${q(p.key)} is given more than once`),
  E074: def("error", "unclosed placeholder", () => "placeholder is not closed: `}` is missing"),
  E075: def<{ key: string }>("error", "dotted config key", (p) => `config keys cannot be dotted paths: ${q(p.key)}`),

  // Quantities and resources.
  E080: def<{ what: string; range: string; found: string }>(
    "error",
    "value out of range",
    (p) => `${p.what} must be ${p.range}, found ${p.found}`
  ),
  E081: def<{ word: string; block: string }>("error", "unknown resource", (p) => `unknown ${p.block} ${q(p.word)}`),
  E082: def<{ keyword: string }>("error", "zero duration", (p) => `${q(p.keyword)} cannot be zero`),
  E083: def<{ unit: string; kind: string }>("error", "unknown unit", (p) => `unknown ${p.kind} unit ${q(p.unit)}`),
  E084: def<{ literal: string; problem: string }>(
    "error",
    "number out of range",
    (p) => `number out of range: ${q(p.literal)} ${p.problem}`
  ),

  // Locations.
  E090: def<{ backend: string }>("error", "unknown backend", (p) => `unknown backend ${q(p.backend)}`),
  E091: def<{ option: string; backend: string }>(
    "error",
    "unknown backend option",
    (p) => `the ${p.backend} backend has no option ${q(p.option)}`
  ),
  E092: def<{ runtime: string }>("error", "unknown container runtime", (p) => `unknown container runtime ${q(p.runtime)}`),

  // Limits (limits.ts): past them the compiler stops short, so that it stays linear and never crashes.
  E100: def<{ what: string }>("error", "nested too deeply", (p) => `${p.what} more than ${maxNesting} levels deep`),
  E101: def<{ count: number }>(
    "error",
    "too many errors",
    (p) => `and ${p.count} more error${p.count === 1 ? "" : "s"} in this file (only the first ${maxErrorsPerFile} are reported)`
  ),
  E102: def("error", "NUL character in a string", () => "a string cannot hold the NUL character (`\\0`)"),
  E103: def<{ length: number }>(
    "error",
    "file too large",
    (p) => `this file has ${p.length} characters, more than the ${maxFileLength} a file may have`
  ),
  // Reported for a source whose bytes are not UTF-8 text (compile.ts, sourceFromBytes), at its start.
  E104: def<{ path: string; problem: string; offset: number }>(
    "error",
    "not a text file",
    (p) => `not a text file: ${p.path} is not UTF-8 text (it holds ${p.problem} at offset ${p.offset}); a .ccat file must be UTF-8 text`
  ),
  // Reported by the language server when compiling throws (a bug in ccat), never by the compiler.
  E900: def<{ reason: string }>(
    "error",
    "file could not be checked",
    (p) => `ccat could not check this file: the compiler failed (${p.reason})`
  ),

  // Warnings.
  W001: def<{ cooldown: string; interval: string }>(
    "warning",
    "cooldown shorter than the loop interval",
    (p) => `cooldown ${p.cooldown} is shorter than the runtime's loop interval (${p.interval}); it acts as ${p.interval}`
  ),
  W002: def<{ name: string }>("warning", "unused grouping", (p) => `grouping ${q(p.name)} is never used`),
  W003: def<{ name: string }>("warning", "unused software", (p) => `software ${q(p.name)} is never used`),
  W004: def<{ name: string }>("warning", "grouping never matches", (p) => `grouping ${q(p.name)} can never match any data`),
  W005: def<{ name: string }>("warning", "unused location", (p) => `location ${q(p.name)} is never used`),
  W006: def<{ what: string }>("warning", "repeated entry", (p) => `${p.what} is listed more than once`),
  W007: def<{ step: string }>(
    "warning",
    "empty outputs block",
    (p) => `the \`outputs\` block of step ${q(p.step)} is empty: its runs need produce nothing`
  ),
  W008: def<{ step: string }>(
    "warning",
    "retry reasons without retries",
    (p) => `step ${q(p.step)} retries nothing (\`retries 0\`): its failure reasons and adjustments never apply`
  ),
  W009: def<{ step: string; resource: string }>(
    "warning",
    "retry adjustment of a resource that is not set",
    (p) =>
      `step ${q(p.step)} sets no ${q(p.resource)} in \`resources\`${p.resource === "time" ? " and no `timeout`" : ""}: a retry has nothing to multiply, and asks for the backend's default again`
  )
} as const

export type DiagnosticCode = keyof typeof definitions
export type ParamsOf<C extends DiagnosticCode> = Parameters<(typeof definitions)[C]["message"]>[0]

export interface RelatedInformation {
  readonly span: Span
  readonly message: string
}

/** A replacement that fixes the problem; the editor offers it as a quick fix. */
export interface Fix {
  readonly title: string
  readonly span: Span
  readonly replacement: string
}

export interface Diagnostic {
  readonly code: DiagnosticCode
  readonly severity: Severity
  readonly message: string
  readonly span: Span
  /** Short text printed beside the caret. */
  readonly label?: string
  readonly related: ReadonlyArray<RelatedInformation>
  readonly help: ReadonlyArray<string>
  readonly notes: ReadonlyArray<string>
  readonly fixes: ReadonlyArray<Fix>
}

export interface DiagnosticExtras {
  readonly label?: string
  readonly related?: ReadonlyArray<RelatedInformation>
  readonly help?: ReadonlyArray<string> | string
  readonly notes?: ReadonlyArray<string> | string
  readonly fixes?: ReadonlyArray<Fix>
}

const asList = (x: ReadonlyArray<string> | string | undefined): ReadonlyArray<string> =>
  x === undefined ? [] : typeof x === "string" ? [x] : x

export const makeDiagnostic = <C extends DiagnosticCode>(
  code: C,
  span: Span,
  params: ParamsOf<C>,
  extras: DiagnosticExtras = {}
): Diagnostic => {
  const definition = definitions[code] as Definition<ParamsOf<C>>
  return {
    code,
    severity: definition.severity,
    message: definition.message(params),
    span,
    ...(extras.label === undefined ? {} : { label: extras.label }),
    related: extras.related ?? [],
    help: asList(extras.help),
    notes: asList(extras.notes),
    fixes: extras.fixes ?? []
  }
}

/** Collects diagnostics during one compilation. */
export class DiagnosticSink {
  readonly items: Array<Diagnostic> = []
  report<C extends DiagnosticCode>(code: C, span: Span, params: ParamsOf<C>, extras?: DiagnosticExtras): void {
    this.items.push(makeDiagnostic(code, span, params, extras))
  }
  get hasErrors(): boolean {
    return this.items.some((d) => d.severity === "error")
  }
}

export const compareDiagnostics = (a: Diagnostic, b: Diagnostic): number =>
  a.span.file < b.span.file
    ? -1
    : a.span.file > b.span.file
      ? 1
      : a.span.start - b.span.start || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0)
