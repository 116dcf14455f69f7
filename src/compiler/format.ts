import type { CstNode, IToken } from "chevrotain"
import type * as C from "./cst.ts"
import { LayoutWriter } from "./layout-writer.ts"
import { maxFileLength, maxNesting } from "./limits.ts"
import { parseText } from "./parser.ts"

/*
 * `ccat fmt`: one canonical layout. Blocks open on the declaration's line and hold one property
 * per line, indented by two spaces; small maps (`config`, `resources`, backend options) stay on
 * one line when they fit in 100 columns and hold no comment; a `where` longer than that breaks
 * before its top-level `and`/`or`. Comments stay where they were, relative to the tokens around
 * them; up to one blank line between entries is kept; declarations are separated by exactly one.
 * An `outputs` block stays on one line only with a single rule: rules side by side read as one;
 * so do the adjustments of `retries … { }`, and the reasons of `on A, B` are one comma list.
 * Only files without syntax errors are formatted (like gofmt).
 */

const maxWidth = 100

export type FormatResult = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly reason: string }

export const formatText = (text: string): FormatResult => {
  if (text.length > maxFileLength)
    return { ok: false, reason: `the file is larger than the compiler reads (E103: at most ${maxFileLength} characters)` }
  const parsed = parseText(text)
  if (parsed.parseErrors.some((e) => e.nesting !== undefined))
    return { ok: false, reason: `the file nests more than ${maxNesting} levels deep (E100)` }
  if (parsed.lexErrors.length > 0 || parsed.parseErrors.length > 0) return { ok: false, reason: "the file has syntax errors" }
  const cst = parsed.cst as C.WorkspaceCstNode
  if (containsRecovery(cst)) return { ok: false, reason: "the file has syntax errors" }
  if (parsed.comments.some((c) => c.tokenType.name === "UnterminatedBlockComment"))
    return { ok: false, reason: "the file has an unterminated comment" }
  if (parsed.comments.some((c) => c.tokenType.name === "HashComment"))
    return { ok: false, reason: "the file has syntax errors (a `#` comment)" }
  if (parsed.tokens.some((t) => t.tokenType.name === "UnterminatedString"))
    return { ok: false, reason: "the file has an unterminated string" }
  const printer = new Printer(text, parsed.comments, true)
  printer.workspace(cst)
  return { ok: true, text: printer.finish() }
}

/** Whether `sep` is the comma right after entry `n`, before the next entry or the closing brace. */
const isSeparatorOf = (sep: IToken, n: CstNode, items: ReadonlyArray<CstNode>, close: IToken | undefined): boolean => {
  const next = items[items.indexOf(n) + 1]
  const limit = next?.location?.startOffset ?? close?.startOffset ?? Number.POSITIVE_INFINITY
  return sep.startOffset > (n.location?.endOffset ?? 0) && sep.startOffset < limit
}

const isToken = (x: CstNode | IToken): x is IToken => (x as IToken).tokenType !== undefined

// Rules that only match text the checker reports as a syntax error; such text has no layout.
const recoveryRules = new Set(["strayTopLevel", "strayInBlock", "skippedBlock", "unknownDeclaration"])

const containsRecovery = (node: CstNode): boolean => {
  if (recoveryRules.has(node.name) || node.recoveredNode === true) return true
  // A misspelled property is the checker's business; its tokens are printed as they are.
  if (node.name === "unknownProperty") return false
  const ch = node.children as Record<string, Array<CstNode | IToken> | undefined>
  // `cpus = 4`, `state = "x"`, `&&`, `||`: accepted by the parser only to report them.
  if (node.name === "entry" && ch["misplacedEquals"] !== undefined) return true
  // `retries on OOM`: the count is missing (E005), though the parser took the rest.
  if (node.name === "retriesProperty" && ch["count"] === undefined) return true
  if (node.name === "comparison" && (ch["operator"]?.[0] as IToken | undefined)?.tokenType.name === "Equals") return true
  if (
    (node.name === "orExpression" || node.name === "andExpression") &&
    ch["operators"]?.some((t) => isToken(t) && t.tokenType.name.endsWith("Symbol")) === true
  ) {
    return true
  }
  for (const children of Object.values(ch)) {
    for (const c of children ?? []) if (!isToken(c) && containsRecovery(c)) return true
  }
  return false
}

const tokensOf = (node: CstNode): Array<IToken> => {
  const out: Array<IToken> = []
  const walk = (n: CstNode): void => {
    for (const children of Object.values(n.children as Record<string, Array<CstNode | IToken>>)) {
      for (const c of children) {
        if (isToken(c)) out.push(c)
        else walk(c)
      }
    }
  }
  walk(node)
  return out.sort((a, b) => a.startOffset - b.startOffset)
}

const byOffset = <T extends CstNode | IToken>(xs: ReadonlyArray<T | undefined>): Array<T> =>
  xs.filter((x): x is T => x !== undefined).sort((a, b) => offsetOf(a) - offsetOf(b))
const offsetOf = (x: CstNode | IToken): number => (isToken(x) ? x.startOffset : (x.location?.startOffset ?? 0))

/**
 * Flat widths already measured. A measurement renders the node's subtree on a fresh printer, so
 * it depends on the node alone; without this, each nested map measured its inner maps again,
 * twice per level: 22 nested maps took seconds.
 */
const flatWidths = new WeakMap<CstNode, number>()

class Printer extends LayoutWriter {
  private flatWidth(node: CstNode, render: (p: Printer) => void): number {
    const known = flatWidths.get(node)
    if (known !== undefined) return known
    const scratch = new Printer(this.source, [], false)
    render(scratch)
    flatWidths.set(node, scratch.out.length)
    return scratch.out.length
  }

  // ---- structure ----

  workspace(node: C.WorkspaceCstNode): void {
    const items = byOffset<CstNode>([...(node.children.declaration ?? []), ...(node.children.stepDeclaration ?? [])])
    items.forEach((item, i) => {
      if (i > 0) this.blankLine()
      if (item.name === "declaration") this.declaration(item as C.DeclarationCstNode)
      else this.stepDeclaration(item as C.StepDeclarationCstNode)
    })
  }

  private declaration(node: C.DeclarationCstNode): void {
    this.newline()
    this.token(node.children.keyword?.[0])
    this.token(node.children.name?.[0])
    this.block(node.children.block?.[0])
  }

  private stepDeclaration(node: C.StepDeclarationCstNode): void {
    this.newline()
    this.token(node.children.keyword?.[0])
    this.token(node.children.name?.[0])
    this.block(node.children.block?.[0])
  }

  private block(node: C.BlockCstNode | undefined): void {
    if (node === undefined) return
    this.openBrace(node.children.LCurly?.[0])
    this.depth++
    for (const p of node.children.property ?? []) {
      this.newline()
      this.property(p)
    }
    const close = node.children.RCurly?.[0]
    // Comments before the closing brace belong inside the block.
    if (close !== undefined) this.flushComments(close.startOffset)
    this.depth--
    this.newline()
    this.blankRequested = false
    this.token(close)
  }

  private property(node: C.PropertyCstNode): void {
    const ch = node.children
    if (ch.valueProperty) return this.valueProperty(ch.valueProperty[0]!)
    if (ch.runProperty) {
      const r = ch.runProperty[0]!.children
      this.token(r.keyword?.[0])
      this.token(r.software?.[0])
      if (r.versionRange) {
        const v = r.versionRange[0]!.children
        this.token(v.operator?.[0])
        if (v.operator !== undefined) this.glue()
        this.token(v.version?.[0], v.operator !== undefined)
      }
      return
    }
    if (ch.triggerProperty) {
      const t = ch.triggerProperty[0]!.children
      this.token(t.keyword?.[0])
      this.token(t.mode?.[0])
      if (t.schedule) this.value(t.schedule[0]!)
      if (t.Kw_timezone) this.token(t.Kw_timezone[0])
      if (t.timezone) this.value(t.timezone[0]!)
      return
    }
    if (ch.whereProperty) return this.whereProperty(ch.whereProperty[0]!)
    if (ch.configProperty) {
      const c = ch.configProperty[0]!.children
      this.token(c.keyword?.[0])
      if (c.map) this.map(c.map[0]!)
      return
    }
    if (ch.resourcesProperty) {
      const r = ch.resourcesProperty[0]!.children
      this.token(r.keyword?.[0])
      if (r.entries) this.entries(r.entries[0]!)
      return
    }
    if (ch.outputsProperty) {
      const o = ch.outputsProperty[0]!
      this.token(o.children.keyword?.[0])
      this.braces(
        o,
        o.children.LCurly?.[0],
        o.children.RCurly?.[0],
        o.children.outputRule ?? [],
        o.children.Comma ?? [],
        (p, n) => p.outputRule(n as C.OutputRuleCstNode),
        1
      )
      return
    }
    if (ch.retriesProperty) return this.retriesProperty(ch.retriesProperty[0]!)
    if (ch.backendProperty) {
      const b = ch.backendProperty[0]!.children
      this.token(b.keyword?.[0])
      this.token(b.kind?.[0])
      if (b.entries) this.entries(b.entries[0]!)
      return
    }
    if (ch.flagProperty) {
      const f = ch.flagProperty[0]!.children
      this.token(f.keyword?.[0])
      // `final true` is written `final`.
      if (f.flag?.[0]?.image === "false") this.token(f.flag[0])
      else if (f.flag?.[0] !== undefined) this.lastEnd = (f.flag[0].endOffset ?? f.flag[0].startOffset) + 1
      return
    }
    if (ch.stepDeclaration) return this.stepDeclaration(ch.stepDeclaration[0]!)
    if (ch.unknownProperty) return this.verbatim(ch.unknownProperty[0]!)
  }

  private verbatim(node: CstNode): void {
    for (const t of tokensOf(node)) {
      const glued = t.tokenType.name === "Dot" || t.tokenType.name === "Comma" || this.out.endsWith(".")
      this.token(t, glued)
    }
  }

  private valueProperty(node: C.ValuePropertyCstNode): void {
    const ch = node.children
    this.token(ch.keyword?.[0])
    const values = ch.value ?? []
    values.forEach((v, i) => {
      if (i > 0) this.token(ch.Comma?.[i - 1], true)
      this.value(v)
    })
  }

  value(node: C.ValueCstNode): void {
    const ch = node.children
    if (ch.list) return this.list(ch.list[0]!)
    if (ch.map) return this.map(ch.map[0]!)
    this.token(ch.literal?.[0] ?? ch.identifier?.[0])
  }

  private list(node: C.ListCstNode): void {
    const ch = node.children
    const items = ch.items ?? []
    const close = ch.RBracket?.[0]
    // A comment inside a list puts every item on its own line, so the comment keeps its item.
    const broken = items.length > 0 && this.hasCommentsIn(node)
    this.token(ch.LBracket?.[0])
    if (broken) this.depth++
    items.forEach((v, i) => {
      if (i > 0) this.token(ch.Comma?.[i - 1], true)
      if (broken) this.newline()
      else if (i === 0) this.glue()
      this.value(v)
    })
    // A trailing comma is dropped; comments before `]` stay inside the list.
    if (close !== undefined) this.flushComments(close.startOffset)
    if (broken) {
      this.depth--
      this.newline()
      this.blankRequested = false
    }
    this.token(close, !broken)
  }

  /** `{ ... }` of a map or of entries: inline when short and comment-free, else one entry per line. */
  private braces(
    node: CstNode,
    open: IToken | undefined,
    close: IToken | undefined,
    items: ReadonlyArray<CstNode>,
    separators: ReadonlyArray<IToken>,
    printItem: (p: Printer, n: CstNode) => void,
    inlineAtMost = Number.POSITIVE_INFINITY
  ): void {
    // Optional commas between entries are dropped; skipping them keeps comments after them in place.
    const item = (p: Printer, n: CstNode): void => {
      printItem(p, n)
      const end = n.location?.endOffset ?? 0
      for (const sep of separators)
        if (sep.startOffset > end && p.lastEnd <= sep.startOffset && isSeparatorOf(sep, n, items, close)) p.skip(sep)
    }
    if (items.length === 0) {
      this.token(open)
      if (close !== undefined) this.flushComments(close.startOffset)
      this.token(close, true)
      return
    }
    const flat = this.flatWidth(node, (p) => p.inlineBraces(items, item))
    const inline =
      items.length <= inlineAtMost &&
      !this.hasCommentsIn(node) &&
      this.currentColumn() + 1 + flat <= maxWidth &&
      items.every((i) => !this.containsMultiline(i))
    if (inline) {
      this.token(open)
      items.forEach((n, i) => {
        if (i > 0) this.out += " "
        item(this, n)
      })
      this.token(close)
      return
    }
    this.token(open)
    this.depth++
    for (const n of items) {
      this.newline()
      item(this, n)
    }
    if (close !== undefined) this.flushComments(close.startOffset)
    this.depth--
    this.newline()
    this.blankRequested = false
    this.token(close)
  }

  private inlineBraces(items: ReadonlyArray<CstNode>, item: (p: Printer, n: CstNode) => void): void {
    this.out += "{"
    this.pendingSpace = true
    items.forEach((n, i) => {
      if (i > 0) this.out += " "
      item(this, n)
    })
    this.out += " }"
  }

  // A nested map that cannot be inline forces its parent to break too.
  private containsMultiline(node: CstNode): boolean {
    return this.hasCommentsIn(node)
  }

  private map(node: C.MapCstNode): void {
    const ch = node.children
    this.braces(node, ch.LCurly?.[0], ch.RCurly?.[0], ch.mapEntry ?? [], ch.Comma ?? [], (p, n) => p.mapEntry(n as C.MapEntryCstNode))
  }

  private mapEntry(node: C.MapEntryCstNode): void {
    const ch = node.children
    this.token(ch.key?.[0])
    ;(ch.keyPath ?? []).forEach((k, i) => {
      this.token(ch.Dot?.[i], true)
      this.token(k, true)
    })
    this.token(ch.Equals?.[0])
    const v = ch.value?.[0]
    if (v !== undefined) this.value(v)
  }

  private entries(node: C.EntriesCstNode): void {
    const ch = node.children
    this.braces(node, ch.LCurly?.[0], ch.RCurly?.[0], ch.entry ?? [], ch.Comma ?? [], (p, n) => {
      const e = (n as C.EntryCstNode).children
      p.token(e.key?.[0])
      const v = e.value?.[0]
      if (v !== undefined) p.value(v)
    })
  }

  private outputRule(node: C.OutputRuleCstNode): void {
    const ch = node.children
    this.token(ch.kind?.[0])
    this.token(ch.pattern?.[0])
    this.token(ch.min?.[0])
    const count = ch.count?.[0]
    if (count !== undefined) this.value(count)
  }

  private retriesProperty(node: C.RetriesPropertyCstNode): void {
    const ch = node.children
    this.token(ch.keyword?.[0])
    const count = ch.count?.[0]
    if (count !== undefined) this.value(count)
    if (ch.on !== undefined) {
      this.token(ch.on[0])
      ;(ch.reasons ?? []).forEach((r, i) => {
        if (i > 0) this.token(ch.Comma?.[i - 1], true)
        this.token(r.children.name?.[0])
      })
    }
    if (ch.LCurly === undefined) return
    this.braces(
      node,
      ch.LCurly[0],
      ch.RCurly?.[0],
      ch.adjustments ?? [],
      ch.separators ?? [],
      (p, n) => p.retryAdjustment(n as C.RetryAdjustmentCstNode),
      1
    )
  }

  private retryAdjustment(node: C.RetryAdjustmentCstNode): void {
    const ch = node.children
    this.token(ch.on?.[0])
    this.token(ch.reason?.[0]?.children.name?.[0])
    this.token(ch.resource?.[0])
    const factor = ch.factor?.[0]
    if (factor !== undefined) this.value(factor)
  }

  private whereProperty(node: C.WherePropertyCstNode): void {
    const ch = node.children
    this.token(ch.keyword?.[0])
    const expr = ch.orExpression?.[0]
    if (expr === undefined) return
    const flat = this.flatWidth(expr, (p) => p.orExpression(expr, false))
    const breakLines = this.currentColumn() + 1 + flat > maxWidth
    // Continuation lines, and lines a comment forces, sit one level deeper than `where`.
    this.depth++
    this.orExpression(expr, breakLines)
    this.depth--
  }

  private orExpression(node: C.OrExpressionCstNode, breakLines: boolean): void {
    const operands = node.children.operands ?? []
    const ors = node.children.operators ?? []
    // Break before the top-level operators only: `or` when there are several, else the `and`s.
    const breakAnds = breakLines && operands.length === 1
    operands.forEach((a, i) => {
      if (i > 0) {
        if (breakLines) this.continuation()
        this.token(ors[i - 1])
      }
      this.andExpression(a, breakAnds)
    })
  }

  private continuation(): void {
    this.newline()
  }

  private andExpression(node: C.AndExpressionCstNode, breakLines: boolean): void {
    const operands = node.children.operands ?? []
    const ands = node.children.operators ?? []
    operands.forEach((n, i) => {
      if (i > 0) {
        if (breakLines) this.continuation()
        this.token(ands[i - 1])
      }
      this.notExpression(n)
    })
  }

  private notExpression(node: C.NotExpressionCstNode): void {
    const ch = node.children
    if (ch.notExpression) {
      this.token(ch.Kw_not?.[0])
      this.notExpression(ch.notExpression[0]!)
      return
    }
    const atom = ch.atomExpression?.[0]?.children
    if (atom === undefined) return
    if (atom.orExpression) {
      this.token(atom.LParen?.[0])
      this.glue()
      this.depth++
      this.orExpression(atom.orExpression[0]!, false)
      this.depth--
      this.token(atom.RParen?.[0], true)
      return
    }
    const c = atom.comparison?.[0]?.children
    if (c === undefined) return
    this.columnPath(c.columnPath?.[0])
    if (c.Kw_not) this.token(c.Kw_not[0])
    this.token(c.operator?.[0])
    if (c.LParen) {
      this.token(c.LParen[0])
      const items = c.items ?? []
      items.forEach((v, i) => {
        if (i === 0) this.glue()
        else this.token(c.Comma?.[i - 1], true)
        this.value(v)
      })
      this.token(c.RParen?.[0], true)
    } else if (c.value) this.value(c.value[0]!)
  }

  private columnPath(node: C.ColumnPathCstNode | undefined): void {
    if (node === undefined) return
    const ch = node.children
    this.token(ch.table?.[0])
    ;(ch.segments ?? []).forEach((s, i) => {
      this.token(ch.Dot?.[i], true)
      this.token(s, true)
    })
  }
}
