import { tokenMatcher, type CstNode, type IToken, type TokenType } from "chevrotain"
import * as T from "../compiler/lexer.ts"
import { declarationKeywords as declarationTokens, propertyKeywords, type ParseOutput } from "../compiler/parser.ts"
import type { BlockKind } from "../compiler/properties.ts"
import { childNodes, firstToken, isInserted, isToken, lastToken, leftOpen, nodesAt, pieceAt, tokenAt, tokensOf } from "./syntax-tree.ts"

/*
 * Where is the cursor? A pure classification of a cursor offset into a completion slot. It must
 * work in files that do not parse (that is what a file looks like while it is being typed), so
 * it reads the parser's recovered CST (syntax-tree.ts): the blocks that enclose the cursor are
 * the CST nodes whose braces are open around it (a brace the parser had to make up counts as
 * not there yet), so nesting and re-syncing are the parser's own. Within the innermost block it
 * reads the last few tokens of the property being written, up to the cursor.
 */

export interface OffsetRange {
  /** UTF-16 offsets, `end` exclusive. */
  readonly start: number
  readonly end: number
}

export type ReferenceKind = "grouping" | "location" | "software" | "step"

export type SlotKind =
  | { readonly kind: "none"; readonly reason: "string" | "comment" | "name" | "value" | "unknown" }
  | { readonly kind: "topLevelKeyword" }
  | {
      readonly kind: "propertyKeyword"
      readonly block: BlockKind
      readonly pipeline?: string
      readonly step?: string
      /** Property keywords already written in this block (before or after the cursor). */
      readonly present: ReadonlyArray<string>
    }
  | {
      readonly kind: "reference"
      readonly target: ReferenceKind
      readonly pipeline?: string
      readonly step?: string
      /** For `step`: the steps of this pipeline in the current text, the cursor's own step excluded. */
      readonly steps?: ReadonlyArray<string>
      /** Names already listed in this property (`after a, |`). */
      readonly listed: ReadonlyArray<string>
    }
  | { readonly kind: "version"; readonly software: string }
  | { readonly kind: "table" }
  | { readonly kind: "column"; readonly table: string }
  | { readonly kind: "jsonPath"; readonly table: string; readonly column: string; readonly path: ReadonlyArray<string> }
  | { readonly kind: "enumValue"; readonly table: string; readonly column: string }
  | { readonly kind: "dimension"; readonly listed: ReadonlyArray<string> }
  | { readonly kind: "triggerMode" }
  | { readonly kind: "versionPolicy" }
  | { readonly kind: "containerRuntime" }
  | { readonly kind: "backendKind" }
  | { readonly kind: "boolean" }
  | { readonly kind: "resourceKey"; readonly present: ReadonlyArray<string> }
  /** At the start of a rule of `outputs { }`: a kind. */
  | { readonly kind: "outputKind" }
  /** After a rule's kind or pattern, on its line: `min`. */
  | { readonly kind: "outputMin" }
  /**
   * `on`: after `retries N` on its line (before the reasons), or at the start of an adjustment in
   * its braces (`on OOM memory x2`), where `retried` are the reasons the step retries, if it names them.
   */
  | { readonly kind: "retryOn"; readonly adjustment: boolean; readonly retried?: ReadonlyArray<string> }
  /**
   * A failure reason: after `retries N on` or a comma of its list (`listed` are the reasons
   * already there), or after `on` in its braces (`retried`: the reasons the step retries, if named).
   */
  | { readonly kind: "failureReason"; readonly listed: ReadonlyArray<string>; readonly retried?: ReadonlyArray<string> }
  /** After `on REASON` in the braces of `retries … { }`: a resource that grows. */
  | { readonly kind: "growableResource" }
  | { readonly kind: "backendOption"; readonly backend: string | undefined; readonly present: ReadonlyArray<string> }
  | {
      readonly kind: "configKey"
      /** The software the enclosing step runs, wherever its `run` is written in the step. */
      readonly software: string | undefined
      /** Keys of the enclosing maps: `[]` directly in `config { }`, `["params"]` in `params = { }`. */
      readonly path: ReadonlyArray<string>
      readonly present: ReadonlyArray<string>
    }

/** A slot and the text a chosen candidate replaces: the word (or version) typed so far. */
export type CompletionSlot = SlotKind & { readonly replace: OffsetRange }

export type SlotName = SlotKind["kind"]

// --- token classes ----------------------------------------------------------------------------

const declarationKeywords: ReadonlySet<TokenType> = new Set(declarationTokens)
const blockOfKeyword = new Map<TokenType, BlockKind>([
  [T.Location, "location"],
  [T.Software, "software"],
  [T.Grouping, "grouping"],
  [T.Pipeline, "pipeline"]
])

/** Keywords that start a property (a statement of a block). */
const statementKeywords: ReadonlySet<TokenType> = new Set([...propertyKeywords, ...declarationTokens])

const numberTokens: ReadonlySet<TokenType> = new Set([T.IntegerLiteral, T.DecimalLiteral, T.VersionLiteral])
const reservedWords: ReadonlySet<TokenType> = new Set([T.And, T.Or, T.Not, T.In, T.Like, T.True, T.False])

const is = (t: IToken | undefined, type: TokenType): boolean => t !== undefined && tokenMatcher(t, type)
const isName = (t: IToken | undefined): boolean => t !== undefined && tokenMatcher(t, T.Name)
const isWord = (t: IToken): boolean => isName(t) || reservedWords.has(t.tokenType)
/** Inclusive end offset (Chevrotain's `endOffset` is typed optional). */
const endOf = (t: IToken): number => t.endOffset ?? t.startOffset + t.image.length - 1
const isStatementKeyword = (t: IToken | undefined): boolean => t !== undefined && statementKeywords.has(t.tokenType)

const none = (reason: "string" | "comment" | "name" | "value" | "unknown", replace: OffsetRange): CompletionSlot => ({
  kind: "none",
  reason,
  replace
})

/** Index of the first token whose start is at or after `offset` (tokens are sorted). */
const firstAtOrAfter = (tokens: ReadonlyArray<IToken>, offset: number): number => {
  let lo = 0
  let hi = tokens.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (tokens[mid]!.startOffset < offset) lo = mid + 1
    else hi = mid
  }
  return lo
}

const insideComment = (comments: ReadonlyArray<IToken>, offset: number): boolean => {
  const i = firstAtOrAfter(comments, offset) - 1
  const c = comments[i]
  if (c === undefined) return false
  // A line comment (and an unterminated block comment) still holds the cursor at its very end.
  const openEnded = c.tokenType === T.LineComment || c.tokenType === T.HashComment || c.tokenType === T.UnterminatedBlockComment
  return offset <= endOf(c) + (openEnded ? 1 : 0)
}

// --- the cursor in the tree -------------------------------------------------------------------

/** What the cursor is in, read off the CST. */
interface Cursor {
  /** The piece's text and parse; offsets are relative to the piece. */
  readonly text: string
  readonly parsed: ParseOutput
  readonly offset: number
  /** The word being typed, which the candidate replaces; not part of what comes before. */
  readonly prefix: IToken | undefined
  /** Tokens starting before this offset are before the cursor. */
  readonly boundary: number
  /** The CST nodes around the cursor, from the root to the innermost. */
  readonly path: ReadonlyArray<CstNode>
  /** Statements after a block left open, which the parser put outside it (see `pathTo`). */
  readonly orphans: ReadonlyArray<CstNode>
}

const before = (c: Cursor, t: IToken | undefined): t is IToken => t !== undefined && !isInserted(t) && t.startOffset < c.boundary

/** A `{` the parser did not have to make up, and no `}` (a real one) before the cursor. */
const openAround = (c: Cursor, node: CstNode): boolean => {
  const open = tokenAt(node, "LCurly")
  if (!before(c, open)) return false
  const close = tokenAt(node, "RCurly")
  return close === undefined || close.startOffset >= c.boundary
}

/** Reaches the cursor: starts before it and ends after it, or is left open. */
const around = (c: Cursor, node: CstNode): boolean => {
  if (!before(c, firstToken(node))) return false
  return lastToken(node)!.startOffset >= c.boundary || leftOpen(node)
}

/**
 * The nodes around the cursor, from the root down; and the statements the parser re-synced out
 * of a block left open before the cursor (`data` then `location |` with no `}` yet: the parser
 * ends the pipeline at `location`, but until a `}` or a new `{` the writer is still in it).
 */
const pathTo = (c: Omit<Cursor, "path" | "orphans">): { path: Array<CstNode>; orphans: Array<CstNode> } => {
  const path: Array<CstNode> = [c.parsed.cst]
  const orphans: Array<CstNode> = []
  const cursor = { ...c, path, orphans }
  for (;;) {
    const children = childNodes(path[path.length - 1]!)
    let next: CstNode | undefined
    const trailing: Array<CstNode> = []
    for (let i = children.length - 1; i >= 0 && next === undefined; i--) {
      const child = children[i]!
      if (!before(cursor, firstToken(child))) continue
      if (around(cursor, child)) next = child
      else if (hasBraces(child)) break
      else trailing.unshift(child)
    }
    if (next === undefined) return { path, orphans }
    if (trailing.length > 0 && lastToken(next)!.startOffset < c.boundary) orphans.unshift(...trailing)
    path.push(next)
  }
}

/** Holds a `{`: a block (or a map, or skipped braces) closed before the cursor. */
const hasBraces = (node: CstNode): boolean => tokenAt(node, "LCurly") !== undefined || childNodes(node).some(hasBraces)

/** The property (or top-level node) being written: the last one starting before the cursor, its tokens up to the cursor. */
const statementIn = (c: Cursor, nodes: ReadonlyArray<CstNode>): Array<IToken> => {
  let last: CstNode | undefined
  for (const n of nodes) if (before(c, firstToken(n))) last = n
  if (last === undefined) return []
  let stmt: Array<IToken> = []
  // What a closed inner block held is finished: the statement goes on after its `}`.
  for (const t of tokensOf(last)) {
    if (!before(c, t)) break
    if (t.tokenType === T.RCurly) stmt = []
    else stmt.push(t)
  }
  return stmt
}

/** The properties of a block, in order. */
const propertiesOf = (block: CstNode): Array<CstNode> => nodesAt(block, "property").flatMap((p) => childNodes(p))

/** Classifies the cursor at `offset` (UTF-16) in `text`. Pure; never throws on any input. */
export const completionContext = (text: string, offset: number): CompletionSlot => {
  const clamped = Math.max(0, Math.min(offset, text.length))
  const piece = pieceAt(text, clamped)
  const slot = classify(piece.text, piece.parsed, clamped - piece.offset)
  const shift = piece.offset
  return shift === 0 ? slot : { ...slot, replace: { start: slot.replace.start + shift, end: slot.replace.end + shift } }
}

/** The same, in one parsed piece of text. */
const classify = (text: string, parsed: ParseOutput, offset: number): CompletionSlot => {
  const empty = { start: offset, end: offset }
  if (insideComment(parsed.comments, offset)) return none("comment", empty)

  // Tokens nested too deeply never reach the parser; the word at the cursor may be one of them.
  const cut = parsed.parseErrors.some((e) => e.nesting !== undefined)
  const tokens = cut ? T.ccatLexer.tokenize(text).tokens : parsed.tokens
  const end = firstAtOrAfter(tokens, offset)
  let prefix: IToken | undefined
  const atCursor = tokens[end - 1]
  if (atCursor !== undefined && offset <= endOf(atCursor) + 1) {
    if (atCursor.tokenType === T.StringLiteral && offset <= endOf(atCursor)) return none("string", empty)
    if (atCursor.tokenType === T.UnterminatedString) return none("string", empty)
    if (isWord(atCursor) || numberTokens.has(atCursor.tokenType)) prefix = atCursor
  }
  const replace = prefix === undefined ? empty : { start: prefix.startOffset, end: offset }
  const partial = { text, parsed, offset, prefix, boundary: prefix?.startOffset ?? offset }
  const c: Cursor = { ...partial, ...pathTo(partial) }

  // The innermost node whose braces are open around the cursor.
  let at = 0
  for (let i = c.path.length - 1; i > 0 && at === 0; i--) if (openAround(c, c.path[i]!)) at = i
  const container = c.path[at]!
  const parent = c.path[at - 1]
  switch (container.name) {
    case "workspace":
      return classifyTopLevel(statementIn(c, childNodes(container)), replace)
    case "block": {
      const keyword = parent === undefined ? undefined : tokenAt(parent, "keyword")
      const block = parent?.name === "stepDeclaration" ? "step" : keyword === undefined ? undefined : blockOfKeyword.get(keyword.tokenType)
      if (block === undefined) return none("unknown", replace)
      return classifyInBlock(c, at, block, replace)
    }
    case "entries":
    case "map":
      return classifyEntries(c, at, replace)
    case "outputsProperty":
      return classifyOutputs(text, inside(c, container), prefix, offset, replace)
    case "retriesProperty": {
      const reasons = nodesAt(container, "reasons").flatMap((r) =>
        tokensOf(r)
          .filter((t) => isName(t))
          .map((t) => t.image)
      )
      return classifyRetryAdjustments(inside(c, container), container.children["on"] === undefined ? undefined : reasons, replace)
    }
    default:
      return none("unknown", replace)
  }
}

/** The tokens after a node's `{`, up to the cursor. */
const inside = (c: Cursor, node: CstNode): Array<IToken> => {
  const open = tokenAt(node, "LCurly")!
  return tokensOf(node).filter((t) => t.startOffset > open.startOffset && before(c, t))
}

/** The nearest enclosing node of a kind, searching outwards from `at` in the path. */
const enclosing = (c: Cursor, at: number, test: (n: CstNode) => boolean): CstNode | undefined => {
  for (let i = at; i >= 0; i--) if (test(c.path[i]!)) return c.path[i]
  return undefined
}

const isPipeline = (n: CstNode): boolean => n.name === "declaration" && is(tokenAt(n, "keyword"), T.Pipeline)
const isStep = (n: CstNode): boolean => n.name === "stepDeclaration"
const nameOf = (n: CstNode | undefined): string | undefined => (n === undefined ? undefined : tokenAt(n, "name")?.image)
const blockOf = (n: CstNode): CstNode | undefined => nodesAt(n, "block")[0]

// --- entries: config maps, resources, backend options -----------------------------------------

const keyText = (t: IToken): string => (t.tokenType === T.StringLiteral ? t.image.slice(1, -1) : t.image)

/** Written up to the cursor: a value, or a list or map closed before it. */
const complete = (c: Cursor, entry: CstNode): boolean => {
  const value = nodesAt(entry, "value")[0]
  if (value === undefined) return false
  const inner = nodesAt(value, "list")[0] ?? nodesAt(value, "map")[0]
  if (inner !== undefined) return before(c, tokenAt(inner, inner.name === "list" ? "RBracket" : "RCurly"))
  return before(c, tokenAt(value, "literal") ?? tokenAt(value, "identifier"))
}

const classifyEntries = (c: Cursor, at: number, replace: OffsetRange): CompletionSlot => {
  const container = c.path[at]!
  const owner = c.path[at - 1]
  const entries = nodesAt(container, container.name === "map" ? "mapEntry" : "entry").filter((e) => before(c, firstToken(e)))
  const present = entries
    .flatMap((e) => [...(e.children["key"] ?? []), ...(e.children["keyPath"] ?? [])])
    .filter((t): t is IToken => isToken(t) && before(c, t))
    .map(keyText)
  const last = entries[entries.length - 1]
  const lastToken =
    last === undefined
      ? undefined
      : tokensOf(last)
          .filter((t) => before(c, t))
          .pop()
  // `a.|`: the key goes on.
  const atKey = last === undefined || complete(c, last) || is(lastToken, T.Dot)
  if (container.name === "entries") {
    if (owner?.name === "resourcesProperty") return atKey ? { kind: "resourceKey", present, replace } : none("value", replace)
    if (owner?.name === "backendProperty") {
      return atKey ? { kind: "backendOption", backend: tokenAt(owner, "kind")?.image, present, replace } : none("value", replace)
    }
    return none("unknown", replace)
  }
  const path = configPath(c, at)
  if (path === undefined) return none("unknown", replace)
  if (!atKey) return none("value", replace)
  const step = enclosing(c, at, isStep)
  return { kind: "configKey", software: step === undefined ? undefined : stepSoftware(step), path, present, replace }
}

/**
 * The keys of the maps from a step's `config { }` to the map at `at`, or undefined when that map
 * is no config map (a map in a list, or `config` outside a step).
 */
const configPath = (c: Cursor, at: number): Array<string> | undefined => {
  const keys: Array<string> = []
  for (let i = at; ; ) {
    const parent = c.path[i - 1]
    if (parent?.name === "configProperty") {
      // map ← configProperty ← property ← block ← stepDeclaration
      const step = c.path[i - 4]
      return step !== undefined && isStep(step) ? keys.reverse() : undefined
    }
    // `key = {`: a map as the value of an entry of the enclosing map.
    const entry = c.path[i - 2]
    if (parent?.name !== "value" || entry?.name !== "mapEntry") return undefined
    const key = tokenAt(entry, "keyPath") === undefined ? tokenAt(entry, "key") : (entry.children["keyPath"]!.at(-1) as IToken)
    keys.push(key === undefined ? "" : keyText(key))
    i -= 3
    if (c.path[i]?.name !== "map") return undefined
  }
}

/**
 * Inside `outputs { }`: where the rule being written stands. A rule is a kind, then maybe a
 * pattern, then maybe `min` and a count; a comma, or a count, ends it. After a kind or pattern
 * the same line continues the rule (`min`), a later line starts the next one (a kind).
 */
const classifyOutputs = (
  text: string,
  tokens: ReadonlyArray<IToken>,
  prefix: IToken | undefined,
  offset: number,
  replace: OffsetRange
): CompletionSlot => {
  let state: "kind" | "afterKind" | "afterPattern" | "count" = "kind"
  for (const t of tokens) {
    if (is(t, T.Comma)) state = "kind"
    else if (state === "count") state = "kind"
    else if (is(t, T.Min)) state = "count"
    else if (isName(t)) state = "afterKind"
    else if (state === "afterKind" && tokenMatcher(t, T.Literal)) state = "afterPattern"
  }
  if (state === "count") return none("value", replace)
  const last = tokens[tokens.length - 1]
  if (state === "kind" || last === undefined) return { kind: "outputKind", replace }
  const sameLine = !/[\r\n]/.test(text.slice(endOf(last) + 1, prefix?.startOffset ?? offset))
  return sameLine ? { kind: "outputMin", replace } : { kind: "outputKind", replace }
}

/** The reasons after `on` in the tokens after `retries`; undefined without `on`. */
const retryReasonsListed = (rest: ReadonlyArray<IToken>): Array<string> | undefined => {
  const on = rest.findIndex((t) => is(t, T.On))
  return on < 0
    ? undefined
    : rest
        .slice(on + 1)
        .filter((t) => isName(t))
        .map((t) => t.image)
}

/**
 * Inside `retries … { }`: where the adjustment being written stands. One is `on`, a reason, a
 * resource and a factor; a comma, or the factor, ends it.
 */
const classifyRetryAdjustments = (
  stmt: ReadonlyArray<IToken>,
  reasons: ReadonlyArray<string> | undefined,
  replace: OffsetRange
): CompletionSlot => {
  let state: "on" | "reason" | "resource" | "factor" = "on"
  for (const t of stmt) {
    if (is(t, T.Comma)) state = "on"
    else if (is(t, T.On)) state = "reason"
    else if (state === "reason" && isName(t)) state = "resource"
    else if (state === "resource" && isName(t)) state = "factor"
    else state = "on"
  }
  const retried = reasons === undefined ? {} : { retried: reasons }
  switch (state) {
    case "on":
      return { kind: "retryOn", adjustment: true, ...retried, replace }
    case "reason":
      return { kind: "failureReason", listed: [], ...retried, replace }
    case "resource":
      return { kind: "growableResource", replace }
    case "factor":
      return none("value", replace)
  }
}

const classifyTopLevel = (stmt: ReadonlyArray<IToken>, replace: OffsetRange): CompletionSlot => {
  const last = stmt[stmt.length - 1]
  const before = stmt[stmt.length - 2]
  if (last !== undefined && (declarationKeywords.has(last.tokenType) || is(last, T.Step))) return none("name", replace)
  if (before !== undefined && (declarationKeywords.has(before.tokenType) || is(before, T.Step)) && isName(last))
    return none("name", replace)
  return { kind: "topLevelKeyword", replace }
}

const classifyInBlock = (c: Cursor, at: number, block: BlockKind, replace: OffsetRange): CompletionSlot => {
  const { text, prefix, offset } = c
  const node = c.path[at]!
  const pipelineNode = enclosing(c, at, isPipeline)
  const pipeline = nameOf(pipelineNode)
  const step = block === "step" ? nameOf(c.path[at - 1]) : undefined
  const where = { ...(pipeline !== undefined ? { pipeline } : {}), ...(step !== undefined ? { step } : {}) }
  const keywordSlot = (): CompletionSlot => ({
    kind: "propertyKeyword",
    block,
    ...where,
    present: presentProperties(c, node, block),
    replace
  })

  const stmt = statementIn(c, [...propertiesOf(node), ...c.orphans])
  const kw = stmt[0]
  if (kw === undefined || !isStatementKeyword(kw)) return keywordSlot()
  const rest = stmt.slice(1)
  const last = rest[rest.length - 1]
  const listed = (): Array<string> => rest.filter((t) => isName(t)).map((t) => t.image)

  switch (kw.tokenType) {
    case T.Where:
      return classifyWhere(rest, replace) ?? keywordSlot()
    case T.After:
      if (last === undefined || is(last, T.Comma)) {
        const steps = pipelineNode === undefined ? [] : pipelineSteps(pipelineNode).filter((s) => s !== step)
        return { kind: "reference", target: "step", ...where, steps, listed: listed(), replace }
      }
      return keywordSlot()
    case T.GroupBy:
      if (last === undefined || is(last, T.Comma)) return { kind: "dimension", listed: listed(), replace }
      return keywordSlot()
    case T.Data:
    case T.From:
      return last === undefined ? { kind: "reference", target: "grouping", ...where, listed: [], replace } : keywordSlot()
    case T.Location:
      if (last === undefined)
        return block === "pipeline" ? { kind: "reference", target: "location", ...where, listed: [], replace } : none("name", replace)
      return keywordSlot()
    case T.Run: {
      if (last === undefined) return { kind: "reference", target: "software", ...where, listed: [], replace }
      const software = rest[0]!
      const sameLine = !/[\r\n]/.test(text.slice(endOf(software) + 1, prefix?.startOffset ?? offset))
      if (rest.length === 1 && isName(software) && sameLine) return { kind: "version", software: software.image, replace }
      if (rest.length === 2 && isName(software) && (is(last, T.RangeOperator) || is(last, T.Star)) && last.endLine === software.endLine) {
        return { kind: "version", software: software.image, replace: { start: last.startOffset, end: replace.end } }
      }
      return keywordSlot()
    }
    case T.Trigger:
      return last === undefined ? { kind: "triggerMode", replace } : is(last, T.Cron) ? none("value", replace) : keywordSlot()
    case T.VersionPolicy:
      return last === undefined ? { kind: "versionPolicy", replace } : keywordSlot()
    case T.Container:
      return last === undefined ? { kind: "containerRuntime", replace } : keywordSlot()
    case T.Backend:
      return last === undefined ? { kind: "backendKind", replace } : keywordSlot()
    case T.Enabled:
      return last === undefined ? { kind: "boolean", replace } : keywordSlot()
    case T.Step:
    case T.Software:
    case T.Grouping:
    case T.Pipeline:
      return rest.length <= 1 ? none("name", replace) : keywordSlot()
    case T.Final:
    case T.FanOut:
      return keywordSlot()
    case T.Retries: {
      // `retries |`: the count. `retries 3 |` on its line: `on`. `retries 3 on |`, `on A, |`: a reason.
      if (last === undefined) return none("value", replace)
      const sameLine = !/[\r\n]/.test(text.slice(endOf(last) + 1, prefix?.startOffset ?? offset))
      const listed = retryReasonsListed(rest)
      if (listed === undefined) return rest.length === 1 && sameLine ? { kind: "retryOn", adjustment: false, replace } : keywordSlot()
      if (is(last, T.On) || is(last, T.Comma)) return { kind: "failureReason", listed, replace }
      return sameLine ? none("value", replace) : keywordSlot()
    }
    default:
      // A value property still waiting for its value, or a list after a comma.
      if (last === undefined || is(last, T.Comma)) return none("value", replace)
      return keywordSlot()
  }
}

// Filter expressions: `where A.b == "x" and (C.d in ("y", |`.
const classifyWhere = (rest: ReadonlyArray<IToken>, replace: OffsetRange): CompletionSlot | undefined => {
  const last = rest[rest.length - 1]
  if (last === undefined) return { kind: "table", replace }
  if (is(last, T.And) || is(last, T.Or) || is(last, T.Not) || is(last, T.AndSymbol) || is(last, T.OrSymbol))
    return { kind: "table", replace }
  if (is(last, T.LParen)) {
    if (is(rest[rest.length - 2], T.In)) return enumSlot(rest, rest.length - 2, replace)
    return { kind: "table", replace }
  }
  if (is(last, T.Dot)) {
    const path = columnPathEndingAt(rest, rest.length - 1)
    if (path === undefined) return none("unknown", replace)
    if (path.segments.length === 0) return { kind: "column", table: path.table, replace }
    return { kind: "jsonPath", table: path.table, column: path.segments[0]!, path: path.segments.slice(1), replace }
  }
  if (is(last, T.EqEq) || is(last, T.NotEq) || is(last, T.Equals)) {
    const path = columnPathEndingAt(rest, rest.length - 1)
    if (path === undefined || path.segments.length !== 1) return none("value", replace)
    return { kind: "enumValue", table: path.table, column: path.segments[0]!, replace }
  }
  if (is(last, T.ComparisonOperator) || is(last, T.Like) || is(last, T.In)) return none("value", replace)
  if (is(last, T.Comma)) {
    // Inside `in ( ... , |`: find the unmatched `(`.
    let depth = 0
    for (let j = rest.length - 1; j >= 0; j--) {
      const t = rest[j]!
      if (is(t, T.RParen)) depth++
      else if (is(t, T.LParen)) {
        if (depth === 0) return is(rest[j - 1], T.In) ? enumSlot(rest, j - 1, replace) : none("value", replace)
        depth--
      }
    }
    return none("value", replace)
  }
  return undefined
}

const enumSlot = (rest: ReadonlyArray<IToken>, inIndex: number, replace: OffsetRange): CompletionSlot => {
  const end = is(rest[inIndex - 1], T.Not) ? inIndex - 1 : inIndex
  const path = columnPathEndingAt(rest, end)
  if (path === undefined || path.segments.length !== 1) return none("value", replace)
  return { kind: "enumValue", table: path.table, column: path.segments[0]!, replace }
}

/**
 * Reads `Table.seg.seg` backwards from just before `end`; with a trailing dot (`end` at a Dot)
 * the path is the part before it.
 */
const columnPathEndingAt = (rest: ReadonlyArray<IToken>, end: number): { table: string; segments: Array<string> } | undefined => {
  const names: Array<string> = []
  let j = end - 1
  for (;;) {
    const t = rest[j]
    if (t === undefined || !(isName(t) || t.tokenType === T.StringLiteral)) return undefined
    names.unshift(t.tokenType === T.StringLiteral ? t.image.slice(1, -1) : t.image)
    if (is(rest[j - 1], T.Dot)) j -= 2
    else break
  }
  const [table, ...segments] = names
  return table === undefined ? undefined : { table, segments }
}

// --- looking past the cursor ------------------------------------------------------------------

/** The steps declared in a pipeline (at any depth: a step left open holds the next ones). */
const pipelineSteps = (pipeline: CstNode): Array<string> => {
  const out: Array<string> = []
  const visit = (block: CstNode | undefined): void => {
    if (block === undefined) return
    for (const p of propertiesOf(block)) {
      if (!isStep(p)) continue
      const body = blockOf(p)
      const name = nameOf(p)
      if (name !== undefined && body !== undefined && tokenAt(body, "LCurly") !== undefined) out.push(name)
      visit(body)
    }
  }
  visit(blockOf(pipeline))
  return [...new Set(out)]
}

/** The software of `run X` in a step, before or after the cursor (a step inside it ends it). */
const stepSoftware = (step: CstNode): string | undefined => {
  const block = blockOf(step)
  for (const p of block === undefined ? [] : propertiesOf(block)) {
    if (isStep(p)) return undefined
    if (p.name === "runProperty") {
      const software = tokenAt(p, "software")
      if (software !== undefined && isName(software)) return software.image
    }
  }
  return undefined
}

/** Property keywords that start a line of the block, before or after the cursor. */
const presentProperties = (c: Cursor, block: CstNode, kind: BlockKind): Array<string> => {
  const out = new Set<string>()
  const tokens = c.parsed.tokens
  for (const p of [...propertiesOf(block), ...c.orphans]) {
    // A step inside a step: what follows it belongs to it.
    if (kind === "step" && isStep(p)) break
    const t = firstToken(p)
    if (t === undefined || t.startOffset === c.prefix?.startOffset || !isStatementKeyword(t)) continue
    const previous = tokens[firstAtOrAfter(tokens, t.startOffset) - 1]
    const startsLine = previous === undefined || previous.tokenType === T.LCurly || previous.endLine !== t.startLine
    const word = T.keywordText(t.tokenType)
    if (startsLine && word !== undefined) out.add(word)
  }
  return [...out]
}
