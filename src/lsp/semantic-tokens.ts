import { tokenMatcher, type CstNode, type IToken, type TokenType } from "chevrotain"
import { SemanticTokensBuilder, type SemanticTokensLegend } from "vscode-languageserver"
import * as T from "../compiler/lexer.ts"
import type { ParseOutput } from "../compiler/parser.ts"
import { isInserted, isToken, nodesAt, parsedPieces, tokenAt } from "./syntax-tree.ts"

/*
 * Semantic tokens for a `.ccat` document: a pure function of its text. Each token is classified
 * by the rule and label the parser's recovered CST puts it under (syntax-tree.ts), so config
 * keys, resource keys, output kinds and the reasons, resources and factors of
 * `retries … { on OOM memory x2 }` are told from keywords, and the keyword of the property a word
 * is in says what it is (`after a, b` are steps, `data x` a grouping, `on TIMEOUT` a failure
 * reason, `Source.name` a table and a column). Tokens the parser skipped while recovering are
 * classified by what they are alone. Works on any text, parsable or not. Positions are UTF-16
 * and lines end at `\n`, `\r\n` or `\r`, as in LSP; multi-line block comments are split per line.
 */

export const tokenTypes = [
  "keyword",
  "type",
  "function",
  "class",
  "property",
  "string",
  "number",
  "operator",
  "comment",
  "enumMember"
] as const
export const tokenModifiers = ["declaration"] as const

export type SemanticTokenType = (typeof tokenTypes)[number]

export const semanticTokensLegend: SemanticTokensLegend = {
  tokenTypes: [...tokenTypes],
  tokenModifiers: [...tokenModifiers]
}

const typeIndex = new Map<SemanticTokenType, number>(tokenTypes.map((t, i) => [t, i]))
const DECLARATION = 1

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
/** Properties whose first value names a declaration. */
const referencing: ReadonlySet<TokenType> = new Set([T.Location, T.Data, T.From])

/** A plain word: an identifier, or a factor (`x2`) standing where a name may. */
const isIdentifier = (t: IToken): boolean => t.tokenType === T.Identifier || t.tokenType === T.Factor

const isName = (t: IToken | undefined): boolean => t !== undefined && tokenMatcher(t, T.Name)
const isKeyword = (t: IToken): boolean => t.tokenType.name.startsWith("Kw_")

/** One classified token: offsets and type, before encoding. */
export interface RawSemanticToken {
  readonly start: number
  readonly end: number
  readonly type: SemanticTokenType
  readonly declaration: boolean
}

/**
 * What the enclosing rules say about a word: `entries` (config maps, resources, backend options:
 * keys are properties), `outputs` (kinds are constants), `adjustment` (`on OOM memory x2`),
 * `where` (tables and columns), `skipped` (braces the parser skipped) or a block's `property`,
 * with the keyword of the property it is in.
 */
interface Context {
  readonly kind: "property" | "entries" | "outputs" | "adjustment" | "where" | "skipped"
  readonly keyword?: TokenType
  /** `location hpc`, `data rho`, `from science`: the word that names a declaration. */
  readonly reference?: IToken
}

const topLevel: Context = { kind: "property" }

/** The keyword of a property node, which colours its values. */
const propertyKeyword = (node: CstNode): TokenType | undefined => {
  switch (node.name) {
    case "valueProperty":
    case "triggerProperty":
    case "retriesProperty":
    case "backendProperty":
    case "runProperty":
      return tokenAt(node, "keyword")?.tokenType
    default:
      return undefined
  }
}

const contextOf = (node: CstNode, outer: Context): Context => {
  switch (node.name) {
    case "map":
    case "entries":
      return { kind: "entries" }
    case "outputsProperty":
      return { kind: "outputs" }
    case "retryAdjustment":
      return { kind: "adjustment" }
    case "whereProperty":
      return { kind: "where" }
    case "skippedBlock":
      return { kind: "skipped" }
    case "property":
    case "stepDeclaration":
    case "declaration":
      return topLevel
    default: {
      const keyword = propertyKeyword(node)
      if (keyword === undefined) return outer
      const first = node.name === "valueProperty" && referencing.has(keyword) ? nodesAt(node, "value")[0] : undefined
      const reference = first === undefined ? undefined : tokenAt(first, "identifier")
      return reference === undefined ? { kind: "property", keyword } : { kind: "property", keyword, reference }
    }
  }
}

type Emit = (t: IToken, type: SemanticTokenType, declaration?: boolean) => void

/** Classifies the tokens of one parsed piece of a document (offsets relative to the piece). */
const classifyPiece = (text: string, parsed: ParseOutput): Array<RawSemanticToken> => {
  const out: Array<RawSemanticToken> = []
  const seen = new Set<IToken>()
  const emit: Emit = (t, type, declaration = false) => {
    out.push({ start: t.startOffset, end: t.startOffset + t.image.length, type, declaration })
  }
  const visit = (node: CstNode, outer: Context): void => {
    const ctx = contextOf(node, outer)
    for (const label in node.children) {
      for (const e of node.children[label]!) {
        if (!isToken(e)) {
          visit(e, ctx)
          continue
        }
        if (isInserted(e)) continue
        seen.add(e)
        word(e, node, label, ctx, emit)
      }
    }
  }
  visit(parsed.cst, topLevel)
  // Tokens the parser skipped while recovering, or never saw (nested too deeply, cut before
  // parsing): classified by what they are.
  const cut = parsed.parseErrors.some((e) => e.nesting !== undefined)
  const starts = cut ? new Set([...seen].map((t) => t.startOffset)) : undefined
  for (const t of cut ? T.ccatLexer.tokenize(text).tokens : parsed.tokens) {
    if (!seen.has(t) && starts?.has(t.startOffset) !== true) word(t, undefined, "", { kind: "skipped" }, emit)
  }
  return out
}

/** The class of one token, from the rule and label it was parsed under. */
const word = (t: IToken, node: CstNode | undefined, label: string, ctx: Context, emit: Emit): void => {
  const type = t.tokenType
  if (type === T.StringLiteral || type === T.UnterminatedString) return emit(t, "string")
  if (numbers.has(type)) return emit(t, "number")
  if (operators.has(type)) return emit(t, "operator")
  if (t === ctx.reference) return emit(t, "type")
  switch (node?.name) {
    case "declaration":
      if (label === "name") return emit(t, "type", blockOpened(node))
      break
    case "stepDeclaration":
      if (label === "name") return emit(t, "function", true)
      break
    case "runProperty":
      if (label === "software") return emit(t, "type")
      break
    case "columnPath":
      if (label === "segments") return emit(t, "property")
      if (label === "table" && isIdentifier(t) && node.children["Dot"] !== undefined) return emit(t, "class")
      break
  }
  switch (ctx.kind) {
    case "entries":
      if ((label === "key" || label === "keyPath") && isName(t)) return emit(t, "property")
      if (type === T.True || type === T.False) return emit(t, "keyword")
      return
    case "outputs":
      if (isIdentifier(t)) return emit(t, "enumMember")
      break
    case "adjustment":
      if (node?.name === "failureReason") return emit(t, isKeyword(t) ? "keyword" : "enumMember")
      if (label === "resource") return emit(t, "property")
      if (type === T.Factor) return emit(t, "number")
      break
    case "property":
      if (ctx.keyword === T.After && isIdentifier(t) && label !== "keyword") return emit(t, "function")
      if (ctx.keyword !== undefined && enumValued.has(ctx.keyword) && isIdentifier(t)) return emit(t, "enumMember")
      break
    case "where":
    case "skipped":
      break
  }
  if (isKeyword(t)) emit(t, "keyword")
}

/** `pipeline p {`: the name is declared here, not referenced. */
const blockOpened = (declaration: CstNode): boolean => {
  const block = nodesAt(declaration, "block")[0]
  return block !== undefined && tokenAt(block, "LCurly") !== undefined
}

const piecesClassified = new WeakMap<ParseOutput, ReadonlyArray<RawSemanticToken>>()

/** The classified tokens of `text`, in document order (comments included, not yet split). */
export const classifyTokens = (text: string): Array<RawSemanticToken> => {
  const out: Array<RawSemanticToken> = []
  for (const piece of parsedPieces(text)) {
    let classified = piecesClassified.get(piece.parsed)
    if (classified === undefined) {
      const fresh = classifyPiece(piece.text, piece.parsed)
      for (const c of piece.parsed.comments)
        fresh.push({ start: c.startOffset, end: c.startOffset + c.image.length, type: "comment", declaration: false })
      piecesClassified.set(piece.parsed, fresh)
      classified = fresh
    }
    for (const r of classified) out.push({ ...r, start: r.start + piece.offset, end: r.end + piece.offset })
  }
  return out.sort((a, b) => a.start - b.start)
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
