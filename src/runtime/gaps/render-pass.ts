import type { IrWorkspace } from "../../compiler/ir.ts"
import type { PassSummary, StepOutcome } from "./evaluate-pass.ts"
import type { StepDecision } from "./evaluate-step.ts"
import { createReasons, holdReasons, isCreateReason, type ReasonCode } from "./reasons.ts"
import { createdInPreview } from "./preview.ts"
import { nextTick } from "./trigger-requests.ts"
import { utcMinutes } from "../time-format.ts"

/*
 * A pass as `ccat plan` shows it: the section "Runs the trigger would create now", per step the
 * number of runs and the sub-groups by reason; and the same as JSON (docs/plan-json.md).
 */

const reasonOrder: ReadonlyArray<ReasonCode> = [...createReasons, ...holdReasons]

const byReason = (counts: StepOutcome["counts"], create: boolean): string =>
  reasonOrder
    .filter((r) => isCreateReason(r) === create && (counts[r] ?? 0) > 0)
    .map((r) => `${r} ${counts[r]}`)
    .join(", ")

const notTriggeredLine = (ir: IrWorkspace | null, pipeline: string, at: Date): string => {
  const p = ir?.pipelines.find((x) => x.name === pipeline)
  if (p?.trigger.mode === "cron") {
    const next = nextTick(p.trigger, at)
    return `not triggered: cron "${p.trigger.cron}" (${p.trigger.timezone ?? "UTC"})${next === null ? "" : `, next tick ${utcMinutes(next)}`}`
  }
  return `not triggered: manual (\`ccat run ${pipeline}\` requests a run)`
}

/** The plan section; `ir` supplies trigger details of pipelines that were not triggered. */
export const renderPassSection = (summary: PassSummary, ir: IrWorkspace | null): string => {
  const lines = [`Runs the trigger would create now (as of ${utcMinutes(summary.at)}):`, ""]
  if (summary.steps.length === 0) {
    lines.push("  (no enabled pipelines)")
    return lines.join("\n")
  }
  const pipelines = [...new Set(summary.steps.map((s) => s.pipeline))]
  for (const pipeline of pipelines) {
    const steps = summary.steps.filter((s) => s.pipeline === pipeline)
    if (steps.every((s) => s.status._tag === "NotTriggered" && s.status.why === "no-request")) {
      lines.push(`  ${pipeline}: ${notTriggeredLine(ir, pipeline, summary.at)}`)
      continue
    }
    lines.push(`  ${pipeline}`)
    const width = Math.max(...steps.map((s) => s.step.length))
    for (const s of steps) {
      const name = s.step.padEnd(width)
      if (s.status._tag === "NotTriggered") {
        lines.push(`    ${name}  not in this request`)
        continue
      }
      const runs = Object.entries(s.counts).reduce((n, [r, c]) => n + (isCreateReason(r) ? (c ?? 0) : 0), 0)
      const created = byReason(s.counts, true)
      const held = byReason(s.counts, false)
      const parts = [`${String(runs).padStart(5)} run${runs === 1 ? " " : "s"}`]
      if (Object.keys(s.counts).length === 0) parts.push("no sub-groups yet (nothing selected, or no upstream products)")
      if (created !== "") parts.push(created)
      if (held !== "") parts.push(`held: ${held}`)
      lines.push(`    ${name}  ${parts.join("   ")}`)
    }
  }
  const total = summary.steps.reduce(
    (n, s) => n + Object.entries(s.counts).reduce((m, [r, c]) => m + (isCreateReason(r) ? (c ?? 0) : 0), 0),
    0
  )
  lines.push("", `${total} run${total === 1 ? "" : "s"} would be created.`)
  const remembered = summary.steps.filter((s) => s.remembered === true || s.incremental === true).map((s) => `${s.pipeline}.${s.step}`)
  if (remembered.length > 0) {
    lines.push(
      `From the trigger loop's memory: ${remembered.join(", ")} (only sub-groups changed since its last pass were decided again; \`ccat plan --json\` decides every one).`
    )
  }
  return lines.join("\n")
}

const decisionJson = (summary: PassSummary, d: StepDecision) => {
  // A run the preview created (a step decided again after the pass created its runs) never
  // exists: its id would name nothing, so the member is null.
  const existing = (id: number | null) => (id === null || createdInPreview(summary, id) ? null : id)
  return {
    subGroupKey: d.subGroupKey,
    action: d.creates ? "create" : "hold",
    reason: d.reason,
    inputCount: d.inputCount,
    inputIdentity: d.inputIdentity,
    previousRunId: existing(d.previousRunId),
    inFlightRunId: existing(d.inFlightRunId),
    cooldownUntil: d.cooldownUntil?.toISOString() ?? null,
    upstreamInFlight: d.upstreamInFlight,
    upstreamFailed: d.upstreamFailed
  }
}

/** The `trigger` member of the plan JSON. */
export const passJson = (summary: PassSummary) => ({
  evaluatedAt: summary.at.toISOString(),
  runs: summary.steps.reduce((n, s) => n + (s.decisions ?? []).filter((d) => d.creates).length, 0),
  steps: summary.steps.map((s) => ({
    pipeline: s.pipeline,
    step: s.step,
    triggered: s.status._tag === "Evaluated",
    ...(s.status._tag === "NotTriggered" ? { notTriggered: s.status.why } : {}),
    runs: (s.decisions ?? []).filter((d) => d.creates).length,
    counts: s.counts,
    items: (s.decisions ?? []).map((d) => decisionJson(summary, d))
  }))
})
