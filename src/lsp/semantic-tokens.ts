import { tokenMatcher, type IToken, type TokenType } from "chevrotain"
import { SemanticTokensBuilder, type SemanticTokensLegend } from "vscode-languageserver"
import * as T from "../compiler/lexer.ts"
import { continuesStatement, isStatementKeyword } from "./completion-context.ts"

/*
 * Semantic tokens for a `.ccat` document: a pure function of its text. One pass over the lexer's
 * tokens with a stack of braces (so config keys, resource keys, output kinds and the reasons,
 * resources and factors of `retries … { on OOM memory x2 }` are told from keywords) and the
 * keyword of the current property (so `after a, b` are steps, `data x` a grouping, `on TIMEOUT`
 * a failure reason, and `Source.name` a table and a column). Works on any text, parsable or not.
 * Positions are UTF-16 and lines end at `\n`, `\r\n` or `\r`, as in LSP; multi-line block
 * comments are split per line.
 */

export const tokenTypes = ["keyword", "type", "function", "class", "property", "string", "number", "operator", "comment", "enumMember"] as const
export const tokenModifiers = ["declaration"] as const

export type SemanticTokenType = (typeof tokenTypes)[number]

export const semanticTokensLegend: SemanticTokensLegend = {
  tokenTypes: [...tokenTypes],
  tokenModifiers: [...tokenModifiers]
}

const typeIndex = new Map<SemanticTokenType, number>(tokenTypes.map((t, i) => [t, i]))
const DECLARATION = 1

const declarationKeywords: ReadonlySet<TokenType> = new Set([T.Location, T.Software, T.Grouping, T.Pipeline])
const numbers: ReadonlySet<TokenType> = new Set([
  T.IntegerLiteral,
  T.DecimalLiteral,
  T.VersionLiteral,
  T.Percent,
  T.Quantity,
  T.DateLiteral,
  T.Timestamp
])
const operators: ReadonlySet<TokenType> = new Set([
  T.EqEq,
  T.NotEq,
  T.LessEq,
  T.GreaterEq,
  T.Less,
  T.Greater,
  T.Equals,
  T.Caret,
  T.Tilde,
  T.Star,
  T.AndSymbol,
  T.OrSymbol
])
/** Properties whose identifier values are members of a fixed set. */
const enumValued: ReadonlySet<TokenType> = new Set([T.GroupBy, T.VersionPolicy, T.Container, T.Backend, T.Trigger, T.Retries])

/** A plain word: an identifier, or a factor (`x2`) standing where a name may. */
const isIdentifier = (t: IToken): boolean => t.tokenType === T.Identifier || t.tokenType === T.Factor

const isName = (t: IToken | undefined): boolean => t !== undefined && tokenMatcher(t, T.Name)
const isKeyword = (t: IToken): boolean => t.tokenType.name.startsWith("Kw_")

interface Frame {
  readonly kind: "block" | "config" | "entries" | "outputs" | "retries" | "other"
  stmt: IToken | undefined
  /** Entries and maps: keys and values alternate. In `retries … { }`: the part of the adjustment reached. */
  items: number
  brackets: number
}

/** One classified token: offsets and type, before encoding. */
export interface RawSemanticToken {
  readonly start: number
  readonly end: number
  readonly type: SemanticTokenType
  readonly declaration: boolean
}

/** The classified tokens of `text`, in document order (comments included, not yet split). */
export const classifyTokens = (text: string): Array<RawSemanticToken> => {
  const lexed = T.ccatLexer.tokenize(text)
  const tokens = lexed.tokens
  const out: Array<RawSemanticToken> = []
  const emit = (t: IToken, type: SemanticTokenType, declaration = false): void => {
    out.push({ start: t.startOffset, end: t.startOffset + t.image.length, type, declaration })
  }
  const stack: Array<Frame> = [{ kind: "block", stmt: undefined, items: 0, brackets: 0 }]
  // Names whose class is decided by the token before them: `pipeline p`, `step s`.
  const decided = new Map<number, { type: SemanticTokenType; declaration: boolean }>()

  for (let j = 0; j < tokens.length; j++) {
    const t = tokens[j]!
    const prev = tokens[j - 1]
    const next = tokens[j + 1]
    const f = stack[stack.length - 1]!
    const type = t.tokenType

    if (type === T.LCurly) {
      const p2 = tokens[j - 2]
      let kind: Frame["kind"] = "other"
      if (f.kind === "block") {
        if (prev?.tokenType === T.Config) kind = "config"
        else if (prev?.tokenType === T.Outputs) kind = "outputs"
        else if (prev !== undefined && (prev.tokenType === T.Resources || prev.tokenType === T.Backend || (p2?.tokenType === T.Backend && isName(prev)))) kind = "entries"
        else if (f.stmt?.tokenType === T.Retries) kind = "retries"
        else kind = "block"
      } else if (f.kind === "config" && prev?.tokenType === T.Equals) kind = "config"
      if (declarationKeywords.has(p2?.tokenType ?? T.LCurly) && isName(prev) && f.kind === "block") stack.length = 1
      stack.push({ kind, stmt: undefined, items: 0, brackets: 0 })
      continue
    }
    if (type === T.RCurly) {
      if (stack.length > 1) {
        const closed = stack.pop()!
        const parent = stack[stack.length - 1]!
        if (closed.kind === "config" && parent.kind === "config") parent.items++
        parent.stmt = undefined
      }
      continue
    }
    if (type === T.StringLiteral || type === T.UnterminatedString) {
      emit(t, "string")
      if (f.kind === "config" || f.kind === "entries") entry(f, t)
      continue
    }
    if (numbers.has(type)) {
      emit(t, "number")
      if (f.kind === "config" || f.kind === "entries") entry(f, t)
      continue
    }
    if (operators.has(type)) {
      emit(t, "operator")
      continue
    }
    if (f.kind === "config" || f.kind === "entries") {
      const key = f.brackets === 0 && f.items % 2 === 0
      if (isName(t) && (key || prev?.tokenType === T.Dot)) emit(t, "property")
      else if (type === T.True || type === T.False) emit(t, "keyword")
      entry(f, t)
      continue
    }
    // `on OOM memory x2`: a reason is a symbolic constant, the resource a key, the factor a number.
    if (f.kind === "retries") {
      if (type === T.On) {
        emit(t, "keyword")
        f.items = 1
      } else if (f.items === 1 && isName(t)) {
        emit(t, isKeyword(t) ? "keyword" : "enumMember")
        f.items = 2
      } else if (f.items === 2 && isName(t)) {
        emit(t, "property")
        f.items = 3
      } else {
        if (type === T.Factor) emit(t, "number")
        else if (isKeyword(t)) emit(t, "keyword")
        f.items = 0
      }
      continue
    }
    // `science "*.fits" min 2`: a kind is a symbolic constant, like a group_by dimension.
    if (f.kind === "outputs") {
      if (isIdentifier(t)) emit(t, "enumMember")
      else if (isKeyword(t)) emit(t, "keyword")
      continue
    }
    if (f.kind === "other") {
      if (isKeyword(t)) emit(t, "keyword")
      continue
    }

    // A block (or the top level).
    const pending = decided.get(j)
    if (pending !== undefined) {
      emit(t, pending.type, pending.declaration)
      continue
    }
    if (isStatementKeyword(t) && !continuesStatement(prev)) {
      f.stmt = t
      emit(t, "keyword")
      if (declarationKeywords.has(type) && isName(next)) {
        const declares = tokens[j + 2]?.tokenType === T.LCurly
        // `location hpc` inside a pipeline is a reference to a location.
        decided.set(j + 1, { type: "type", declaration: declares })
      } else if (type === T.Step && isName(next)) decided.set(j + 1, { type: "function", declaration: true })
      else if ((type === T.Data || type === T.From || type === T.Run) && isName(next)) decided.set(j + 1, { type: "type", declaration: false })
      continue
    }
    const stmt = f.stmt?.tokenType
    if (stmt === T.Where && isName(t)) {
      if (prev?.tokenType === T.Dot) emit(t, "property")
      else if (next?.tokenType === T.Dot && isIdentifier(t)) emit(t, "class")
      else if (isKeyword(t)) emit(t, "keyword")
      continue
    }
    if (stmt === T.After && isIdentifier(t)) {
      emit(t, "function")
      continue
    }
    if (stmt !== undefined && enumValued.has(stmt) && isIdentifier(t)) {
      emit(t, "enumMember")
      continue
    }
    if (isKeyword(t)) emit(t, "keyword")
  }
  for (const c of lexed.groups["comments"] ?? []) out.push({ start: c.startOffset, end: c.startOffset + c.image.length, type: "comment", declaration: false })
  return out.sort((a, b) => a.start - b.start)
}

const entry = (f: Frame, t: IToken): void => {
  if (t.tokenType === T.LBracket) f.brackets++
  else if (t.tokenType === T.RBracket) {
    if (f.brackets > 0 && --f.brackets === 0) f.items++
  } else if (f.brackets > 0 || t.tokenType === T.Comma || t.tokenType === T.Equals) return
  else if (t.tokenType === T.Dot) {
    if (f.items % 2 === 1) f.items--
  } else f.items++
}

/** Offsets at which lines start (`\n`, `\r\n` and `\r` end lines). */
const lineStarts = (text: string): Array<number> => {
  const starts = [0]
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 13) {
      if (text.charCodeAt(i + 1) === 10) i++
      starts.push(i + 1)
    } else if (c === 10) starts.push(i + 1)
  }
  return starts
}

const lineOf = (starts: ReadonlyArray<number>, offset: number): number => {
  let lo = 0
  let hi = starts.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1
    if (starts[mid]! <= offset) lo = mid
    else hi = mid - 1
  }
  return lo
}

/** The semantic tokens of `text` in LSP's relative encoding (5 integers per token). */
export const semanticTokens = (text: string): Array<number> => {
  const starts = lineStarts(text)
  const builder = new SemanticTokensBuilder()
  for (const tok of classifyTokens(text)) {
    const typ = typeIndex.get(tok.type)!
    const mods = tok.declaration ? DECLARATION : 0
    const first = lineOf(starts, tok.start)
    const last = lineOf(starts, Math.max(tok.start, tok.end - 1))
    for (let line = first; line <= last; line++) {
      const lineStart = starts[line]!
      // The line's text ends before its terminator.
      let lineEnd = line + 1 < starts.length ? starts[line + 1]! : text.length
      while (lineEnd > lineStart && (text.charCodeAt(lineEnd - 1) === 10 || text.charCodeAt(lineEnd - 1) === 13)) lineEnd--
      const from = Math.max(tok.start, lineStart)
      const to = Math.min(tok.end, lineEnd)
      if (to > from) builder.push(line, from - lineStart, to - from, typ, mods)
    }
  }
  return builder.build().data
}
