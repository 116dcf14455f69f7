import type * as A from "../compiler/ast.ts"
import { parseSource, type ParsedSource, type SourceInput } from "../compiler/compile.ts"
import { DiagnosticSink, type Diagnostic } from "../compiler/diagnostics.ts"
import type { ParseOutput } from "../compiler/parser.ts"
import type { Span } from "../compiler/span.ts"

/*
 * Parsing per top-level declaration, for the language server: a keystroke in a 5k-line file
 * re-parses the declaration it touched, not the file.
 *
 * A file is cut before every line that starts (in column 1) with a declaration keyword. Each
 * piece is parsed on its own and its spans are moved into place (columns never change: pieces
 * start in column 1). Parsed pieces are kept by text; a piece that moved (an edit above it) is
 * reused with its spans shifted in place, as long as it has no diagnostics (their messages may
 * name lines: such a piece is parsed again). In place, because copying the AST after every
 * keystroke cost more than the checks (allocation and garbage collection of the whole tree);
 * so, like a tree edit in an editor's parser, a parse's AST is valid until the next parse of
 * the same file by the same parser.
 *
 * The result must be exactly what parsing the whole file gives (test/lsp-incremental.test.ts
 * compares both on the fixtures and on random edits). Parsing pieces apart is only the same
 * when the parser never looks across a cut, so a piece followed by more text is trusted only
 * when, parsed alone:
 * - it ends with a `}` and no syntax error sits at its last tokens or at its end (recovery and
 *   lookahead there would see the next piece when parsing the whole file);
 * - no token or comment runs into the line break that ends it (an unterminated `/*` would
 *   swallow the next piece).
 * An untrusted piece is merged with the next one, or with all the rest when it ran off its end.
 * When a piece reports an unclosed brace (E006, said once per file with a hint found anywhere
 * before it) or leaves a brace open, the whole file is parsed instead.
 */

// Line breaks as the lexer counts them (Chevrotain's default: \n, \r\n and a lone \r).
const lineBreak = /\r\n?|\n/g

/** How many tokens at a piece's end a syntax error must keep clear of: the parser's lookahead. */
const lookahead = 3

interface Piece {
  readonly text: string
  /** Offset of the piece's first character in the file. */
  readonly offset: number
  /** 1-based line of the piece's first character. */
  readonly line: number
  /** Its parse when the edit left it untouched (found by comparing with the previous text). */
  readonly known?: ParsedPiece | undefined
}

/** A file's last parse: its text and pieces, with the parse of each piece looked up alone. */
interface LastParse {
  readonly text: string
  readonly pieces: ReadonlyArray<Piece>
}

interface ParsedPiece {
  readonly text: string
  readonly offset: number
  readonly line: number
  readonly declarations: ReadonlyArray<A.Declaration>
  readonly strayDeclarationSteps: ReadonlyArray<A.StepDeclaration>
  readonly diagnostics: ReadonlyArray<Diagnostic>
  /** Every span of the declarations, once each: what moving the piece rewrites. */
  readonly spans: ReadonlyArray<Span>
  /** Parses the same alone as followed by more declarations (see above). */
  readonly trusted: boolean
  /** Parsing ran into the piece's end inside something open: merge with all the rest. */
  readonly ranOff: boolean
  /** An unclosed brace was reported, or a `{` stays open: only the whole file parses right. */
  readonly needsWholeFile: boolean
}

const declarationWords = ["location", "software", "grouping", "pipeline"]
const isIdentifierChar = (code: number): boolean =>
  (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || (code >= 48 && code <= 57) || code === 95

/**
 * Where the file may be cut: 0, and every line start holding a declaration keyword. A scan for
 * line breaks, several times faster than one regular expression for the whole pattern.
 */
export const cuts = (text: string, from = 0, to = text.length): Array<number> => {
  const found = [from]
  for (let at = text.indexOf("\n", from); at !== -1 && at + 1 < to; at = text.indexOf("\n", at + 1)) {
    const start = at + 1
    const first = text.charCodeAt(start)
    // l, s, g, p: the first letters of the keywords; most lines start with a space or a brace.
    if (first !== 108 && first !== 115 && first !== 103 && first !== 112) continue
    for (const word of declarationWords) {
      if (text.startsWith(word, start) && !isIdentifierChar(text.charCodeAt(start + word.length))) {
        found.push(start)
        break
      }
    }
  }
  return found
}

const countLineBreaks = (text: string, from: number, to: number): number => {
  let n = 0
  lineBreak.lastIndex = from
  for (let m = lineBreak.exec(text); m !== null && m.index < to; m = lineBreak.exec(text)) {
    // A \r\n straddling `to` cannot happen: pieces end right after a \n.
    n++
  }
  return n
}

/** The pieces of `text` from `from` (a cut, on line `line`) to `to` (a cut or the end). */
const piecesBetween = (text: string, from: number, to: number, line: number): Array<Piece> => {
  const starts = cuts(text, from, to)
  const pieces: Array<Piece> = []
  for (let i = 0; i < starts.length; i++) {
    const offset = starts[i]!
    const end = i + 1 < starts.length ? starts[i + 1]! : to
    pieces.push({ text: text.slice(offset, end), offset, line })
    line += countLineBreaks(text, offset, end)
  }
  return pieces
}

// Longer than any declaration keyword and the character after it: a cut within this distance
// of an edit may appear or vanish with it.
const cutContext = 10

const commonPrefix = (a: string, b: string): number => {
  const n = Math.min(a.length, b.length)
  let i = 0
  // Block by block first: comparing strings runs in native code, a character loop does not.
  for (const block of [16384, 1024, 64]) while (i + block <= n && a.slice(i, i + block) === b.slice(i, i + block)) i += block
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++
  return i
}

const commonSuffix = (a: string, b: string, max: number): number => {
  let i = 0
  for (const block of [16384, 1024, 64]) {
    while (i + block <= max && a.slice(a.length - i - block, a.length - i) === b.slice(b.length - i - block, b.length - i)) i += block
  }
  while (i < max && a.charCodeAt(a.length - 1 - i) === b.charCodeAt(b.length - 1 - i)) i++
  return i
}

/**
 * The pieces of `text`. With the file's last parse, only the edited stretch is scanned: pieces
 * before it are the same (same place), pieces after it the same text moved by the edit's
 * length and lines; both come with their parse, so they are neither cut nor hashed again.
 */
const piecesOf = (text: string, last: LastParse | undefined): Array<Piece> => {
  if (last === undefined) return piecesBetween(text, 0, text.length, 1)
  const prefix = commonPrefix(last.text, text)
  const suffix = commonSuffix(last.text, text, Math.min(last.text.length, text.length) - prefix)
  const before = last.pieces.filter((p) => p.offset + p.text.length + cutContext <= prefix)
  // Its line break and keyword unchanged, so still a cut, and everything after it unchanged.
  const after = last.pieces.filter((p) => p.offset > 0 && p.offset - 1 >= last.text.length - suffix && p.offset - 1 >= prefix)
  const lastBefore = before[before.length - 1]
  const from = lastBefore === undefined ? 0 : lastBefore.offset + lastBefore.text.length
  const line = lastBefore === undefined ? 1 : lastBefore.line + countLineBreaks(lastBefore.text, 0, lastBefore.text.length)
  const shift = text.length - last.text.length
  const to = after.length === 0 ? text.length : after[0]!.offset + shift
  const middle = piecesBetween(text, from, to, line)
  const middleEnd =
    middle.length === 0 ? line : middle[middle.length - 1]!.line + countLineBreaks(text, middle[middle.length - 1]!.offset, to)
  const lines = after.length === 0 ? 0 : middleEnd - after[0]!.line
  return [
    ...before,
    ...(from < to ? middle : []),
    ...after.map((p) => ({ text: p.text, offset: p.offset + shift, line: p.line + lines, known: p.known }))
  ]
}

const isEof = (t: { tokenType: { name: string }; startOffset: number }): boolean =>
  t.tokenType.name === "EOF" || Number.isNaN(t.startOffset)

/** The verdicts on a piece parsed alone (`padding` line breaks precede its text). */
const judge = (parsed: ParseOutput, padding: number, length: number, diagnostics: ReadonlyArray<Diagnostic>) => {
  const tokens = parsed.tokens
  const ranOff = parsed.parseErrors.some((e) => isEof(e.token))
  const lastOffsets = tokens.slice(-lookahead).map((t) => t.startOffset)
  const errorAtEnd = parsed.parseErrors.some((e) => lastOffsets.includes(e.token.startOffset))
  const last = tokens[tokens.length - 1]
  const endsWithBrace = last === undefined || last.tokenType.name === "RCurly"
  // The piece's last character is the \n before the next piece: nothing may run into it.
  const finalBreak = padding + length - 1
  const lastComment = parsed.comments[parsed.comments.length - 1]
  const runsOn =
    (last !== undefined && (last.endOffset ?? last.startOffset) >= finalBreak) ||
    (lastComment !== undefined && (lastComment.endOffset ?? lastComment.startOffset) >= finalBreak) ||
    parsed.lexErrors.some((e) => e.offset + e.length > finalBreak)
  let depth = 0
  for (const t of tokens) {
    if (t.tokenType.name === "LCurly") depth++
    else if (t.tokenType.name === "RCurly" && depth > 0) depth--
  }
  return {
    trusted: !ranOff && !errorAtEnd && endsWithBrace && !runsOn,
    ranOff,
    needsWholeFile: depth > 0 || diagnostics.some((d) => d.code === "E006")
  }
}

/**
 * Parses a piece alone. Without diagnostics every position is a token's, and the piece is
 * parsed from line 1 and moved into place. With diagnostics it is parsed again behind as many
 * line breaks as precede it: messages may name lines, and the builder gives what lost its
 * position (after recovery) the file's start, offset 0, which the padding keeps apart.
 */
const parsePiece = (path: string, sliced: Piece): ParsedPiece => {
  // A slice keeps the whole text it was cut from alive; the cache would keep one whole file
  // per edit (V8 shares the characters of slices). The piece gets characters of its own.
  const piece = { ...sliced, text: Buffer.from(sliced.text, "utf16le").toString("utf16le") }
  const alone = parseWithPadding(path, piece, 0)
  if (alone.diagnostics.length === 0) {
    moveSpans(alone.spans, piece.offset, piece.line - 1, false)
    return alone
  }
  return piece.line === 1 ? alone : parseWithPadding(path, piece, piece.line - 1)
}

/** `piece` parsed behind `padding` line breaks; positions past the padding get the piece's offsets. */
const parseWithPadding = (path: string, piece: Piece, padding: number): ParsedPiece => {
  const sink = new DiagnosticSink()
  const { file, parsed } = parseSource({ path, text: "\n".repeat(padding) + piece.text }, sink)
  const spans = uniqueSpans([file.declarations, file.strayDeclarationSteps, sink.items])
  if (padding > 0) moveSpans(spans, piece.offset - padding, 0, true)
  return {
    text: piece.text,
    offset: piece.offset,
    line: piece.line,
    declarations: file.declarations,
    strayDeclarationSteps: file.strayDeclarationSteps,
    diagnostics: sink.items,
    spans,
    ...judge(parsed, padding, piece.text.length, sink.items)
  }
}

/** Every span object under `root`, once each (the AST shares some between nodes). */
const uniqueSpans = (root: unknown): Array<Span> => {
  const found = new Set<Span>()
  const walk = (x: unknown): void => {
    if (typeof x !== "object" || x === null) return
    if (Array.isArray(x)) {
      for (const item of x) walk(item)
      return
    }
    const o = x as Record<string, unknown>
    if (typeof o["startLine"] === "number" && typeof o["file"] === "string") {
      found.add(o as unknown as Span)
      return
    }
    for (const key in o) walk(o[key])
  }
  walk(root)
  return [...found]
}

type MovableSpan = { -readonly [K in keyof Span]: Span[K] }

/**
 * Moves spans in place: offsets by `offsets`, lines by `lines` (columns stay: pieces start in
 * column 1). With `keepStart`, offset 0 stays: the file's start, given to what lost its place.
 * In place, like an editor's tree edit: a piece's AST belongs to the file's latest parse, and a
 * moved piece no longer matches the text of the compilation before (see `IncrementalParser`).
 */
const moveSpans = (spans: ReadonlyArray<Span>, offsets: number, lines: number, keepStart: boolean): void => {
  for (const span of spans) {
    const s = span as MovableSpan
    if (!keepStart || s.start !== 0) {
      s.start = (s.start + offsets) | 0
      s.startLine = (s.startLine + lines) | 0
    }
    if (!keepStart || s.end !== 0) {
      s.end = (s.end + offsets) | 0
      s.endLine = (s.endLine + lines) | 0
    }
  }
}

/**
 * A copy of a tree with every span copied too (so the copy can move on its own), for a piece
 * whose text appears twice in a file: both places cannot share one AST.
 */
const copyTree = <T>(x: T): T => {
  if (typeof x !== "object" || x === null) return x
  if (Array.isArray(x)) return x.map((item: unknown) => copyTree(item)) as T
  const copy: Record<string, unknown> = { ...(x as Record<string, unknown>) }
  for (const key in copy) copy[key] = copyTree(copy[key])
  return copy as T
}

/** A parsed piece reused at another place in the file; `shared` when that place is already taken. */
const moved = (cached: ParsedPiece, piece: Piece, shared: boolean): ParsedPiece => {
  const own = shared ? copied(cached) : cached
  moveSpans(own.spans, piece.offset - cached.offset, piece.line - cached.line, false)
  return { ...own, offset: piece.offset, line: piece.line }
}

const copied = (cached: ParsedPiece): ParsedPiece => {
  const declarations = copyTree(cached.declarations)
  const strayDeclarationSteps = copyTree(cached.strayDeclarationSteps)
  return { ...cached, declarations, strayDeclarationSteps, spans: uniqueSpans([declarations, strayDeclarationSteps]) }
}

const joined = (pieces: ReadonlyArray<Piece>, from: number, to: number): Piece =>
  from === to
    ? pieces[from]!
    : {
        text: pieces
          .slice(from, to + 1)
          .map((p) => p.text)
          .join(""),
        offset: pieces[from]!.offset,
        line: pieces[from]!.line
      }

/**
 * Parses files piece by piece, remembering the pieces of each file's last parse. One instance
 * per language server; `parse` has the signature of `CompileOptions.parse`. The AST it returns
 * for a file stays valid until it parses that file again (moved pieces move in place): the
 * server reads only its latest compilation.
 */
export class IncrementalParser {
  private readonly piecesByPath = new Map<string, Map<string, ParsedPiece>>()
  private readonly lastByPath = new Map<string, LastParse>()
  /** Pieces parsed by the last call (for the tests). */
  lastParsedPieces = 0
  /** Counts since creation, so the tests can tell every path was taken. */
  readonly counts = { parsed: 0, moved: 0, merged: 0, wholeFile: 0 }

  readonly parse = (input: SourceInput): ParsedSource => {
    this.lastParsedPieces = 0
    const previous = this.piecesByPath.get(input.path) ?? new Map<string, ParsedPiece>()
    const current = new Map<string, ParsedPiece>()
    const pieces = piecesOf(input.text, this.lastByPath.get(input.path))
    // A parsed piece takes one place per parse; a second place with the same text gets a copy.
    // Tracked by its spans: a moved piece is a new record sharing (and moving) the old one's
    // spans, after which the old record's offset and line no longer describe them; the record
    // that placed them does.
    const placed = new Map<ReadonlyArray<Span>, ParsedPiece>()
    const lookUp = (piece: Piece): ParsedPiece => {
      const cached = piece.known ?? current.get(piece.text) ?? previous.get(piece.text)
      const holder = cached === undefined ? undefined : placed.get(cached.spans)
      let result: ParsedPiece
      if (cached !== undefined && holder === undefined && cached.offset === piece.offset && cached.line === piece.line) result = cached
      // Moved: shift it, unless it has diagnostics (their messages may name lines).
      else if (cached !== undefined && cached.diagnostics.length === 0) {
        result = moved(holder ?? cached, piece, holder !== undefined)
        this.counts.moved++
      } else {
        result = parsePiece(input.path, piece)
        this.lastParsedPieces++
        this.counts.parsed++
      }
      // Keyed by the cached text, not the new slice, for the same reason as in `parsePiece`.
      current.set(result.text, result)
      placed.set(result.spans, result)
      return result
    }

    const used: Array<ParsedPiece> = []
    const alone: Array<Piece> = []
    for (let i = 0; i < pieces.length; ) {
      let j = i
      let parsed = lookUp(pieces[i]!)
      alone.push({ text: parsed.text, offset: parsed.offset, line: parsed.line, known: parsed })
      while (!parsed.trusted && j < pieces.length - 1) {
        j = parsed.ranOff ? pieces.length - 1 : j + 1
        this.counts.merged++
        parsed = lookUp(joined(pieces, i, j))
      }
      if (parsed.needsWholeFile) return this.wholeFile(input)
      // Pieces merged into this one were not parsed alone: next time they are looked up by text.
      for (let k = i + 1; k <= j; k++) alone.push({ text: pieces[k]!.text, offset: pieces[k]!.offset, line: pieces[k]!.line })
      used.push(parsed)
      i = j + 1
    }
    this.piecesByPath.set(input.path, current)
    this.lastByPath.set(input.path, { text: input.text, pieces: alone })
    return {
      file: {
        path: input.path,
        text: input.text,
        declarations: used.flatMap((p) => p.declarations),
        strayDeclarationSteps: used.flatMap((p) => p.strayDeclarationSteps)
      },
      diagnostics: used.flatMap((p) => p.diagnostics)
    }
  }

  private wholeFile(input: SourceInput): ParsedSource {
    this.piecesByPath.delete(input.path)
    this.lastByPath.delete(input.path)
    this.lastParsedPieces = 1
    this.counts.wholeFile++
    const sink = new DiagnosticSink()
    const { file } = parseSource(input, sink)
    return { file, diagnostics: sink.items }
  }

  /** Forgets files no longer in the workspace. */
  retain(paths: ReadonlySet<string>): void {
    for (const path of this.piecesByPath.keys()) if (!paths.has(path)) this.piecesByPath.delete(path)
    for (const path of this.lastByPath.keys()) if (!paths.has(path)) this.lastByPath.delete(path)
  }
}
