import type * as A from "./ast.ts"
import { describeValue } from "./blocks.ts"
import type { DiagnosticSink } from "./diagnostics.ts"
import { growableResources, retryReasons, type GrowableResource, type RetryReason } from "./ir.ts"
import type { ResourcesModel, RetryAdjustmentModel } from "./model.ts"
import { maxRetryFactor, resourceKeys } from "./properties.ts"
import type { Span } from "./span.ts"
import { didYouMeanText, suggest } from "./suggest.ts"

/*
 * A step's `retries N [on REASON, …] [{ on REASON RESOURCE xF … }]`: a count that is a whole
 * number (E024) of 0..100 (E080); reasons a run attempt fails with (E047, with a suggestion; one
 * listed twice W006); adjustments whose reason is retried (E048), whose resource may grow (E081)
 * and whose factor is written `xF` (E024) with F above 1 and at most 16 (E080), each reason and
 * resource once (E022). `retries 0` with reasons or adjustments retries nothing (W008); growing a
 * resource the step's `resources` does not set has nothing to multiply (W009). Reasons and
 * adjustments come out in a fixed order (`retryReasons`, then `growableResources`), so
 * reordering them changes no hash.
 */

export interface CheckedRetries {
  readonly retries: number
  readonly retryOn: ReadonlyArray<RetryReason> | null
  readonly retryAdjust: ReadonlyArray<RetryAdjustmentModel> | null
}

const none: CheckedRetries = { retries: 0, retryOn: null, retryAdjust: null }

const reasonNames: ReadonlyArray<string> = retryReasons
const resourceNames: ReadonlyArray<string> = growableResources

/** Words people write for a reason, from Slurm's states or by habit, and the reason they mean. */
const reasonAliases: Readonly<Record<string, RetryReason>> = {
  OUT_OF_MEMORY: "OOM",
  CANCELLED: "CANCELLED_BY_BACKEND",
  EXIT: "EXIT_CODE",
  FAILED: "EXIT_CODE",
  NO_OUTPUT: "NO_OUTPUTS"
}

/** The factor of `x2`, `x1.5`: the lexer's Factor token, which the AST keeps as a name. */
const factorPattern = /^x(\d+(?:\.\d+)?)$/

export const checkRetries = (
  property: A.Property | undefined,
  step: string,
  resources: ResourcesModel,
  sink: DiagnosticSink
): CheckedRetries => {
  if (property === undefined || property.kind !== "retries") return none
  const retries = checkCount(property.count, sink)
  const retried = new Set<RetryReason>()
  let retryOn: Array<RetryReason> | null = null
  if (property.on !== undefined) {
    retryOn = []
    for (const r of property.on.reasons) {
      const reason = checkReason(r, sink)
      if (reason === undefined) continue
      if (retried.has(reason)) {
        sink.report("W006", r.span, { what: `failure reason \`${reason}\`` })
        continue
      }
      retried.add(reason)
      retryOn.push(reason)
    }
    retryOn.sort(byReason)
  }
  const retryAdjust =
    property.adjustments === undefined ? [] : checkAdjustments(property, step, retryOn === null ? undefined : retried, resources, sink)
  if (
    property.count?.kind === "integer" &&
    property.count.value === 0 &&
    (property.on !== undefined || property.adjustments !== undefined)
  ) {
    sink.report(
      "W008",
      property.count.span,
      { step },
      {
        help: "retry failures with a count above 0, such as `retries 3`, or leave the reasons and adjustments out"
      }
    )
  }
  return { retries, retryOn, retryAdjust: retryAdjust.length === 0 ? null : retryAdjust }
}

/** The count, 0 after a diagnostic (or when a syntax error took it: E005 said so). */
const checkCount = (v: A.Value | undefined, sink: DiagnosticSink): number => {
  if (v === undefined) return 0
  if (v.kind !== "integer") {
    sink.report("E024", v.span, { keyword: "retries", expected: "a whole number", found: describeValue(v) })
    return 0
  }
  if (v.value < 0 || v.value > 100) {
    sink.report("E080", v.span, { what: "`retries`", range: "between 0 and 100", found: `\`${v.value}\`` })
    return 0
  }
  return v.value
}

const checkReason = (r: A.Identifier, sink: DiagnosticSink): RetryReason | undefined => {
  if (reasonNames.includes(r.text)) return r.text as RetryReason
  const close = reasonAliases[r.text.toUpperCase()] ?? suggest(r.text, reasonNames)
  const help =
    r.text.toUpperCase() === "OUT_OF_SPACE"
      ? "a full disk is no failure: the run waits for room and the attempt does not count, so it needs no retry"
      : (didYouMeanText(close) ?? `failure reasons: ${reasonNames.map((n) => `\`${n}\``).join(", ")}`)
  sink.report(
    "E047",
    r.span,
    { reason: r.text },
    {
      help,
      fixes: close === undefined ? [] : [{ title: `Replace with \`${close}\``, span: r.span, replacement: close }]
    }
  )
  return undefined
}

const checkAdjustments = (
  property: Extract<A.Property, { kind: "retries" }>,
  step: string,
  retried: ReadonlySet<RetryReason> | undefined,
  resources: ResourcesModel,
  sink: DiagnosticSink
): Array<RetryAdjustmentModel> => {
  const out: Array<RetryAdjustmentModel> = []
  const seen = new Map<string, Span>()
  for (const a of property.adjustments ?? []) {
    const reason = checkReason(a.reason, sink)
    if (reason !== undefined && retried !== undefined && !retried.has(reason)) {
      const on = property.on!
      const end: Span = { ...on.span, start: on.span.end, startLine: on.span.endLine, startColumn: on.span.endColumn }
      sink.report(
        "E048",
        a.reason.span,
        { reason, step },
        {
          related: [{ span: on.span, message: "the failures the step retries" }],
          help: `retry it too: \`${on.keyword.text} ${[...retried, reason].sort(byReason).join(", ")}\`, or remove the adjustment`,
          fixes: on.reasons.length === 0 ? [] : [{ title: `Retry \`${reason}\` too`, span: end, replacement: `, ${reason}` }]
        }
      )
    }
    const resource = checkResource(a.resource, sink)
    const factor = checkFactor(a, sink)
    if (reason === undefined || resource === undefined || factor === undefined) continue
    if (retried !== undefined && !retried.has(reason)) continue
    const key = `${reason} ${resource}`
    const first = seen.get(key)
    if (first !== undefined) {
      sink.report(
        "E022",
        a.span,
        { keyword: `on ${reason} ${resource}` },
        {
          related: [{ span: first, message: "first given here" }],
          help: "keep one factor per reason and resource"
        }
      )
      continue
    }
    seen.set(key, a.span)
    const base = resource === "cpus" ? resources.cpus : resource === "memory" ? resources.memoryBytes : resources.timeSeconds
    if (base === null) {
      sink.report(
        "W009",
        a.resource.span,
        { step, resource },
        {
          help: `give it a base to grow from: \`resources { ${baseExamples[resource]} }\``
        }
      )
    }
    out.push({ reason, resource, factor })
  }
  return out.sort((x, y) => byReason(x.reason, y.reason) || resourceNames.indexOf(x.resource) - resourceNames.indexOf(y.resource))
}

const checkResource = (r: A.Identifier, sink: DiagnosticSink): GrowableResource | undefined => {
  if (resourceNames.includes(r.text)) return r.text as GrowableResource
  const isResource = resourceKeys.some((k) => k.key === r.text)
  const close = isResource ? undefined : suggest(r.text, resourceNames)
  sink.report(
    "E081",
    r.span,
    { word: r.text, block: "resource to grow" },
    {
      help: isResource
        ? `only \`cpus\`, \`memory\` and \`time\` grow on a retry; \`${r.text}\` stays as \`resources\` sets it`
        : (didYouMeanText(close) ?? "a retry grows `cpus`, `memory` or `time`"),
      fixes: close === undefined ? [] : [{ title: `Replace with \`${close}\``, span: r.span, replacement: close }]
    }
  )
  return undefined
}

/** The factor of `xF`, or undefined after a diagnostic: written otherwise (E024), or out of range (E080). */
const checkFactor = (a: A.RetryAdjustment, sink: DiagnosticSink): number | undefined => {
  const v = a.factor
  const written = v.kind === "identifier" ? factorPattern.exec(v.raw) : null
  if (written === null) {
    // `2`, `1.5`, `2x`: the number is clear, only its spelling is not.
    const number =
      v.kind === "integer" || v.kind === "decimal" ? v.raw : v.kind === "quantity" ? /^(\d+(?:\.\d+)?)x$/.exec(v.raw)?.[1] : undefined
    sink.report(
      "E024",
      v.span,
      { keyword: a.resource.text, expected: "a factor such as `x2` or `x1.5`", found: describeValue(v) },
      {
        help: number === undefined ? "write `x` and the number to multiply by, such as `x2`" : `write \`x${number}\``,
        fixes: number === undefined ? [] : [{ title: `Replace with \`x${number}\``, span: v.span, replacement: `x${number}` }]
      }
    )
    return undefined
  }
  const factor = Number(written[1])
  if (!(factor > 1) || factor > maxRetryFactor) {
    sink.report(
      "E080",
      v.span,
      { what: "a retry's factor", range: `above x1 and at most x${maxRetryFactor}`, found: `\`${written[0]}\`` },
      {
        help: factor <= 1 ? "a retry only grows a resource: a factor of 1 or less changes nothing, so leave the adjustment out" : undefined
      }
    )
    return undefined
  }
  return factor
}

const baseExamples: Readonly<Record<GrowableResource, string>> = { cpus: "cpus 4", memory: "memory 16GiB", time: "time 2h" }

const byReason = (a: RetryReason, b: RetryReason): number => reasonNames.indexOf(a) - reasonNames.indexOf(b)
