import { tokenMatcher, type IToken, type TokenType } from "chevrotain"
import * as T from "../compiler/lexer.ts"
import { declarationKeywords as declarationTokens, propertyKeywords } from "../compiler/parser.ts"
import type { BlockKind } from "../compiler/properties.ts"

/*
 * Where is the cursor? A pure classification of a cursor offset into a completion slot, from the
 * tokens before the cursor. It must work in files that do not parse (that is what a file looks
 * like while it is being typed), so it does not trust the parse tree: it follows brace nesting
 * (each `{` is labelled by the words that opened it: `pipeline p {`, `step s {`, `config {`,
 * `resources {`, `outputs {`, `retries … {`, `backend slurm {`), splits the innermost block into statements at
 * property keywords, and reads the last few tokens of the current statement. The same re-sync
 * rules as the parser apply: `pipeline p {` always starts a new top-level block and `step s {`
 * inside a step closes the step that lacks its `}`.
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

const declarationKeywords: ReadonlySet<TokenType> = new Set([T.Location, T.Software, T.Grouping, T.Pipeline])
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
export const isStatementKeyword = (t: IToken | undefined): boolean => t !== undefined && statementKeywords.has(t.tokenType)

/** After these a keyword is a value or a path segment, never the start of the next property. */
export const continuesStatement = (t: IToken | undefined): boolean =>
  t !== undefined &&
  (is(t, T.Dot) || is(t, T.Comma) || is(t, T.ComparisonOperator) || is(t, T.Equals) || is(t, T.LParen) || is(t, T.In))

// --- the scan ---------------------------------------------------------------------------------

interface Frame {
  readonly kind: "top" | "block" | "config" | "map" | "resources" | "outputs" | "retries" | "backend" | "other"
  readonly block?: BlockKind
  readonly name?: string
  /** Index of the `{` in the token array; -1 for the top level. */
  readonly open: number
  readonly path: ReadonlyArray<string>
  readonly backend?: string
  /** `retries … {`: the reasons its `on` names, when it names any. */
  readonly retried?: ReadonlyArray<string>
  stmt: Array<IToken>
  // Entries and maps: alternate keys and values.
  items: number
  brackets: number
  lastKey: string | undefined
  present: Array<string>
}

const frame = (kind: Frame["kind"], open: number, extra: Partial<Pick<Frame, "block" | "name" | "path" | "backend" | "retried">> = {}): Frame => ({
  kind,
  open,
  path: [],
  ...extra,
  stmt: [],
  items: 0,
  brackets: 0,
  lastKey: undefined,
  present: []
})

const none = (reason: "string" | "comment" | "name" | "value" | "unknown", replace: OffsetRange): CompletionSlot => ({ kind: "none", reason, replace })

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

/** Classifies the cursor at `offset` (UTF-16) in `text`. Pure; never throws on any input. */
// Completion requests come in bursts on an unchanged document (every keystroke in a word):
// keep the tokens of the last text instead of lexing it again each time.
let lastLexed: { text: string; tokens: ReadonlyArray<IToken>; comments: ReadonlyArray<IToken> } | undefined

const lex = (text: string): { tokens: ReadonlyArray<IToken>; comments: ReadonlyArray<IToken> } => {
  if (lastLexed?.text !== text) {
    const lexed = T.ccatLexer.tokenize(text)
    lastLexed = { text, tokens: lexed.tokens, comments: lexed.groups["comments"] ?? [] }
  }
  return lastLexed
}

export const completionContext = (text: string, offset: number): CompletionSlot => {
  const clamped = Math.max(0, Math.min(offset, text.length))
  const { tokens, comments } = lex(text)
  return classify(text, tokens, comments, clamped)
}

/** The same, on tokens already lexed from `text` (a server may cache them per document version). */
export const classify = (text: string, tokens: ReadonlyArray<IToken>, comments: ReadonlyArray<IToken>, offset: number): CompletionSlot => {
  const empty = { start: offset, end: offset }
  if (insideComment(comments, offset)) return none("comment", empty)

  let end = firstAtOrAfter(tokens, offset)
  let prefix: IToken | undefined
  const atCursor = tokens[end - 1]
  if (atCursor !== undefined && offset <= endOf(atCursor) + 1) {
    if (atCursor.tokenType === T.StringLiteral && offset <= endOf(atCursor)) return none("string", empty)
    if (atCursor.tokenType === T.UnterminatedString) return none("string", empty)
    if (isWord(atCursor) || numberTokens.has(atCursor.tokenType)) {
      prefix = atCursor
      end -= 1
    }
  }
  const replace = prefix === undefined ? empty : { start: prefix.startOffset, end: offset }

  // Walk the tokens before the cursor, keeping a stack of open braces.
  const stack: Array<Frame> = [frame("top", -1)]
  const top = (): Frame => stack[stack.length - 1]!
  for (let j = 0; j < end; j++) {
    const t = tokens[j]!
    const current = top()
    if (t.tokenType === T.LCurly) {
      openBrace(tokens, j, stack)
      continue
    }
    if (t.tokenType === T.RCurly) {
      if (stack.length > 1) {
        const closed = stack.pop()!
        const parent = top()
        if (closed.kind === "map" && parent.brackets === 0) parent.items++
        parent.stmt = []
      }
      continue
    }
    switch (current.kind) {
      case "top":
      case "block": {
        const previous = current.stmt[current.stmt.length - 1]
        if (isStatementKeyword(t) && !continuesStatement(previous)) current.stmt = [t]
        else current.stmt.push(t)
        break
      }
      case "config":
      case "map":
      case "resources":
      case "backend":
        entryToken(current, t)
        break
      case "outputs":
      case "retries":
        current.stmt.push(t)
        break
      case "other":
        break
    }
  }

  const f = top()
  switch (f.kind) {
    case "top":
      return classifyTopLevel(f.stmt, replace)
    case "other":
      return none("unknown", replace)
    case "resources":
      return atKey(f) ? { kind: "resourceKey", present: f.present, replace } : none("value", replace)
    case "outputs":
      return classifyOutputs(text, f.stmt, prefix, offset, replace)
    case "retries":
      return classifyRetryAdjustments(f, replace)
    case "backend":
      return atKey(f) ? { kind: "backendOption", backend: f.backend, present: f.present, replace } : none("value", replace)
    case "config":
    case "map": {
      if (!atKey(f)) return none("value", replace)
      const stepFrame = [...stack].reverse().find((s) => s.kind === "block" && s.block === "step")
      const software = stepFrame === undefined ? undefined : stepSoftware(tokens, stepFrame.open)
      return { kind: "configKey", software, path: f.path, present: f.present, replace }
    }
    case "block":
      return classifyInBlock(text, f, stack, tokens, prefix, offset, replace)
  }
}

const atKey = (f: Frame): boolean => f.brackets === 0 && f.items % 2 === 0

const entryToken = (f: Frame, t: IToken): void => {
  if (t.tokenType === T.LBracket) {
    f.brackets++
    return
  }
  if (t.tokenType === T.RBracket) {
    if (f.brackets > 0) {
      f.brackets--
      if (f.brackets === 0) f.items++
    }
    return
  }
  if (f.brackets > 0 || t.tokenType === T.Comma || t.tokenType === T.Equals) return
  if (t.tokenType === T.Dot) {
    // `a.b = 1`: the segments form one key.
    if (f.items % 2 === 1) f.items--
    return
  }
  if (f.items % 2 === 0) {
    const key = t.tokenType === T.StringLiteral ? t.image.slice(1, -1) : t.image
    f.lastKey = key
    f.present.push(key)
  }
  f.items++
}

const openBrace = (tokens: ReadonlyArray<IToken>, j: number, stack: Array<Frame>): void => {
  const p1 = tokens[j - 1]
  const p2 = tokens[j - 2]
  const current = stack[stack.length - 1]!
  // `pipeline p {` starts a new top-level block, whatever was left open before it.
  if (p2 !== undefined && declarationKeywords.has(p2.tokenType) && isName(p1)) {
    stack.length = 1
    stack[0]!.stmt = []
    stack.push(frame("block", j, { block: blockOfKeyword.get(p2.tokenType)!, name: p1!.image }))
    return
  }
  if (is(p2, T.Step) && isName(p1) && (current.kind === "top" || current.kind === "block")) {
    // A step inside a step: the outer one lacks its `}`.
    if (current.kind === "block" && current.block === "step") stack.pop()
    stack[stack.length - 1]!.stmt = []
    stack.push(frame("block", j, { block: "step", name: p1!.image }))
    return
  }
  if (current.kind === "block" && current.block === "step" && is(p1, T.Config)) {
    stack.push(frame("config", j))
    return
  }
  if (current.kind === "block" && is(p1, T.Resources)) {
    stack.push(frame("resources", j))
    return
  }
  if (current.kind === "block" && is(p1, T.Outputs)) {
    stack.push(frame("outputs", j))
    return
  }
  if (current.kind === "block" && is(current.stmt[0], T.Retries)) {
    const reasons = retryReasonsListed(current.stmt.slice(1))
    stack.push(frame("retries", j, reasons === undefined ? {} : { retried: reasons }))
    return
  }
  if (current.kind === "block" && is(p1, T.Backend)) {
    stack.push(frame("backend", j))
    return
  }
  if (current.kind === "block" && is(p2, T.Backend) && isName(p1)) {
    stack.push(frame("backend", j, { backend: p1!.image }))
    return
  }
  if ((current.kind === "config" || current.kind === "map") && current.brackets === 0 && current.items % 2 === 1) {
    stack.push(frame("map", j, { path: [...current.path, current.lastKey ?? ""] }))
    return
  }
  if (current.kind === "config" || current.kind === "map" || current.kind === "resources" || current.kind === "backend") {
    // A brace at a key position or inside a list: a value of its own.
    stack.push(frame("other", j))
    return
  }
  stack.push(frame("other", j))
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
  return on < 0 ? undefined : rest.slice(on + 1).filter((t) => isName(t)).map((t) => t.image)
}

/**
 * Inside `retries … { }`: where the adjustment being written stands. One is `on`, a reason, a
 * resource and a factor; a comma, or the factor, ends it.
 */
const classifyRetryAdjustments = (f: Frame, replace: OffsetRange): CompletionSlot => {
  let state: "on" | "reason" | "resource" | "factor" = "on"
  for (const t of f.stmt) {
    if (is(t, T.Comma)) state = "on"
    else if (is(t, T.On)) state = "reason"
    else if (state === "reason" && isName(t)) state = "resource"
    else if (state === "resource" && isName(t)) state = "factor"
    else state = "on"
  }
  const retried = f.retried === undefined ? {} : { retried: f.retried }
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
  if (before !== undefined && (declarationKeywords.has(before.tokenType) || is(before, T.Step)) && isName(last)) return none("name", replace)
  return { kind: "topLevelKeyword", replace }
}

const classifyInBlock = (
  text: string,
  f: Frame,
  stack: ReadonlyArray<Frame>,
  tokens: ReadonlyArray<IToken>,
  prefix: IToken | undefined,
  offset: number,
  replace: OffsetRange
): CompletionSlot => {
  const block = f.block!
  const pipelineFrame = [...stack].reverse().find((s) => s.kind === "block" && s.block === "pipeline")
  const pipeline = pipelineFrame?.name
  const step = block === "step" ? f.name : undefined
  const where = { ...(pipeline !== undefined ? { pipeline } : {}), ...(step !== undefined ? { step } : {}) }
  const keywordSlot = (): CompletionSlot => ({
    kind: "propertyKeyword",
    block,
    ...where,
    present: presentProperties(tokens, f, block, prefix),
    replace
  })

  const stmt = f.stmt
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
        const steps = pipelineFrame === undefined ? [] : pipelineSteps(tokens, pipelineFrame.open).filter((s) => s !== step)
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
      if (last === undefined) return block === "pipeline" ? { kind: "reference", target: "location", ...where, listed: [], replace } : none("name", replace)
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
  if (is(last, T.And) || is(last, T.Or) || is(last, T.Not) || is(last, T.AndSymbol) || is(last, T.OrSymbol)) return { kind: "table", replace }
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

const startsTopLevelBlock = (tokens: ReadonlyArray<IToken>, j: number): boolean =>
  declarationKeywords.has(tokens[j]!.tokenType) && isName(tokens[j + 1]) && is(tokens[j + 2], T.LCurly)

/** The steps declared in the pipeline whose `{` is at `open`, tolerating unclosed steps. */
export const pipelineSteps = (tokens: ReadonlyArray<IToken>, open: number): Array<string> => {
  const out: Array<string> = []
  let depth = 0
  for (let j = open + 1; j < tokens.length; j++) {
    const t = tokens[j]!
    if (t.tokenType === T.LCurly) depth++
    else if (t.tokenType === T.RCurly) {
      if (depth === 0) break
      depth--
    } else if (startsTopLevelBlock(tokens, j)) break
    else if (t.tokenType === T.Step && isName(tokens[j + 1]) && is(tokens[j + 2], T.LCurly)) out.push(tokens[j + 1]!.image)
  }
  return [...new Set(out)]
}

/** The software of `run X` in the step whose `{` is at `open`, before or after the cursor. */
export const stepSoftware = (tokens: ReadonlyArray<IToken>, open: number): string | undefined => {
  let depth = 0
  for (let j = open + 1; j < tokens.length; j++) {
    const t = tokens[j]!
    if (t.tokenType === T.LCurly) depth++
    else if (t.tokenType === T.RCurly) {
      if (depth === 0) return undefined
      depth--
    } else if (depth === 0 && (startsTopLevelBlock(tokens, j) || t.tokenType === T.Step)) return undefined
    else if (depth === 0 && t.tokenType === T.Run && isName(tokens[j + 1])) return tokens[j + 1]!.image
  }
  return undefined
}

/** Property keywords written at the top of the block `f`, before or after the cursor. */
const presentProperties = (tokens: ReadonlyArray<IToken>, f: Frame, block: BlockKind, prefix: IToken | undefined): Array<string> => {
  const out = new Set<string>()
  let depth = 0
  for (let j = f.open + 1; j < tokens.length; j++) {
    const t = tokens[j]!
    if (t.tokenType === T.LCurly) depth++
    else if (t.tokenType === T.RCurly) {
      if (depth === 0) break
      depth--
    } else if (depth === 0 && startsTopLevelBlock(tokens, j)) break
    else if (depth === 0 && block === "step" && t.tokenType === T.Step) break
    else if (depth === 0 && t !== prefix && isStatementKeyword(t) && !continuesStatement(tokens[j - 1])) {
      const previous = tokens[j - 1]
      const startsLine = previous === undefined || previous.tokenType === T.LCurly || previous.endLine !== t.startLine
      const word = T.keywordText(t.tokenType)
      if (startsLine && word !== undefined) out.add(word)
    }
  }
  return [...out]
}
