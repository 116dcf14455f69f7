import type { CstNodeLocation, IToken } from "chevrotain"

/**
 * A range of source text. Offsets are UTF-16 code units (what JavaScript strings and LSP use),
 * `end` is exclusive; lines and columns are 1-based, `endColumn` exclusive.
 */
export interface Span {
  readonly file: string
  readonly start: number
  readonly end: number
  readonly startLine: number
  readonly startColumn: number
  readonly endLine: number
  readonly endColumn: number
}

// V8 keeps one representation per field of a hidden class, shared by every Span: a single
// boxed double stored in a field (Chevrotain hands them out, its locations and its EOF token
// start as NaN) makes every later Span allocate six heap numbers beside itself. Spans are the
// most numerous objects the compiler keeps, so positions are stored as small integers (`| 0`),
// after the guards below have ruled out NaN; positions are integers to begin with.
const span = (
  file: string,
  start: number,
  end: number,
  startLine: number,
  startColumn: number,
  endLine: number,
  endColumn: number
): Span => ({
  file,
  start: start | 0,
  end: end | 0,
  startLine: startLine | 0,
  startColumn: startColumn | 0,
  endLine: endLine | 0,
  endColumn: endColumn | 0
})

// Tokens inserted by error recovery have no position; callers fall back to a neighbour's span.
const isPositioned = (t: IToken): boolean => !Number.isNaN(t.startOffset) && t.startLine !== undefined

export const tokenSpan = (file: string, t: IToken): Span | undefined =>
  isPositioned(t)
    ? span(file, t.startOffset, (t.endOffset ?? t.startOffset) + 1, t.startLine!, t.startColumn!, t.endLine!, t.endColumn! + 1)
    : undefined

export const locationSpan = (file: string, loc: CstNodeLocation | undefined): Span | undefined =>
  loc !== undefined && !Number.isNaN(loc.startOffset) && loc.endOffset !== undefined && !Number.isNaN(loc.endOffset)
    ? span(file, loc.startOffset, loc.endOffset + 1, loc.startLine!, loc.startColumn!, loc.endLine!, loc.endColumn! + 1)
    : undefined

export const joinSpans = (a: Span, b: Span): Span => {
  const first = a.start <= b.start ? a : b
  const last = a.end >= b.end ? a : b
  return span(a.file, first.start, last.end, first.startLine, first.startColumn, last.endLine, last.endColumn)
}

/** A sub-range of a single-line span, e.g. one field inside a string literal. */
export const subSpan = (span: Span, from: number, to: number): Span =>
  span.startLine === span.endLine
    ? {
        ...span,
        start: span.start + from,
        end: span.start + to,
        startColumn: span.startColumn + from,
        endColumn: span.startColumn + to
      }
    : span

/** A zero-width span at the very start of a file, for problems that belong to no text. */
export const fileStart = (file: string): Span => ({
  file,
  start: 0,
  end: 0,
  startLine: 1,
  startColumn: 1,
  endLine: 1,
  endColumn: 1
})
