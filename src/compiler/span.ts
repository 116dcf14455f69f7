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

// Tokens inserted by error recovery have no position; callers fall back to a neighbour's span.
const isPositioned = (t: IToken): boolean => !Number.isNaN(t.startOffset) && t.startLine !== undefined

export const tokenSpan = (file: string, t: IToken): Span | undefined =>
  isPositioned(t)
    ? {
        file,
        start: t.startOffset,
        end: (t.endOffset ?? t.startOffset) + 1,
        startLine: t.startLine!,
        startColumn: t.startColumn!,
        endLine: t.endLine!,
        endColumn: t.endColumn! + 1
      }
    : undefined

export const locationSpan = (file: string, loc: CstNodeLocation | undefined): Span | undefined =>
  loc !== undefined && !Number.isNaN(loc.startOffset) && loc.endOffset !== undefined && !Number.isNaN(loc.endOffset)
    ? {
        file,
        start: loc.startOffset,
        end: loc.endOffset + 1,
        startLine: loc.startLine!,
        startColumn: loc.startColumn!,
        endLine: loc.endLine!,
        endColumn: loc.endColumn! + 1
      }
    : undefined

export const joinSpans = (a: Span, b: Span): Span => ({
  file: a.file,
  start: Math.min(a.start, b.start),
  end: Math.max(a.end, b.end),
  ...(a.start <= b.start
    ? { startLine: a.startLine, startColumn: a.startColumn }
    : { startLine: b.startLine, startColumn: b.startColumn }),
  ...(a.end >= b.end ? { endLine: a.endLine, endColumn: a.endColumn } : { endLine: b.endLine, endColumn: b.endColumn })
})

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
