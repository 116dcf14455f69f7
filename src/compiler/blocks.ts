import type * as A from "./ast.ts"
import type { DiagnosticSink } from "./diagnostics.ts"
import { retryReasons } from "./ir.ts"
import { blockProperties, blocksWithProperty, findProperty, type BlockKind, type ValueShape } from "./properties.ts"
import { formatDuration, parseQuantity, unitHelp } from "./quantities.ts"
import type { Span } from "./span.ts"
import { didYouMeanText, suggest } from "./suggest.ts"

/*
 * A block's properties, checked against the property table once (unknown, misplaced, repeated,
 * missing), with typed accessors that check a value's shape and report at most once per value.
 */

export interface Located<T> {
  readonly value: T
  readonly span: Span
}

export const describeValue = (v: A.Value): string => {
  switch (v.kind) {
    case "string":
      return `the string ${v.raw.length > 40 ? `${v.raw.slice(0, 37)}…"` : v.raw}`
    case "identifier":
      return `the name \`${v.raw}\``
    case "list":
      return "a list"
    case "map":
      return "a map"
    case "boolean":
      return `\`${v.raw}\``
    case "integer":
    case "decimal":
      return `the number \`${v.raw}\``
    case "quantity": {
      const q = parseQuantity(v.raw)
      return q.kind === "duration" ? `the duration \`${v.raw}\`` : q.kind === "size" ? `the size \`${v.raw}\`` : `\`${v.raw}\``
    }
    default:
      return `the ${v.kind} \`${v.raw}\``
  }
}

const expectedText: Record<ValueShape, string> = {
  string: "a string",
  strings: "strings",
  name: "a name",
  names: "names",
  integer: "a whole number",
  percent: "a percentage such as `85%`",
  duration: "a duration such as `60s`",
  boolean: "`true` or `false`",
  versions: 'versions such as `"1.2.0"`'
}

export class BlockView {
  // Keywords in first-seen order and their properties: a block has a handful, so a scan beats
  // a Map, which every step, pipeline and location would otherwise allocate and grow.
  private readonly keywords: Array<string> = []
  private readonly groups: Array<Array<A.Property>> = []

  constructor(
    readonly kind: BlockKind,
    readonly owner: A.Identifier | undefined,
    readonly span: Span,
    properties: ReadonlyArray<A.Property>,
    private readonly sink: DiagnosticSink
  ) {
    for (const property of properties) {
      const word = property.keyword.text
      if (property.kind === "unknown") {
        const known = blockProperties[kind].map((s) => s.keyword)
        // `retries 3 TIMEOUT`: a failure reason without its `on` is no misspelled `timeout`.
        const reason = kind === "step" && (retryReasons as ReadonlyArray<string>).includes(word)
        const close = reason ? undefined : suggest(word, known)
        this.sink.report(
          "E020",
          property.keyword.span,
          { word, block: kind },
          {
            help: reason
              ? `failure reasons follow \`on\` in \`retries\`: \`retries 3 on ${word}\``
              : close === undefined
                ? `properties of a ${kind}: ${known.map((k) => `\`${k}\``).join(", ")}`
                : didYouMeanText(close),
            fixes: close === undefined ? [] : [{ title: `Replace with \`${close}\``, span: property.keyword.span, replacement: close }]
          }
        )
        continue
      }
      const spec = findProperty(kind, word)
      if (spec === undefined) {
        const homes = blocksWithProperty(word)
        this.sink.report(
          "E021",
          property.keyword.span,
          { keyword: word, block: kind },
          {
            help:
              word === "step" && kind === "step"
                ? "steps do not nest: is the `}` that closes the step above missing?"
                : homes.length > 0
                  ? `\`${word}\` belongs in a ${homes.join(" or a ")}`
                  : undefined
          }
        )
        continue
      }
      const seen = this.group(word)
      if (seen !== undefined && spec.repeatable !== true) {
        this.sink.report(
          "E022",
          property.keyword.span,
          { keyword: word },
          {
            related: [{ span: seen[0]!.keyword.span, message: "first given here" }]
          }
        )
        continue
      }
      if (seen === undefined) {
        this.keywords.push(word)
        this.groups.push([property])
      } else seen.push(property)
    }
    if (owner !== undefined) {
      for (const spec of blockProperties[kind]) {
        if (spec.required === true && this.group(spec.keyword) === undefined) {
          this.sink.report(
            "E023",
            owner.span,
            { block: kind, name: owner.text, keyword: spec.keyword },
            {
              help: `add \`${spec.example}\``
            }
          )
        }
      }
    }
  }

  private group(keyword: string): Array<A.Property> | undefined {
    const i = this.keywords.indexOf(keyword)
    return i === -1 ? undefined : this.groups[i]
  }

  get(keyword: string): A.Property | undefined {
    return this.group(keyword)?.[0]
  }

  all(keyword: string): ReadonlyArray<A.Property> {
    return this.group(keyword) ?? []
  }

  /** The values of a `value` property, after checking how many there may be. */
  private values(keyword: string, plural: boolean): ReadonlyArray<A.Value> | undefined {
    const property = this.get(keyword)
    if (property === undefined || property.kind !== "value") return undefined
    if (!plural && property.values.length > 1) {
      this.sink.report("E025", property.values[1]!.span, { keyword })
    }
    return plural ? property.values : property.values.slice(0, 1)
  }

  private wrong(keyword: string, shape: ValueShape, value: A.Value, help?: string): undefined {
    this.sink.report("E024", value.span, { keyword, expected: expectedText[shape], found: describeValue(value) }, { help })
    return undefined
  }

  string(keyword: string): Located<string> | undefined {
    const v = this.values(keyword, false)?.[0]
    if (v === undefined) return undefined
    if (v.kind === "string") return { value: v.value, span: v.span }
    return this.wrong(keyword, "string", v, v.kind === "identifier" ? `write it in quotes: \`"${v.raw}"\`` : undefined)
  }

  strings(keyword: string): ReadonlyArray<Located<string>> {
    const out: Array<Located<string>> = []
    for (const v of this.values(keyword, true) ?? []) {
      if (v.kind === "string") out.push({ value: v.value, span: v.span })
      else if (v.kind === "version") out.push({ value: v.raw, span: v.span })
      else this.wrong(keyword, "strings", v)
    }
    return out
  }

  name(keyword: string): Located<string> | undefined {
    const v = this.values(keyword, false)?.[0]
    if (v === undefined) return undefined
    return this.asName(keyword, v, "name")
  }

  names(keyword: string): ReadonlyArray<Located<string>> {
    const out: Array<Located<string>> = []
    for (const v of this.values(keyword, true) ?? []) {
      const n = this.asName(keyword, v, "names")
      if (n !== undefined) out.push(n)
    }
    return out
  }

  private asName(keyword: string, v: A.Value, shape: ValueShape): Located<string> | undefined {
    if (v.kind === "identifier") return { value: v.raw, span: v.span }
    if (v.kind === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(v.value)) {
      return this.wrong(keyword, shape, v, `names are written without quotes: \`${v.value}\``)
    }
    return this.wrong(keyword, shape, v)
  }

  integer(keyword: string): Located<number> | undefined {
    const v = this.values(keyword, false)?.[0]
    if (v === undefined) return undefined
    if (v.kind === "integer") return { value: v.value, span: v.span }
    return this.wrong(keyword, "integer", v)
  }

  boolean(keyword: string): Located<boolean> | undefined {
    const v = this.values(keyword, false)?.[0]
    if (v === undefined) return undefined
    if (v.kind === "boolean") return { value: v.value, span: v.span }
    return this.wrong(keyword, "boolean", v)
  }

  percent(keyword: string): Located<number> | undefined {
    const v = this.values(keyword, false)?.[0]
    if (v === undefined) return undefined
    if (v.kind !== "percent") return this.wrong(keyword, "percent", v)
    if (v.value <= 0 || v.value > 100) {
      this.sink.report("E080", v.span, { what: `\`${keyword}\``, range: "above 0% and at most 100%", found: `\`${v.raw}\`` })
      return undefined
    }
    return { value: v.value, span: v.span }
  }

  duration(keyword: string): Located<number> | undefined {
    const v = this.values(keyword, false)?.[0]
    if (v === undefined) return undefined
    const seconds = checkDuration(this.sink, keyword, v)
    return seconds === undefined ? undefined : { value: seconds, span: v.span }
  }
}

/** Seconds of a duration value, or a diagnostic: not a duration, an unknown unit, or zero. */
export const checkDuration = (sink: DiagnosticSink, what: string, v: A.Value): number | undefined => {
  if (v.kind === "integer" || v.kind === "decimal") {
    sink.report(
      "E024",
      v.span,
      { keyword: what, expected: expectedText.duration, found: describeValue(v) },
      {
        help: `add a unit: \`${v.raw}s\`, \`${v.raw}m\`, \`${v.raw}h\` or \`${v.raw}d\``
      }
    )
    return undefined
  }
  if (v.kind !== "quantity") {
    sink.report(
      "E024",
      v.span,
      { keyword: what, expected: expectedText.duration, found: describeValue(v) },
      {
        help: v.kind === "string" && parseQuantity(v.value).kind === "duration" ? `remove the quotes: \`${v.value}\`` : undefined
      }
    )
    return undefined
  }
  const q = parseQuantity(v.raw)
  if (q.kind === "unknown") {
    sink.report("E083", v.span, { unit: q.unit, kind: "duration" }, { help: unitHelp(q.unit, "duration") })
    return undefined
  }
  if (q.kind === "size") {
    sink.report("E024", v.span, { keyword: what, expected: expectedText.duration, found: describeValue(v) })
    return undefined
  }
  if (q.seconds === 0) {
    sink.report("E082", v.span, { keyword: what }, { help: `leave \`${what}\` out instead of writing a zero duration` })
    return undefined
  }
  return q.seconds
}

export { formatDuration }
