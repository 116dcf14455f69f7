import type { IrWorkspace } from "../compiler/ir.ts"
import { busyRetirementText, type BusyRetirement } from "./busy-retirements.ts"
import { outsideRetirementsText, type OutsideRetirements } from "./declared-outside.ts"
import { fieldFormat, fieldSection, fingerprintFields, inputFields } from "./fields.ts"
import { formatValue } from "./format-value.ts"
import type { ChangeAction, EntityChange, EntityKind, FieldChange, Plan } from "./plan.ts"
import { renderFilter } from "./render-filter.ts"
import { withoutSpans } from "./entity-json.ts"

/*
 * A plan for people, in the manner of `terraform plan`: a legend of the symbols used, the
 * shared definitions (locations, software, groupings) in sections of their own, each pipeline
 * with its steps under it, every changed field as `old → new`, then warnings about work the
 * plan would stop, and a closing count line.
 */

export interface PlanStyle {
  readonly create: (s: string) => string
  readonly change: (s: string) => string
  readonly retire: (s: string) => string
  readonly comment: (s: string) => string
  readonly bold: (s: string) => string
}

const id = (s: string) => s
export const plainPlanStyle: PlanStyle = { create: id, change: id, retire: id, comment: id, bold: id }
const ansi = (code: string) => (s: string) => `\u001b[${code}m${s}\u001b[0m`
export const colorPlanStyle: PlanStyle = { create: ansi("32"), change: ansi("33"), retire: ansi("31"), comment: ansi("2"), bold: ansi("1") }

export const choosePlanStyle = (stream: { isTTY?: boolean }): PlanStyle =>
  stream.isTTY === true && process.env["NO_COLOR"] === undefined && process.env["TERM"] !== "dumb" ? colorPlanStyle : plainPlanStyle

const symbols: Readonly<Record<ChangeAction, string>> = { create: "+", change: "~", reenable: "~", retire: "-" }

const legend: ReadonlyArray<readonly [string, string, (s: PlanStyle) => (x: string) => string]> = [
  ["+", "create", (s) => s.create],
  ["~", "change in place (or re-enable a retired definition)", (s) => s.change],
  ["-", "retire: disable, keeping its history, runs and products (nothing is deleted)", (s) => s.retire]
]

const paint = (style: PlanStyle, action: ChangeAction) =>
  action === "create" ? style.create : action === "retire" ? style.retire : style.change

const sentence = (items: ReadonlyArray<string>): string => items.join(", ")
// Facts may themselves be lists (`group_by source, line`): a stronger separator between them.
const factList = (items: ReadonlyArray<string>): string => items.join("; ")

/** What a new definition is, in one line: enough to recognise it, not every field. */
const keyFacts = (ir: IrWorkspace, c: EntityChange): string => {
  switch (c.kind) {
    case "location": {
      const l = ir.locations.find((x) => x.name === c.name)
      if (l === undefined) return ""
      return factList([`backend ${l.backend.kind}`, ...(l.site === null ? [] : [`site ${formatValue("literal", l.site)}`])])
    }
    case "software": {
      const s = ir.software.find((x) => x.name === c.name)
      return s === undefined ? "" : `versions ${s.versions.join(", ")}`
    }
    case "grouping": {
      const g = ir.groupings.find((x) => x.name === c.name)
      if (g === undefined) return ""
      const parts = [
        ...(g.from === null ? [] : [`from ${g.from}`]),
        ...(g.where === null ? [] : [`where ${renderFilter(withoutSpans(g.where))}`])
      ]
      return parts.length === 0 ? "every package" : factList(parts)
    }
    case "pipeline": {
      const p = ir.pipelines.find((x) => x.name === c.name)
      if (p === undefined) return ""
      const trigger =
        p.trigger.mode === "cron" && p.trigger.cron !== null
          ? `trigger cron ${formatValue("literal", p.trigger.cron)}`
          : `trigger ${p.trigger.mode}`
      return factList([`data ${p.data}`, `location ${p.location}`, trigger, ...(p.enabled ? [] : ["disabled"])])
    }
    case "step": {
      const s = ir.pipelines.find((x) => x.name === c.pipeline)?.steps.find((x) => x.name === c.name)
      if (s === undefined) return ""
      // The resolved version, unless the range already names exactly one.
      const resolved = s.software.range.startsWith("=") ? "" : ` (${s.software.version})`
      return factList([
        `run ${s.software.name} ${s.software.range}${resolved}`,
        `group_by ${s.groupBy.join(", ")}`,
        ...(s.after.length === 0 ? [] : [`after ${s.after.join(", ")}`])
      ])
    }
  }
}

/** Why a changed step will or will not process its data again. */
const reprocessNote = (c: EntityChange): string | null => {
  const sections = [...new Set(c.fields.map((f) => fieldSection(f.field)))]
  switch (c.reprocess) {
    case null:
      return null
    case "fingerprint": {
      // A new version (and its image) enters the fingerprint only under `exact` or across
      // incompatible versions: name it only when nothing more telling changed.
      const telling = sections.filter((s) => fingerprintFields.has(s) && s !== "version" && s !== "image")
      const why = telling.length > 0 ? telling : sections.filter((s) => fingerprintFields.has(s))
      return `will reprocess: fingerprint changes${why.length === 0 ? "" : ` (${sentence(why)})`}`
    }
    case "inputs":
      return `will reprocess: inputs change (${sentence(sections.filter((s) => inputFields.has(s)))})`
    case "none":
      return sections.length === 0 ? "no reprocessing" : `no reprocessing (${sentence(sections)} only)`
  }
}

/** A grouping whose only change is its selection changed through the grouping it inherits from. */
const inheritedNote = (ir: IrWorkspace, c: EntityChange): string | null => {
  if (c.kind !== "grouping" || c.fields.some((f) => f.field !== "selection")) return null
  const from = ir.groupings.find((g) => g.name === c.name)?.from ?? null
  return from === null ? null : `inherits a change of ${from}`
}

const headerNote = (ir: IrWorkspace, c: EntityChange): string | null => {
  switch (c.action) {
    case "create":
      return c.renamedFrom !== null
        ? `renamed from ${c.renamedFrom}: a rename is retire + create (${c.renamedFrom} keeps its history; ${c.name} starts afresh)`
        : keyFacts(ir, c) || null
    case "retire":
      return c.renamedTo === null ? null : `renamed to ${c.renamedTo}`
    case "change":
      return inheritedNote(ir, c) ?? reprocessNote(c)
    case "reenable": {
      const note = `re-enable (retired in generation ${c.retiredGeneration ?? "?"})`
      const reprocess = c.fields.length === 0 ? null : reprocessNote(c)
      return reprocess === null ? note : `${note}; ${reprocess}`
    }
  }
}

const wrapAt = 96

const fieldLines = (kind: EntityKind, f: FieldChange, style: PlanStyle): ReadonlyArray<string> => {
  if (f.type === "set") {
    // Only a software's versions are a set: one line per version, like nested blocks.
    const noun = f.field === "versions" ? "version" : f.field
    return [
      ...f.added.map((v) => style.create(`+ ${noun} ${v}`)),
      ...f.removed.map((v) => `${style.retire(`- ${noun} ${v}`)} ${style.comment("(withdraw)")}`)
    ]
  }
  const format = fieldFormat(kind, f.field)
  const old = formatValue(format, f.old)
  const now = formatValue(format, f.new)
  // A long value (a filter, a command) gets a line of its own, the new one under the old.
  return f.field.length + old.length + now.length + 5 <= wrapAt
    ? [`${f.field}: ${old} ${style.comment("→")} ${now}`]
    : [`${f.field}: ${old}`, `${" ".repeat(f.field.length)}${style.comment("→")} ${now}`]
}

const entityLines = (ir: IrWorkspace, c: EntityChange, indent: string, style: PlanStyle): Array<string> => {
  const head = `${indent}${paint(style, c.action)(`${symbols[c.action]} ${c.kind} ${c.name}`)}${c.action === "retire" ? " (retire)" : ""}`
  const note = headerNote(ir, c)
  const out = [note === null ? head : `${head}  ${style.comment(`# ${note}`)}`]
  for (const f of c.fields) for (const line of fieldLines(c.kind, f, style)) out.push(`${indent}    ${line}`)
  return out
}

const sectionTitles: ReadonlyArray<readonly [EntityKind, string]> = [
  ["location", "Locations:"],
  ["software", "Software:"],
  ["grouping", "Groupings:"]
]

/** What the database and the files say about the plan's retirements (plan-command.ts finds them). */
export interface RetirementNotices {
  /** Enabled pipelines it retires that have runs in flight or recent products. */
  readonly busy: ReadonlyArray<BusyRetirement>
  /** Pipelines it retires whose files lie outside the planned folder. */
  readonly outside: OutsideRetirements | null
}

export const noRetirementNotices: RetirementNotices = { busy: [], outside: null }

/** In red, just above the count line, where a person reads before answering or applying. */
const noticeLines = (notices: RetirementNotices, style: PlanStyle): Array<string> => [
  ...(notices.outside === null ? [] : [style.retire(`Warning: ${outsideRetirementsText(notices.outside)}`)]),
  ...notices.busy.map((b) => style.retire(`Warning: ${busyRetirementText(b)}. Applying it needs --allow-retire.`))
]

export const countLine = (plan: Plan): string =>
  `Plan: ${plan.summary.create} to create, ${plan.summary.change} to change, ${plan.summary.retire} to retire.`

export const noChangesLine = (generation: number): string => `No changes. The definitions match generation ${generation}.`

export const renderPlan = (plan: Plan, style: PlanStyle = plainPlanStyle, notices: RetirementNotices = noRetirementNotices): string => {
  if (plan.changes.length === 0) return noChangesLine(plan.baseGeneration)
  const out: Array<string> = []
  out.push(
    plan.baseGeneration === 0
      ? "The database holds no definitions yet. Actions are marked with these symbols:"
      : `Compared with the stored definitions (generation ${plan.baseGeneration}). Actions are marked with these symbols:`
  )
  const used = new Set(plan.changes.map((c) => symbols[c.action]))
  for (const [symbol, meaning, color] of legend) if (used.has(symbol)) out.push(`  ${color(style)(symbol)} ${meaning}`)
  out.push("", "ccat will perform the following actions:")

  for (const [kind, title] of sectionTitles) {
    const changes = plan.changes.filter((c) => c.kind === kind)
    if (changes.length === 0) continue
    out.push("", style.bold(title))
    for (const c of changes) out.push(...entityLines(plan.ir, c, "", style))
  }

  // Each pipeline, with its steps under it, in plan order.
  const pipelines = [
    ...new Set(
      plan.changes.flatMap((c) => (c.kind === "pipeline" ? [c.name] : c.kind === "step" && c.pipeline !== null ? [c.pipeline] : []))
    )
  ]
  if (pipelines.length > 0) out.push("", style.bold("Pipelines:"))
  pipelines.forEach((name, i) => {
    if (i > 0) out.push("")
    const own = plan.changes.find((c) => c.kind === "pipeline" && c.name === name)
    // Steps change under a pipeline whose own fields do not: name it without a symbol.
    out.push(...(own === undefined ? [`  pipeline ${name}`] : entityLines(plan.ir, own, "", style)))
    for (const c of plan.changes) if (c.kind === "step" && c.pipeline === name) out.push(...entityLines(plan.ir, c, "  ", style))
  })

  const warnings = noticeLines(notices, style)
  if (warnings.length > 0) out.push("", ...warnings)
  out.push("", style.bold(countLine(plan)))
  return out.join("\n")
}
