import type * as A from "./ast.ts"
import { describeValue } from "./blocks.ts"
import type { DiagnosticSink } from "./diagnostics.ts"
import type { OutputRuleModel } from "./model.ts"
import { checkOutputPattern } from "./output-pattern.ts"
import { outputKinds } from "./properties.ts"
import { encodeString } from "./quantities.ts"
import type { Span } from "./span.ts"
import { didYouMeanText, suggest } from "./suggest.ts"

/*
 * A step's `outputs { }`: each rule a known kind (E045), an optional pattern that is a string
 * (E024) and a well-formed glob (E046), an optional `min` that is a whole number (E024) of at
 * least 0 (E080), no rule given twice (E022). A block with no rule at all requires nothing,
 * which is what `science min 0` says more plainly (W007). The rules come out in a fixed order
 * (kind as in `outputKinds`, then pattern), so reordering them changes no hash.
 */

const kindNames: ReadonlyArray<string> = outputKinds.map((k) => k.name)

/** A rule as it is written, for messages: `science "*.fits"`. */
const shown = (kind: string, pattern: string | null): string => (pattern === null ? kind : `${kind} ${encodeString(pattern)}`)

export const checkOutputs = (
  property: Extract<A.Property, { kind: "outputs" }>,
  step: string,
  sink: DiagnosticSink
): ReadonlyArray<OutputRuleModel> => {
  if (property.empty) {
    sink.report(
      "W007",
      property.keyword.span,
      { step },
      {
        help: "to let a run produce nothing, say so: `outputs { science min 0 }`; to require the default, remove the block"
      }
    )
  }
  const rules: Array<OutputRuleModel> = []
  const seen = new Map<string, Span>()
  for (const rule of property.rules) {
    let ok = true
    const kind = rule.kind.text
    if (!kindNames.includes(kind)) {
      const close = suggest(kind, kindNames)
      sink.report(
        "E045",
        rule.kind.span,
        { kind },
        {
          help: didYouMeanText(close) ?? `kinds: ${kindNames.map((k) => `\`${k}\``).join(", ")}`,
          fixes: close === undefined ? [] : [{ title: `Replace with \`${close}\``, span: rule.kind.span, replacement: close }]
        }
      )
      ok = false
    }
    const pattern = checkPattern(rule, sink)
    if (pattern === undefined) ok = false
    const min = checkMin(rule, sink)
    if (min === undefined) ok = false
    if (!ok) continue
    const key = `${kind}\u0000${pattern ?? ""}\u0000${pattern === null}`
    const first = seen.get(key)
    if (first !== undefined) {
      sink.report(
        "E022",
        rule.span,
        { keyword: shown(kind, pattern!) },
        {
          related: [{ span: first, message: "first given here" }],
          help: "merge the two rules into one"
        }
      )
      continue
    }
    seen.set(key, rule.span)
    rules.push({ kind: kind as OutputRuleModel["kind"], pattern: pattern!, min: min! })
  }
  return rules.sort(byKindThenPattern)
}

/** The pattern (null when none is written), or undefined after a diagnostic. */
const checkPattern = (rule: A.OutputRule, sink: DiagnosticSink): string | null | undefined => {
  const v = rule.pattern
  if (v === undefined) return null
  if (v.kind !== "string") {
    sink.report(
      "E024",
      v.span,
      { keyword: rule.kind.text, expected: 'a pattern in quotes, such as `"*.fits"`', found: describeValue(v) },
      {
        help:
          v.kind === "integer" || v.kind === "decimal" || v.kind === "quantity" || v.kind === "percent"
            ? `write it in quotes: \`"${v.raw}"\``
            : undefined
      }
    )
    return undefined
  }
  // An unterminated string was reported (E002); its text up to the line's end is no pattern.
  if (!v.terminated) return undefined
  const problem = checkOutputPattern(v.value)
  if (problem !== null) {
    sink.report(
      "E046",
      v.span,
      { detail: problem },
      {
        help:
          v.value === ""
            ? "leave the pattern out to count every file of the kind"
            : "patterns are globs: `*`, `?`, `[a-z]`, and `**` for any number of folders"
      }
    )
    return undefined
  }
  return v.value
}

/** The count (1 when no `min` is written), or undefined after a diagnostic. */
const checkMin = (rule: A.OutputRule, sink: DiagnosticSink): number | undefined => {
  if (rule.min === undefined) return 1
  const v = rule.min.count
  if (v === undefined) return undefined // a syntax error took it
  if (v.kind !== "integer") {
    sink.report("E024", v.span, { keyword: "min", expected: "a whole number", found: describeValue(v) })
    return undefined
  }
  if (v.value < 0) {
    sink.report("E080", v.span, { what: "`min`", range: "at least 0", found: `\`${v.raw}\`` })
    return undefined
  }
  return v.value
}

const byKindThenPattern = (a: OutputRuleModel, b: OutputRuleModel): number =>
  kindNames.indexOf(a.kind) - kindNames.indexOf(b.kind) ||
  (a.pattern === b.pattern ? 0 : a.pattern === null ? -1 : b.pattern === null ? 1 : a.pattern < b.pattern ? -1 : 1)
