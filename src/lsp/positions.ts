import type { Position, Range } from "vscode-languageserver"
import type { TextDocument } from "vscode-languageserver-textdocument"

/*
 * Compiler spans are UTF-16 offsets into the text that was compiled; LSP positions are
 * (line, UTF-16 character). Both conversions go through the document holding that text, so
 * non-ASCII text ("ρ Oph") and CRLF line ends come out right.
 */

export interface OffsetRange {
  readonly start: number
  readonly end: number
}

export const spanToRange = (doc: TextDocument, span: OffsetRange): Range => ({
  start: doc.positionAt(span.start),
  end: doc.positionAt(Math.max(span.start, span.end))
})

export const positionToOffset = (doc: TextDocument, position: Position): number => doc.offsetAt(position)

/** Whether `offset` lies on the span, its end included (a cursor right after a name is on it). */
export const spanContains = (span: OffsetRange, offset: number): boolean => span.start <= offset && offset <= span.end

/** The narrower of two spans, for "innermost node at the cursor". */
export const narrower = <S extends OffsetRange>(a: S | undefined, b: S): S => (a === undefined || b.end - b.start < a.end - a.start ? b : a)

export const fullRange = (doc: TextDocument): Range => ({ start: { line: 0, character: 0 }, end: doc.positionAt(doc.getText().length) })
