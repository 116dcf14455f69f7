import { SqlClient, type SqlError } from "@effect/sql"
import { Effect } from "effect"
import type { IrFilter, IrJson, IrPipeline, IrStep } from "../../compiler/ir.ts"
import { didYouMean } from "../../compiler/suggest.ts"
import { renderFilter } from "../../definitions/render-filter.ts"
import { appliedIr, type AppliedDefinitionsError } from "../gaps/applied-definitions.ts"
import type { StoredDefinitionsError } from "../../definitions/stored.ts"
import { NothingApplied, type PassSummary } from "../gaps/evaluate-pass.ts"
import type { StepDecision } from "../gaps/evaluate-step.ts"
import { createdInPreview, previewPassWith } from "../gaps/preview.ts"
import { createReasons, holdReasons, reasonDescriptions, type ReasonCode } from "../gaps/reasons.ts"
import { UnknownPipeline, UnknownStep } from "../gaps/trigger-requests.ts"
import { filterCondition, filterTables, keyedSelection } from "../selection/index.ts"
import { columnRef, joinsFor, resolveTable } from "../selection/joins.ts"
import { utcMinutes, utcSeconds } from "../time-format.ts"

/*
 * `ccat why <pipeline>.<step> [sub_group_key]`: one decision of the trigger in words
 * (docs/design/runtime.md §2.9). The decision comes from a real pass previewed in a rolled-back transaction
 * (gaps/preview.ts), so `why` can never disagree with what the trigger does. For a sub-group
 * the step does not have, it says which rule of the grouping leaves its packages out.
 *
 * The preview creates runs, and its decisions name some of them (the upstream runs a sub-group
 * would wait for); they are rolled back and their ids never exist. `why` names only runs that
 * exist outside the preview, and calls the others "a run that would be created now".
 */

export interface WhyTarget {
  readonly pipeline: string
  readonly step: string
  readonly subGroupKey: string | null
}

interface RunRow {
  readonly id: string
  readonly status: string
  readonly reason: string
  readonly created_at: Date
  readonly finished_at: Date | null
  readonly config: Record<string, IrJson>
  readonly software_version: string
  readonly image: string
  readonly failure_reason: string | null
  readonly retry_count: number
  readonly sub_group_key: string
  readonly step_name: string
}

interface Inspected {
  readonly previous: RunRow | null
  readonly previousInputs: ReadonlyArray<string>
  readonly related: ReadonlyArray<RunRow>
  /** Jobs found under the name of the previous or in-flight run and not adopted, newest first. */
  readonly notAdopted: ReadonlyArray<{ readonly runId: number; readonly reason: string }>
}

/**
 * A span of time as a person reads it, rounded up (a run that may start in 20.4 s may not in
 * 20): below a minute in seconds (`45s`), where whole minutes said "1m" for 20 s; from a minute
 * on in days, hours and minutes (`1h 5m`), where seconds would be noise.
 */
export const duration = (ms: number): string => {
  const seconds = Math.max(1, Math.ceil(ms / 1000))
  if (seconds < 60) return `${seconds}s`
  const minutes = Math.ceil(seconds / 60)
  const d = Math.floor(minutes / 1440)
  const h = Math.floor((minutes % 1440) / 60)
  const m = minutes % 60
  return [d > 0 ? `${d}d` : "", h > 0 ? `${h}h` : "", m > 0 ? `${m}m` : ""].filter((x) => x !== "").join(" ")
}

const runRows = (ids: ReadonlyArray<number>) =>
  Effect.gen(function* () {
    if (ids.length === 0) return []
    const sql = yield* SqlClient.SqlClient
    return yield* sql<RunRow>`
      SELECT r.id, r.status, r.reason, r.created_at, r.finished_at, r.config, r.software_version, r.image, r.failure_reason,
        r.retry_count, r.sub_group_key, s.name AS step_name
      FROM executed_reduction_step r JOIN reduction_step s ON s.id = r.step_id
      WHERE r.id IN ${sql.in(ids)} ORDER BY r.id`
  })

/**
 * The newest run of the sub-group that exists outside the preview. The decision's previous run
 * is the preview's own when the pass decided the step again after creating it (a downstream step
 * asked for rebuilds): then the run before it is the previous one.
 */
const previousRunOf = (summary: PassSummary, stepId: number, decision: StepDecision) =>
  Effect.gen(function* () {
    const id = decision.previousRunId
    if (id === null || !createdInPreview(summary, id)) return id
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<{ id: string }>`
      SELECT id FROM executed_reduction_step
      WHERE step_id = ${stepId} AND sub_group_key = ${decision.subGroupKey} AND id <= ${summary.lastExistingRunId ?? 0}
      ORDER BY id DESC LIMIT 1`
    return row === undefined ? null : Number(row.id)
  })

/** Runs inside the preview, before its rollback: the runs it created can still be read (step, sub-group). */
const inspect = (summary: PassSummary, stepId: number, decision: StepDecision | undefined) =>
  Effect.gen(function* () {
    if (decision === undefined) return { previous: null, previousInputs: [], related: [], notAdopted: [] } satisfies Inspected
    const sql = yield* SqlClient.SqlClient
    const previousId = yield* previousRunOf(summary, stepId, decision)
    const ids = [previousId, decision.inFlightRunId].filter((x): x is number => x !== null && !createdInPreview(summary, x))
    const [previous] = previousId === null ? [] : yield* runRows([previousId])
    const previousInputs =
      previousId === null
        ? []
        : (yield* sql<{ input: string }>`
            SELECT coalesce('raw:' || raw_data_package_id::text, 'product:' || data_product_id::text) AS input
            FROM run_input WHERE run_id = ${previousId}`).map((r) => r.input)
    // The preview's own runs too: they are named by step and sub-group.
    const inFlight = decision.inFlightRunId === null ? [] : [decision.inFlightRunId]
    const related = yield* runRows([...new Set([...ids, ...inFlight, ...decision.upstreamRunIds, ...decision.rebuildRunIds.slice(0, 5)])])
    const notAdopted =
      ids.length === 0
        ? []
        : (yield* sql<{ run_id: string; reason: string }>`
            SELECT run_id, reason FROM run_event WHERE run_id IN ${sql.in(ids)} AND reason LIKE 'NOT_ADOPTED:%' ORDER BY id DESC LIMIT 5`).map(
            (e) => ({
              runId: Number(e.run_id),
              reason: e.reason
            })
          )
    return { previous: previous ?? null, previousInputs, related, notAdopted } satisfies Inspected
  })

/** Top-level rules of a selection: the operands of its outer `and`, each with its own span. */
const rulesOf = (filter: IrFilter | null): ReadonlyArray<IrFilter> =>
  filter === null ? [] : filter.kind === "and" ? filter.operands.flatMap((f) => rulesOf(f)) : [filter]

const where = (f: IrFilter): string => `${f.span.file}:${f.span.startLine}:${f.span.startColumn}`

/** Why the packages of `key` are not a sub-group of the step: which rule leaves them out. */
const explainMissing = (pipeline: IrPipeline, step: IrStep, selection: IrFilter | null, key: string, known: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const lines: Array<string> = []
    const root = resolveTable("RawDataPackage")
    const ids = (yield* sql<{ id: string }>`
      SELECT id FROM (${keyedSelection(sql, null, step.groupBy, { archivedOnly: false })}) s WHERE sub_group_key = ${key} LIMIT 100000`).map(
      (r) => r.id
    )
    const dims = step.groupBy.join(", ")
    if (ids.length === 0) {
      const hint = didYouMean(key, known, { capitalized: true })
      lines.push(`No raw package at all has the sub-group key \`${key}\` under group_by ${dims}.${hint === undefined ? "" : ` ${hint}`}`)
      return lines
    }
    const rules = rulesOf(selection)
    const failing = rules.map((rule) => sql`count(*) FILTER (WHERE (${filterCondition(sql, rule)}) IS NOT TRUE)::int`)
    const tables = new Set(rules.flatMap((r) => [...filterTables(r)]))
    const columns = sql.join(
      ", ",
      false
    )([
      sql`count(*)::int AS total`,
      sql`count(*) FILTER (WHERE ${columnRef(sql, root, "state")} <> 'ARCHIVED')::int AS not_archived`,
      sql`count(*) FILTER (WHERE ${selection === null ? sql`TRUE` : filterCondition(sql, selection)})::int AS selected`,
      sql`ARRAY[${sql.join(", ", false)(failing.length === 0 ? [sql`0`] : failing)}]::int[] AS failing`
    ])
    const [counts] = yield* sql<{ total: number; not_archived: number; selected: number; failing: ReadonlyArray<number> }>`
      SELECT ${columns} FROM ${sql(root.sqlTable)} ${joinsFor(sql, tables)} WHERE ${columnRef(sql, root, "id")} IN ${sql.in(ids)}`
    const c = counts!
    lines.push(
      `${c.total} raw package${c.total === 1 ? " has" : "s have"} this key; ${c.selected} of them ${c.selected === 1 ? "is" : "are"} selected by grouping \`${pipeline.data}\`.`
    )
    rules.forEach((rule, n) => {
      const excluded = c.failing[n] ?? 0
      if (excluded > 0) lines.push(`  rule \`${renderFilter(rule)}\` (${where(rule)}) excludes ${excluded}`)
    })
    if (c.selected > 0) {
      if (step.after.length === 0) {
        lines.push(`  ${c.not_archived} ${c.not_archived === 1 ? "is" : "are"} not ARCHIVED yet: a step reads only archived packages.`)
      } else {
        lines.push(`  No completed or running upstream run (${step.after.join(", ")}) covers the selected ones yet.`)
      }
    }
    return lines
  })

const configDiff = (old: Readonly<Record<string, IrJson>>, now: Readonly<Record<string, IrJson>>, prefix = "config"): Array<string> => {
  const keys = [...new Set([...Object.keys(old), ...Object.keys(now)])].sort()
  return keys.flatMap((k) => {
    const a = old[k]
    const b = now[k]
    const isMap = (v: IrJson | undefined): v is Record<string, IrJson> => typeof v === "object" && v !== null && !Array.isArray(v)
    if (isMap(a) && isMap(b)) return configDiff(a, b, `${prefix}.${k}`)
    if (JSON.stringify(a) === JSON.stringify(b)) return []
    const show = (v: IrJson | undefined) => (v === undefined ? "(absent)" : JSON.stringify(v))
    return [`${prefix}.${k}: ${show(a)} → ${show(b)}`]
  })
}

const runLine = (r: RunRow, pipeline: string): string =>
  `run ${r.id} (${pipeline}.${r.step_name} ${r.sub_group_key}) ${r.status}${r.failure_reason === null ? "" : `: ${r.failure_reason}`}`

/** The words for a run the preview created: it never exists, so it has no id to show. */
const wouldBeCreated = (pipeline: string, r: RunRow | undefined): string =>
  `a run that would be created now${r === undefined ? "" : ` (${pipeline}.${r.step_name} ${r.sub_group_key})`}`

/** The words for one sub-group's decision, and the decision they explain (the run's own reason when the pass created it). */
const explainDecision = (
  pipeline: IrPipeline,
  step: IrStep,
  decided: StepDecision,
  x: Inspected,
  summary: PassSummary
): { readonly lines: Array<string>; readonly decision: StepDecision } => {
  const lines: Array<string> = []
  const now = summary.at
  const byId = new Map(x.related.map((r) => [Number(r.id), r]))
  const created = (id: number) => createdInPreview(summary, id)
  const runRef = (id: number): string => {
    const r = byId.get(id)
    return created(id) ? wouldBeCreated(pipeline.name, r) : r === undefined ? `run ${id}` : runLine(r, pipeline.name)
  }
  // Decided again in the same pass after the pass created its run (a downstream step asked for
  // rebuilds), the sub-group is in flight on the preview's own run: the pass's decision is the
  // one that created it, whose reason the run carries.
  const own =
    decided.reason === "IN_FLIGHT" && decided.inFlightRunId !== null && created(decided.inFlightRunId)
      ? byId.get(decided.inFlightRunId)
      : undefined
  const d: StepDecision =
    own === undefined ? decided : { ...decided, reason: own.reason as StepDecision["reason"], creates: true, inFlightRunId: null }
  const head = d.creates ? "a run would be created now" : "no run now"
  lines.push(`${pipeline.name}.${step.name} ${d.subGroupKey}: ${head} (${d.reason}: ${reasonDescriptions[d.reason]}).`)
  const prev = x.previous
  const inputs = d.inputs ?? []
  const kinds = inputs.every((i) => i.startsWith("raw:")) ? "raw package" : "upstream product"
  lines.push(
    d.inputCount === 0
      ? "  inputs: none yet"
      : `  inputs: ${d.inputCount} ${kinds}${d.inputCount === 1 ? "" : "s"}${d.inputIdentity === null ? "" : `, identity ${d.inputIdentity.slice(0, 12)}`}`
  )
  if (prev !== null) {
    const before = new Set(x.previousInputs)
    const added = inputs.filter((i) => !before.has(i)).length
    const removed = x.previousInputs.filter((i) => !inputs.includes(i)).length
    lines.push(
      `  previous run ${prev.id}: ${prev.status} (${prev.reason}), created ${utcMinutes(prev.created_at)}, ${x.previousInputs.length} input${x.previousInputs.length === 1 ? "" : "s"}` +
        (added + removed > 0 ? `; since then ${added} added, ${removed} gone` : "; same input set")
    )
    const changes = [
      ...configDiff(prev.config, step.config),
      ...(prev.software_version === step.software.version
        ? []
        : [`software ${step.software.name}: ${prev.software_version} → ${step.software.version} (version_policy ${step.versionPolicy})`]),
      ...(prev.image === step.software.image ? [] : [`image: ${prev.image} → ${step.software.image}`])
    ]
    if (changes.length > 0) lines.push("  what changed since that run:", ...changes.map((c) => `    ${c}`))
    if (changes.length > 0 && (d.reason === "UP_TO_DATE" || d.reason === "NEW_DATA" || d.reason === "UPSTREAM_CHANGED")) {
      lines.push(
        `    (the fingerprint is unchanged: under version_policy ${step.versionPolicy} only the ${step.software.fingerprintVersion} part of the version counts)`
      )
    }
  } else {
    lines.push("  no earlier run of this sub-group")
  }
  switch (d.reason) {
    case "COOLDOWN":
      if (d.cooldownUntil !== null) {
        const left = d.cooldownUntil.getTime() - now.getTime()
        // Below a minute the minute alone says too little: "at 10:30 (in 20s)" for 10:30:40.
        const at = left < 60_000 ? utcSeconds(new Date(Math.ceil(d.cooldownUntil.getTime() / 1000) * 1000)) : utcMinutes(d.cooldownUntil)
        lines.push(`  cooldown ${duration((step.cooldownSeconds ?? 0) * 1000)}: the next run may start at ${at} (in ${duration(left)}).`)
      }
      break
    case "WAITING_UPSTREAM": {
      if (d.rebuildRunIds.length > 0) {
        // Not waiting for work in flight: for products whose files were purged to be made again.
        lines.push(
          `  reads products of ${d.rebuildRunIds.length} upstream run${d.rebuildRunIds.length === 1 ? "" : "s"} whose files were purged; waits for them to be made again (INPUT_PURGED):`
        )
        for (const id of d.rebuildRunIds.slice(0, 5)) lines.push(`    ${runRef(id)}`)
        break
      }
      // Upstream runs the same pass creates are waited for as well: named, not numbered.
      const waitedFor = d.upstreamRunIds.filter((id) => byId.has(id) && !["FAILED", "CANCELLED"].includes(byId.get(id)!.status))
      const creating = waitedFor.some(created) ? ", or that would be created now" : ""
      lines.push(
        `  waits for ${d.upstreamInFlight} upstream run${d.upstreamInFlight === 1 ? "" : "s"} still pending or running${creating}:`
      )
      for (const id of waitedFor) lines.push(`    ${runRef(id)}`)
      break
    }
    case "IN_FLIGHT":
    case "AFTER_IN_FLIGHT":
      if (d.inFlightRunId !== null && byId.has(d.inFlightRunId)) lines.push(`  in flight: ${runRef(d.inFlightRunId)}`)
      break
    case "FAILED_FINAL":
    case "CANCELLED":
      lines.push(`  it reopens when its inputs or definition change, or with \`ccat run ${pipeline.name} --step ${step.name}\`.`)
      break
  }
  if (x.notAdopted.length > 0) {
    lines.push("  jobs found under its runs' names that are not theirs (reported, never adopted):")
    for (const e of x.notAdopted) lines.push(`    run ${e.runId}: ${e.reason.replace(/^NOT_ADOPTED: /, "")}`)
  }
  if (d.upstreamFailed > 0) {
    lines.push(
      `  ${d.upstreamFailed} upstream run${d.upstreamFailed === 1 ? "" : "s"} failed for good and ${d.upstreamFailed === 1 ? "is" : "are"} left out, not waited for:`
    )
    for (const id of d.upstreamRunIds) {
      if (["FAILED", "CANCELLED"].includes(byId.get(id)?.status ?? "")) lines.push(`    ${runRef(id)}`)
    }
  }
  return { lines, decision: d }
}

const summaryLines = (pipeline: IrPipeline, step: IrStep, decisions: ReadonlyArray<StepDecision>): Array<string> => {
  const runs = decisions.filter((d) => d.creates).length
  const lines = [
    `${pipeline.name}.${step.name}: ${decisions.length} sub-group${decisions.length === 1 ? "" : "s"} (group_by ${step.groupBy.join(", ")}); ${runs} run${runs === 1 ? "" : "s"} would be created now.`
  ]
  for (const reason of [...createReasons, ...holdReasons]) {
    const of = decisions.filter((d) => d.reason === reason)
    if (of.length === 0) continue
    const examples = of
      .slice(0, 3)
      .map((d) => d.subGroupKey)
      .join(", ")
    lines.push(
      `  ${reason.padEnd(17)} ${String(of.length).padStart(6)}  ${reasonDescriptions[reason]}`,
      `  ${"".padEnd(24)}e.g. ${examples}${of.length > 3 ? ", …" : ""}`
    )
  }
  if (decisions.length > 0) lines.push(`Ask about one sub-group: ccat why ${pipeline.name}.${step.name} <sub_group_key>`)
  return lines
}

export interface WhyDecision {
  readonly subGroupKey: string
  /** The reason code (reasons.ts). */
  readonly reason: ReasonCode
  readonly creates: boolean
  /** The reason's words, as `ccat plan` and `ccat why` print them. */
  readonly description: string
}

/** `ccat why --json`: the explanation's lines and the decisions they explain. */
export interface WhyReport {
  readonly pipeline: string
  readonly step: string
  readonly subGroupKey: string | null
  /** Exactly what `ccat why` prints, one line each. */
  readonly lines: ReadonlyArray<string>
  /** Every sub-group's decision for a step; for one sub-group its own, or none when the step has no such sub-group. */
  readonly decisions: ReadonlyArray<WhyDecision>
  /** How many of the decisions carry each reason code (only the codes that occur, in the order the text lists them). */
  readonly counts: Readonly<Partial<Record<ReasonCode, number>>>
}

export type WhyError = SqlError.SqlError | UnknownPipeline | UnknownStep | NothingApplied | AppliedDefinitionsError | StoredDefinitionsError

const report = (
  target: { readonly pipeline: string; readonly step: string; readonly subGroupKey: string | null },
  lines: ReadonlyArray<string>,
  decided: ReadonlyArray<StepDecision>
): WhyReport => {
  const decisions = decided.map((d) => ({
    subGroupKey: d.subGroupKey,
    reason: d.reason,
    creates: d.creates,
    description: reasonDescriptions[d.reason]
  }))
  // In the order the text lists them: codes that create a run first, each in precedence order.
  const tally = new Map<ReasonCode, number>()
  for (const d of decisions) tally.set(d.reason, (tally.get(d.reason) ?? 0) + 1)
  const counts: Partial<Record<ReasonCode, number>> = {}
  for (const reason of [...createReasons, ...holdReasons]) {
    const n = tally.get(reason)
    if (n !== undefined) counts[reason] = n
  }
  return { ...target, lines, decisions, counts }
}

/** The explanation, as lines and as the decisions behind them. */
export const whyReport = (target: WhyTarget): Effect.Effect<WhyReport, WhyError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const ir = yield* appliedIr
    if (ir === null) return yield* new NothingApplied()
    const pipeline = ir.pipelines.find((p) => p.name === target.pipeline)
    if (pipeline === undefined) return yield* new UnknownPipeline({ name: target.pipeline, known: ir.pipelines.map((p) => p.name) })
    const step = pipeline.steps.find((s) => s.name === target.step)
    if (step === undefined)
      return yield* new UnknownStep({ pipeline: pipeline.name, name: target.step, known: pipeline.steps.map((s) => s.name) })
    const named = { pipeline: pipeline.name, step: step.name, subGroupKey: target.subGroupKey }
    const selection = ir.groupings.find((g) => g.name === pipeline.data)?.selection ?? null
    const lines: Array<string> = []
    if (!pipeline.enabled)
      lines.push(`Pipeline ${pipeline.name} is disabled (\`enabled false\`): the trigger does not evaluate it. Were it enabled:`)
    const requested = pipeline.trigger.mode !== "continuous"
    const explain = { step: step.name, subGroupKey: target.subGroupKey ?? undefined }
    const [summary, inspected] = yield* previewPassWith(
      // One sub-group: from the loop's memory, that sub-group decided again (and the dirty ones).
      {
        only: { pipeline: pipeline.name },
        explain,
        asIfRequested: requested ? { force: false } : undefined,
        location: null,
        fromMemory: true
      },
      (s: PassSummary) => {
        const o = s.steps.find((x) => x.step === step.name)
        return inspect(s, o?.stepId ?? 0, o?.decisions?.[0])
      }
    )
    const outcome = summary.steps.find((o) => o.step === step.name)
    if (outcome === undefined) {
      lines.push(`${pipeline.name}.${step.name} was not evaluated: the pipeline is disabled or not yet applied in full.`)
      return report(named, lines, [])
    }
    if (requested) {
      lines.push(
        pipeline.trigger.mode === "cron"
          ? `${pipeline.name} runs at its cron ticks ("${pipeline.trigger.cron}", ${pipeline.trigger.timezone ?? "UTC"}) or when asked; at a tick or after \`ccat run ${pipeline.name}\`:`
          : `${pipeline.name} is triggered by hand; after \`ccat run ${pipeline.name}\`:`
      )
    }
    const decisions = outcome.decisions ?? []
    if (target.subGroupKey === null) return report(named, [...lines, ...summaryLines(pipeline, step, decisions)], decisions)
    const decision = decisions[0]
    if (decision === undefined) {
      lines.push(`${pipeline.name}.${step.name} has no sub-group \`${target.subGroupKey}\` now.`)
      const known = yield* previewPassWith(
        { only: { pipeline: pipeline.name }, explain: { step: step.name }, asIfRequested: requested ? { force: false } : undefined },
        () => Effect.void
      )
      const keys = (known[0].steps.find((o) => o.step === step.name)?.decisions ?? []).map((d) => d.subGroupKey)
      lines.push(...(yield* explainMissing(pipeline, step, selection, target.subGroupKey, keys)))
      return report(named, lines, [])
    }
    const explained = explainDecision(pipeline, step, decision, inspected, summary)
    return report(named, [...lines, ...explained.lines], [explained.decision])
  })

/** The explanation as lines of text: what `ccat why` prints. */
export const explainWhy = (target: WhyTarget): Effect.Effect<ReadonlyArray<string>, WhyError, SqlClient.SqlClient> =>
  Effect.map(whyReport(target), (r) => r.lines)
