import type { CstNode, IToken } from "chevrotain"
import type * as A from "./ast.ts"
import type * as C from "./cst.ts"
import type { DiagnosticSink } from "./diagnostics.ts"
import { ccatLexer } from "./lexer.ts"
import { describeToken } from "./parser-messages.ts"
import { decodeString, numberRangeProblem, parseQuantity, quantityRangeProblem, splitQuantity } from "./quantities.ts"
import { fileStart, joinSpans, locationSpan, subSpan, tokenSpan, type Span } from "./span.ts"
import { didYouMeanText, suggest } from "./suggest.ts"

/*
 * CST → AST. Recovered nodes may miss any child the typings call required, so every access is
 * guarded; a node that lost its span borrows its parent's. Lexical problems that live inside a
 * single token (an unterminated string, a bad escape) are reported here, where the token is.
 */

const declarationWords = ["location", "software", "grouping", "pipeline"]

export const buildSourceFile = (path: string, text: string, cst: CstNode, sink: DiagnosticSink): A.SourceFile => {
  const builder = new Builder(path, text, sink)
  return builder.workspace(cst as C.WorkspaceCstNode)
}

type AnyChildren = Record<string, Array<CstNode | IToken> | undefined>

const isToken = (x: CstNode | IToken): x is IToken => (x as IToken).tokenType !== undefined

class Builder {
  private readonly fallback: Span

  constructor(
    readonly file: string,
    readonly text: string,
    readonly sink: DiagnosticSink
  ) {
    this.fallback = fileStart(file)
  }

  private tokenSpan(t: IToken | undefined): Span {
    return (t === undefined ? undefined : tokenSpan(this.file, t)) ?? this.fallback
  }

  private nodeSpan(node: CstNode | undefined): Span {
    if (node === undefined) return this.fallback
    const direct = locationSpan(this.file, node.location)
    if (direct !== undefined) return direct
    // A recovered node: span the tokens it did get.
    const tokens = collectTokens(node).filter((t) => tokenSpan(this.file, t) !== undefined)
    if (tokens.length === 0) return this.fallback
    return joinSpans(this.tokenSpan(tokens[0]), this.tokenSpan(tokens[tokens.length - 1]))
  }

  private ident(t: IToken | undefined): A.Identifier | undefined {
    if (t === undefined || t.isInsertedInRecovery === true) return undefined
    const span = tokenSpan(this.file, t)
    return span === undefined ? undefined : { text: t.image, span }
  }

  workspace(node: C.WorkspaceCstNode): A.SourceFile {
    const declarations: Array<A.Declaration> = []
    const strayDeclarationSteps: Array<A.StepDeclaration> = []
    const items: Array<{ offset: number; run: () => void }> = []
    const ch = node.children
    for (const d of ch.declaration ?? [])
      items.push({ offset: d.location?.startOffset ?? 0, run: () => declarations.push(this.declaration(d)) })
    for (const s of ch.stepDeclaration ?? []) {
      items.push({ offset: s.location?.startOffset ?? 0, run: () => strayDeclarationSteps.push(this.stepDeclaration(s)) })
    }
    for (const u of ch.unknownDeclaration ?? []) items.push({ offset: u.location?.startOffset ?? 0, run: () => this.unknownDeclaration(u) })
    for (const b of ch.skippedBlock ?? []) {
      items.push({
        offset: b.location?.startOffset ?? 0,
        run: () =>
          this.sink.report(
            "E008",
            this.tokenSpan(b.children.LCurly?.[0]),
            { what: "block", where: "at top level" },
            {
              help: "a block belongs after a declaration such as `pipeline chai_standing`"
            }
          )
      })
    }
    for (const s of ch.strayTopLevel ?? []) items.push({ offset: s.location?.startOffset ?? 0, run: () => this.stray(s, "at top level") })
    // Diagnostics in source order make the output read top to bottom.
    items.sort((a, b) => a.offset - b.offset).forEach((i) => i.run())
    return { path: this.file, text: this.text, declarations, strayDeclarationSteps }
  }

  private stray(node: CstNode, where: string): void {
    const tokens = collectTokens(node)
    const first = tokens[0]!
    // The first stray token is the mistake; what follows it was skipped to resynchronise.
    this.sink.report(
      "E008",
      this.tokenSpan(first),
      { what: `\`${first.image}\``, where },
      {
        notes:
          tokens.length > 1
            ? [`the rest, up to \`${tokens[tokens.length - 1]!.image}\` on line ${tokens[tokens.length - 1]!.startLine}, was skipped`]
            : [],
        help:
          where === "at top level"
            ? "the top level holds declarations: `location`, `software`, `grouping` and `pipeline`"
            : "each entry of a block starts with a property name, such as `description`"
      }
    )
  }

  private unknownDeclaration(node: C.UnknownDeclarationCstNode): void {
    const keyword = node.children.keyword?.[0]
    if (keyword === undefined) return
    const suggestion = suggest(keyword.image, declarationWords)
    const hint = didYouMeanText(suggestion)
    const span = this.tokenSpan(keyword)
    this.sink.report(
      "E007",
      span,
      { word: keyword.image },
      {
        help: hint ?? "declarations are `location`, `software`, `grouping` and `pipeline`",
        fixes: suggestion === undefined ? [] : [{ title: `Replace with \`${suggestion}\``, span, replacement: suggestion }]
      }
    )
  }

  /** A declared name; keywords parse as names so that the mistake costs one diagnostic. */
  private declaredName(t: IToken | undefined, kind: string): A.Identifier | undefined {
    const name = this.ident(t)
    if (t !== undefined && name !== undefined && t.tokenType.name.startsWith("Kw_")) {
      this.sink.report("E013", name.span, { word: t.image, kind }, { help: `choose another name, e.g. \`${t.image}_${kind}\`` })
    }
    return name
  }

  private declaration(node: C.DeclarationCstNode): A.Declaration {
    const keyword = node.children.keyword?.[0]
    const kind = (keyword?.image ?? "pipeline") as A.DeclarationKind
    return {
      kind,
      name: this.declaredName(node.children.name?.[0], kind),
      properties: this.block(node.children.block?.[0], kind),
      span: this.nodeSpan(node),
      keywordSpan: this.tokenSpan(keyword)
    }
  }

  private stepDeclaration(node: C.StepDeclarationCstNode): A.StepDeclaration {
    return {
      name: this.declaredName(node.children.name?.[0], "step"),
      properties: this.block(node.children.block?.[0], "step"),
      span: this.nodeSpan(node),
      keywordSpan: this.tokenSpan(node.children.keyword?.[0])
    }
  }

  private block(node: C.BlockCstNode | undefined, kind: string): ReadonlyArray<A.Property> {
    if (node === undefined) return []
    const out: Array<A.Property> = []
    for (const p of node.children.property ?? []) {
      const built = this.property(p, kind)
      if (built !== undefined) out.push(built)
    }
    return out
  }

  private property(node: C.PropertyCstNode, blockKind: string): A.Property | undefined {
    const ch = node.children
    const span = this.nodeSpan(node)
    if (ch.valueProperty !== undefined) {
      const v = ch.valueProperty[0]!.children
      const keyword = this.keyword(v.keyword)
      return { kind: "value", keyword, values: this.values(v.value), span }
    }
    if (ch.runProperty !== undefined) {
      const r = ch.runProperty[0]!.children
      return {
        kind: "run",
        keyword: this.keyword(r.keyword),
        software: this.ident(r.software?.[0]),
        range: r.versionRange === undefined ? undefined : this.versionRange(r.versionRange[0]!),
        span
      }
    }
    if (ch.triggerProperty !== undefined) {
      const t = ch.triggerProperty[0]!.children
      return {
        kind: "trigger",
        keyword: this.keyword(t.keyword),
        mode: this.ident(t.mode?.[0]),
        schedule: this.firstValue(t.schedule),
        timezone: this.firstValue(t.timezone),
        span
      }
    }
    if (ch.whereProperty !== undefined) {
      const w = ch.whereProperty[0]!.children
      const expr = w.orExpression?.[0]
      return { kind: "where", keyword: this.keyword(w.keyword), expression: expr === undefined ? undefined : this.orExpression(expr), span }
    }
    if (ch.configProperty !== undefined) {
      const c = ch.configProperty[0]!.children
      const map = c.map?.[0]
      return { kind: "config", keyword: this.keyword(c.keyword), map: map === undefined ? undefined : this.map(map), span }
    }
    if (ch.resourcesProperty !== undefined) {
      const r = ch.resourcesProperty[0]!.children
      return { kind: "resources", keyword: this.keyword(r.keyword), entries: this.entries(r.entries?.[0]), span }
    }
    if (ch.outputsProperty !== undefined) {
      const o = ch.outputsProperty[0]!.children
      return {
        kind: "outputs",
        keyword: this.keyword(o.keyword),
        rules: this.outputRules(o.outputRule),
        empty: this.nothingBetween(o.LCurly?.[0], o.RCurly?.[0]),
        span
      }
    }
    if (ch.retriesProperty !== undefined) return this.retriesProperty(ch.retriesProperty[0]!, span)
    if (ch.backendProperty !== undefined) {
      const b = ch.backendProperty[0]!.children
      return {
        kind: "backend",
        keyword: this.keyword(b.keyword),
        backend: this.ident(b.kind?.[0]),
        options: this.entries(b.entries?.[0]),
        span
      }
    }
    if (ch.flagProperty !== undefined) {
      const f = ch.flagProperty[0]!.children
      return { kind: "flag", keyword: this.keyword(f.keyword), value: f.flag?.[0]?.image !== "false", span }
    }
    if (ch.stepDeclaration !== undefined) {
      const step = this.stepDeclaration(ch.stepDeclaration[0]!)
      return { kind: "step", keyword: { text: "step", span: step.keywordSpan }, step, span }
    }
    if (ch.unknownProperty !== undefined) {
      return { kind: "unknown", keyword: this.keyword(ch.unknownProperty[0]!.children.keyword), span }
    }
    if (ch.strayInBlock !== undefined) {
      this.stray(ch.strayInBlock[0]!, `in a ${blockKind}`)
    }
    return undefined
  }

  private keyword(tokens: ReadonlyArray<IToken> | undefined): A.Identifier {
    const t = tokens?.[0]
    return { text: t?.image ?? "", span: this.tokenSpan(t) }
  }

  private versionRange(node: C.VersionRangeCstNode): A.VersionRangeNode {
    const op = node.children.operator?.[0]
    const found = node.children.version?.[0]
    // A version the parser had to invent is absent; the syntax error was reported.
    const version = found === undefined || found.isInsertedInRecovery === true || Number.isNaN(found.startOffset) ? undefined : found
    const span = this.nodeSpan(node)
    const operator = op?.image ?? "="
    return {
      operator: op === undefined ? "" : operator,
      version: version?.image ?? null,
      raw: `${op?.image ?? ""}${version?.image ?? ""}`,
      span
    }
  }

  private entries(node: C.EntriesCstNode | undefined): ReadonlyArray<A.Entry> {
    if (node === undefined) return []
    const out: Array<A.Entry> = []
    for (const e of node.children.entry ?? []) {
      const equals = e.children.misplacedEquals?.[0]
      if (equals !== undefined) {
        const span = this.tokenSpan(equals)
        this.sink.report(
          "E005",
          span,
          { detail: "unexpected `=`: these entries are written `key value`, e.g. `cpus 4`" },
          {
            fixes: [{ title: "Remove `=`", span, replacement: "" }]
          }
        )
      }
      const key = this.ident(e.children.key?.[0])
      const value = this.firstValue(e.children.value)
      if (key === undefined || value === undefined) continue
      out.push({ key, value, span: this.nodeSpan(e) })
    }
    return out
  }

  /**
   * Whether only whitespace and comments stand between two braces. A block with no rules left
   * in the AST may have lost them to syntax recovery or to E084; only one written empty is.
   */
  private nothingBetween(open: IToken | undefined, close: IToken | undefined): boolean {
    if (open === undefined || close === undefined || open.isInsertedInRecovery === true || close.isInsertedInRecovery === true) return false
    const inside = this.text.slice(open.startOffset + 1, close.startOffset)
    return ccatLexer.tokenize(inside).tokens.length === 0
  }

  private outputRules(nodes: ReadonlyArray<C.OutputRuleCstNode> | undefined): ReadonlyArray<A.OutputRule> {
    const out: Array<A.OutputRule> = []
    for (const r of nodes ?? []) {
      const kind = this.ident(r.children.kind?.[0])
      // A pattern or count given but refused (E084) leaves the rule out, like an entry's value.
      const patternToken = r.children.pattern?.[0]
      // A NUL in a pattern is E046's, which says why a file name cannot have one.
      const pattern = patternToken === undefined ? undefined : this.tokenValue(patternToken, false)
      const minToken = r.children.min?.[0]
      const count = this.firstValue(r.children.count)
      if (
        kind === undefined ||
        (patternToken !== undefined && pattern === undefined) ||
        (r.children.count !== undefined && count === undefined)
      )
        continue
      out.push({
        kind,
        pattern,
        min: minToken === undefined ? undefined : { keyword: this.keyword([minToken]), count },
        span: this.nodeSpan(r)
      })
    }
    return out
  }

  private retriesProperty(node: C.RetriesPropertyCstNode, span: Span): A.Property {
    const ch = node.children
    const keyword = this.keyword(ch.keyword)
    const count = this.firstValue(ch.count)
    const onToken = ch.on?.[0]
    // The parser leaves the count out rather than take `on` or `{` for it: say so once, here.
    if (ch.count === undefined && keyword.text !== "") {
      const next = onToken ?? ch.LCurly?.[0]
      const nextSpan = next === undefined ? undefined : this.ident(next)?.span
      this.sink.report("E005", nextSpan ?? keyword.span, {
        detail:
          next === undefined
            ? "`retries` needs the number of retries, such as `retries 3`"
            : `expected the number of retries before ${describeToken(next)}, such as \`retries 3 ${next.image === "on" ? "on OOM" : "{ … }"}\``
      })
    }
    const reasons = (ch.reasons ?? []).flatMap((r) => {
      const id = this.ident(r.children.name?.[0])
      return id === undefined ? [] : [id]
    })
    const on =
      onToken === undefined || onToken.isInsertedInRecovery === true
        ? undefined
        : {
            keyword: this.keyword([onToken]),
            reasons,
            span: joinSpans(this.tokenSpan(onToken), reasons.length > 0 ? reasons[reasons.length - 1]!.span : this.tokenSpan(onToken))
          }
    const adjustments = ch.LCurly === undefined ? undefined : this.retryAdjustments(ch.adjustments)
    return { kind: "retries", keyword, count, on, adjustments, span }
  }

  private retryAdjustments(nodes: ReadonlyArray<C.RetryAdjustmentCstNode> | undefined): ReadonlyArray<A.RetryAdjustment> {
    const out: Array<A.RetryAdjustment> = []
    for (const n of nodes ?? []) {
      const ch = n.children
      const on = this.ident(ch.on?.[0])
      const reason = this.ident(ch.reason?.[0]?.children.name?.[0])
      const resource = this.ident(ch.resource?.[0])
      // A factor refused as a number (E084) or taken by a syntax error leaves the rule out.
      const factor = this.firstValue(ch.factor)
      if (on === undefined || reason === undefined || resource === undefined || factor === undefined) continue
      out.push({ on, reason, resource, factor, span: this.nodeSpan(n) })
    }
    return out
  }

  private map(node: C.MapCstNode): A.Value {
    const entries: Array<A.MapEntry> = []
    let incomplete = false
    for (const e of node.children.mapEntry ?? []) {
      const keyToken = e.children.key?.[0]
      const value = this.firstValue(e.children.value)
      const key = this.ident(keyToken)
      if (value === undefined && e.children.value !== undefined) incomplete = true
      if (keyToken === undefined || key === undefined || value === undefined) continue
      const decodedKey = keyToken.tokenType.name === "StringLiteral" ? decodeString(keyToken.image) : undefined
      if (decodedKey !== undefined) this.reportNul(decodedKey.nul, key.span)
      const text = decodedKey?.value ?? keyToken.image
      const path = e.children.keyPath
      if (path === undefined || path.length === 0) {
        entries.push({ key: { text, span: key.span }, value, span: this.nodeSpan(e), dotted: false })
        continue
      }
      const dotted = [text, ...path.map((t) => t.image)]
      const last = path[path.length - 1]!
      this.sink.report(
        "E075",
        joinSpans(key.span, this.tokenSpan(last)),
        { key: dotted.join(".") },
        {
          help: `nest the maps: \`${dotted.reduceRight((inner, k) => (inner === "" ? `${k} = …` : `${k} = { ${inner} }`), "")}\``
        }
      )
      entries.push({ key: { text: dotted.join("."), span: key.span }, value, span: this.nodeSpan(e), dotted: true })
    }
    return { kind: "map", entries, span: this.nodeSpan(node), incomplete }
  }

  /** The values that survived recovery: a value node with nothing in it is left out. */
  private values(nodes: ReadonlyArray<C.ValueCstNode> | undefined): Array<A.Value> {
    const out: Array<A.Value> = []
    for (const n of nodes ?? []) {
      const v = this.value(n)
      if (v !== undefined) out.push(v)
    }
    return out
  }

  /** `values(nodes)[0]` without the array: every node is still built, for its diagnostics. */
  private firstValue(nodes: ReadonlyArray<C.ValueCstNode> | undefined): A.Value | undefined {
    let first: A.Value | undefined
    for (const n of nodes ?? []) {
      const v = this.value(n)
      if (first === undefined) first = v
    }
    return first
  }

  value(node: C.ValueCstNode): A.Value | undefined {
    const ch = node.children
    if (ch.list !== undefined) {
      const list = ch.list[0]!
      return { kind: "list", items: this.values(list.children.items), span: this.nodeSpan(list) }
    }
    if (ch.map !== undefined) return this.map(ch.map[0]!)
    const t = ch.literal?.[0] ?? ch.identifier?.[0]
    return t === undefined ? undefined : this.tokenValue(t)
  }

  /** The value of one literal or name token; undefined for a token recovery made up. */
  private tokenValue(t: IToken, reportNul = true): A.Value | undefined {
    if (t.isInsertedInRecovery === true) return undefined
    const span = tokenSpan(this.file, t)
    if (span === undefined) return undefined
    const raw = t.image
    switch (t.tokenType.name) {
      case "StringLiteral":
      case "UnterminatedString":
        return this.string(raw, span, reportNul)
      case "IntegerLiteral":
        return this.numberInRange(raw, span, true) ? { kind: "integer", value: Number(raw), raw, span } : undefined
      case "DecimalLiteral":
        return this.numberInRange(raw, span, false) ? { kind: "decimal", value: Number(raw), raw, span } : undefined
      case "Quantity":
        return this.quantityInRange(raw, span) ? { kind: "quantity", raw, span } : undefined
      case "Percent":
        return this.numberInRange(raw.slice(0, -1), span, false)
          ? { kind: "percent", value: Number(raw.slice(0, -1)), raw, span }
          : undefined
      case "DateLiteral":
        return { kind: "date", raw, span }
      case "Timestamp":
        return { kind: "timestamp", raw, span }
      case "VersionLiteral":
        return { kind: "version", raw, span }
      case "Kw_true":
        return { kind: "boolean", value: true, raw, span }
      case "Kw_false":
        return { kind: "boolean", value: false, raw, span }
      default:
        return { kind: "identifier", raw, span }
    }
  }

  /**
   * Whether the number at the start of a literal (`text`) stands for itself; if not, says so
   * (E084) and the value is left out of the AST, like a recovered one: no check after this one
   * ever meets an Infinity, and none reports the literal a second time.
   */
  private numberInRange(text: string, span: Span, integer: boolean): boolean {
    const problem = numberRangeProblem(text, integer)
    if (problem === undefined) return true
    const n = Number(text)
    this.sink.report(
      "E084",
      subSpan(span, 0, text.length),
      { literal: abbreviated(text), problem },
      {
        notes: Number.isFinite(n) ? [] : ["numbers are 64-bit floating point: the largest is about 1.8e308"],
        help: Number.isFinite(n)
          ? `numbers keep about 15 significant digits: write \`${n.toExponential()}\` for an approximate value, or \`"${text}"\` for the exact digits as text`
          : undefined
      }
    )
    return false
  }

  /** The same for a duration or size: its number, then its magnitude once the unit is applied. */
  private quantityInRange(raw: string, span: Span): boolean {
    const { numberText } = splitQuantity(raw)
    if (!this.numberInRange(numberText, span, false)) return false
    const problem = quantityRangeProblem(parseQuantity(raw))
    if (problem === undefined) return true
    this.sink.report("E084", span, { literal: abbreviated(raw), problem })
    return false
  }

  private string(raw: string, span: Span, reportNul = true): A.Value {
    const decoded = decodeString(raw)
    if (!decoded.terminated) this.sink.report("E002", span, {}, { help: 'add `"` at the end; a string cannot span lines (write `\\n`)' })
    for (const bad of decoded.badEscapes) {
      this.sink.report(
        "E004",
        subSpan(span, bad.offset, bad.offset + bad.sequence.length),
        { sequence: bad.sequence },
        {
          help: 'escapes are \\n \\t \\r \\" \\\\ and \\u{hex}; write \\\\ for a backslash'
        }
      )
    }
    if (reportNul) this.reportNul(decoded.nul, span)
    return { kind: "string", value: decoded.value, raw, span, terminated: decoded.terminated }
  }

  /** PostgreSQL stores no NUL in text: `ccat apply` would fail on it, far from here and without a place. */
  private reportNul(nul: { offset: number; length: number } | undefined, span: Span): void {
    if (nul === undefined) return
    this.sink.report(
      "E102",
      subSpan(span, nul.offset, nul.offset + nul.length),
      {},
      { help: "remove it: the database stores text without it" }
    )
  }

  /** `&&` and `||` work as `and` and `or`, with one diagnostic and a fix each. */
  private reportSymbolOperators(tokens: ReadonlyArray<IToken> | undefined): void {
    for (const t of tokens ?? []) {
      const word = t.tokenType.name === "AndSymbol" ? "and" : t.tokenType.name === "OrSymbol" ? "or" : undefined
      if (word === undefined) continue
      const span = this.tokenSpan(t)
      this.sink.report(
        "E001",
        span,
        { char: t.image },
        { help: `write \`${word}\``, fixes: [{ title: `Replace with \`${word}\``, span, replacement: word }] }
      )
    }
  }

  private orExpression(node: C.OrExpressionCstNode): A.Expression {
    this.reportSymbolOperators(node.children.operators)
    const operands = (node.children.operands ?? []).map((a) => this.andExpression(a))
    return operands.length === 1 ? operands[0]! : { kind: "or", operands, span: this.nodeSpan(node) }
  }

  private andExpression(node: C.AndExpressionCstNode): A.Expression {
    this.reportSymbolOperators(node.children.operators)
    const operands = (node.children.operands ?? []).map((n) => this.notExpression(n))
    return operands.length === 1 ? operands[0]! : { kind: "and", operands, span: this.nodeSpan(node) }
  }

  private notExpression(node: C.NotExpressionCstNode): A.Expression {
    const inner = node.children.notExpression?.[0]
    if (inner !== undefined) return { kind: "not", operand: this.notExpression(inner), span: this.nodeSpan(node) }
    const atom = node.children.atomExpression?.[0]
    if (atom === undefined) return this.emptyComparison(node)
    const nested = atom.children.orExpression?.[0]
    if (nested !== undefined) return this.orExpression(nested)
    const comparison = atom.children.comparison?.[0]
    return comparison === undefined ? this.emptyComparison(node) : this.comparison(comparison)
  }

  // A recovered expression with nothing in it: a comparison the checker will skip.
  private emptyComparison(node: CstNode): A.Comparison {
    const span = this.nodeSpan(node)
    return {
      kind: "comparison",
      column: { table: { text: "", span }, segments: [], span },
      operator: "==",
      operatorSpan: span,
      values: [],
      span
    }
  }

  private comparison(node: C.ComparisonCstNode): A.Comparison {
    const ch = node.children
    const path = ch.columnPath?.[0]
    const column = this.columnPath(path)
    const opToken = ch.operator?.[0]
    const negated = ch.Kw_not !== undefined
    if (opToken?.tokenType.name === "Equals") {
      const span = this.tokenSpan(opToken)
      this.sink.report(
        "E005",
        span,
        { detail: "`=` is not a comparison; equality is written `==`" },
        {
          fixes: [{ title: "Replace with `==`", span, replacement: "==" }]
        }
      )
    }
    const base = opToken?.tokenType.name === "Equals" ? "==" : (opToken?.image ?? "==")
    const operator = (negated ? `not ${base}` : base) as A.ComparisonOperator
    const values = this.values(ch.items === undefined ? ch.value : ch.value === undefined ? ch.items : [...ch.value, ...ch.items])
    const notSpan = ch.Kw_not?.[0]
    const operatorSpan = notSpan === undefined ? this.tokenSpan(opToken) : joinSpans(this.tokenSpan(notSpan), this.tokenSpan(opToken))
    return { kind: "comparison", column, operator, operatorSpan, values, span: this.nodeSpan(node) }
  }

  private columnPath(node: C.ColumnPathCstNode | undefined): A.ColumnPath {
    const span = this.nodeSpan(node)
    const table = this.ident(node?.children.table?.[0]) ?? { text: "", span }
    const segments: Array<A.Identifier> = []
    for (const t of node?.children.segments ?? []) {
      const id = this.ident(t)
      if (id === undefined) continue
      if (t.tokenType.name !== "StringLiteral") {
        segments.push(id)
        continue
      }
      const decoded = decodeString(t.image)
      this.reportNul(decoded.nul, id.span)
      segments.push({ text: decoded.value, span: id.span })
    }
    return { table, segments, span }
  }
}

// A 400-digit literal is underlined whole; the message shows its two ends.
const abbreviated = (text: string): string => (text.length <= 32 ? text : `${text.slice(0, 16)}…${text.slice(-8)}`)

const collectTokens = (node: CstNode): Array<IToken> => {
  const out: Array<IToken> = []
  const walk = (n: CstNode): void => {
    for (const children of Object.values(n.children as AnyChildren)) {
      for (const c of children ?? []) {
        if (isToken(c)) out.push(c)
        else walk(c)
      }
    }
  }
  walk(node)
  return out.sort((a, b) => a.startOffset - b.startOffset)
}
