import type * as A from "./ast.ts"
import { BlockView, describeValue, formatDuration, type Located } from "./blocks.ts"
import { checkEntries } from "./check-location.ts"
import { checkOutputs } from "./check-outputs.ts"
import { checkRetries } from "./check-retries.ts"
import { isValidTimeZone, validateCron } from "./cron.ts"
import type { DiagnosticSink } from "./diagnostics.ts"
import type { Json, JsonObject, PipelineModel, ResourcesModel, SoftwareModel, StepModel, TriggerModel } from "./model.ts"
import { resourceKeys, triggerModes, versionPolicies } from "./properties.ts"
import { dimensions, findDimension, nestsIn } from "./schema-registry.ts"
import { formatRange, formatVersion, parseRange, resolveNewest, type RangeOperator, type VersionRange } from "./semver.ts"
import { subSpan, type Span } from "./span.ts"
import { didYouMeanText, suggest } from "./suggest.ts"
import { resolveReference, type SymbolTable } from "./symbols.ts"

export interface PipelineCheckContext {
  readonly symbols: SymbolTable
  readonly software: ReadonlyMap<string, SoftwareModel>
  readonly sink: DiagnosticSink
  readonly loopIntervalSeconds: number
}

export const checkPipeline = (decl: A.Declaration, ctx: PipelineCheckContext): PipelineModel | undefined => {
  const { sink } = ctx
  const view = new BlockView("pipeline", decl.name, decl.span, decl.properties, sink)
  const data = view.name("data")
  if (data !== undefined) resolveReference(ctx.symbols, sink, "grouping", data)
  const location = view.name("location")
  if (location !== undefined) resolveReference(ctx.symbols, sink, "location", location)
  const trigger = checkTrigger(view.get("trigger"), sink)
  const priority = view.integer("priority")
  if (priority !== undefined && Math.abs(priority.value) > 1000) {
    sink.report("E080", priority.span, { what: "`priority`", range: "between -1000 and 1000", found: `\`${priority.value}\`` })
  }
  const enabled = view.boolean("enabled")
  const pipelineName = decl.name?.text ?? "?"

  const stepDecls = view.all("step").flatMap((p) => (p.kind === "step" ? [p.step] : []))
  if (stepDecls.length === 0 && decl.name !== undefined) {
    sink.report(
      "E044",
      decl.name.span,
      { name: decl.name.text },
      { help: "add a step, e.g. `step reduce { run my_software ^1.0  group_by executed_obs_unit }`" }
    )
  }
  const byName = new Map<string, A.StepDeclaration>()
  for (const s of stepDecls) {
    if (s.name === undefined) continue
    const first = byName.get(s.name.text)
    if (first !== undefined) {
      sink.report(
        "E010",
        s.name.span,
        { kind: "step", name: s.name.text, scope: `pipeline \`${pipelineName}\`` },
        {
          related: [{ span: first.name!.span, message: "first declared here" }]
        }
      )
    } else byName.set(s.name.text, s)
  }

  const steps: Array<StepModel> = []
  const afterRefs = new Map<string, ReadonlyArray<Located<string>>>()
  const groupBySpans = new Map<string, Span>()
  let stepsFailed = false
  for (const s of byName.values()) {
    const checked = checkStep(s, pipelineName, byName, ctx)
    afterRefs.set(s.name!.text, checked.after)
    if (checked.groupBySpan !== undefined) groupBySpans.set(s.name!.text, checked.groupBySpan)
    if (checked.model === undefined) stepsFailed = true
    else steps.push(checked.model)
  }
  const acyclic = checkCycles(afterRefs, sink)
  if (acyclic) checkNesting(steps, groupBySpans, sink)

  if (decl.name === undefined || data === undefined || location === undefined || trigger === undefined || stepsFailed || !acyclic)
    return undefined
  return {
    name: decl.name.text,
    span: decl.span,
    description: view.string("description")?.value ?? null,
    data: data.value,
    location: location.value,
    trigger,
    priority: priority?.value ?? 0,
    enabled: enabled?.value ?? true,
    steps
  }
}

const checkTrigger = (property: A.Property | undefined, sink: DiagnosticSink): TriggerModel | undefined => {
  if (property === undefined || property.kind !== "trigger" || property.mode === undefined) return undefined
  const mode = property.mode.text
  if (!(triggerModes as ReadonlyArray<string>).includes(mode)) {
    const close = suggest(mode, triggerModes)
    sink.report(
      "E053",
      property.mode.span,
      { word: mode },
      {
        help: didYouMeanText(close) ?? 'triggers: `continuous`, `cron "0 3 * * *"`, `manual`',
        fixes: close === undefined ? [] : [{ title: `Replace with \`${close}\``, span: property.mode.span, replacement: close }]
      }
    )
    return undefined
  }
  if (mode !== "cron") return { mode: mode as "continuous" | "manual", cron: null, timezone: null }
  const schedule = property.schedule
  if (schedule === undefined) return undefined
  if (schedule.kind !== "string") {
    sink.report("E024", schedule.span, {
      keyword: "cron",
      expected: 'a cron expression in quotes, such as `"0 3 * * *"`',
      found: describeValue(schedule)
    })
    return undefined
  }
  let ok = true
  const { problems } = validateCron(schedule.value)
  // Offsets inside the expression map onto the literal only when no escape shifted them.
  const exact = schedule.raw === `"${schedule.value}"`
  for (const problem of problems) {
    const span = exact ? subSpan(schedule.span, problem.start + 1, problem.end + 1) : schedule.span
    if (problem.kind === "malformed") sink.report("E050", span, { detail: problem.message }, { help: problem.help })
    else sink.report("E051", span, { detail: problem.message }, { help: problem.help })
    ok = false
  }
  let timezone: string | null = null
  const tz = property.timezone
  if (tz !== undefined) {
    if (tz.kind !== "string") {
      sink.report("E024", tz.span, { keyword: "timezone", expected: 'a time zone in quotes, such as `"UTC"`', found: describeValue(tz) })
      ok = false
    } else if (!isValidTimeZone(tz.value)) {
      const close = suggest(tz.value, ["UTC", ...Intl.supportedValuesOf("timeZone")])
      sink.report(
        "E052",
        tz.span,
        { zone: tz.value },
        {
          help: didYouMeanText(close, { as: "string" }) ?? 'use an IANA name such as `"UTC"` or `"America/Santiago"`',
          fixes: close === undefined ? [] : [{ title: `Replace with "${close}"`, span: tz.span, replacement: `"${close}"` }]
        }
      )
      ok = false
    } else timezone = tz.value
  }
  return ok ? { mode: "cron", cron: schedule.value, timezone: timezone ?? "UTC" } : undefined
}

interface CheckedStep {
  readonly model: StepModel | undefined
  readonly after: ReadonlyArray<Located<string>>
  readonly groupBySpan: Span | undefined
}

const checkStep = (
  decl: A.StepDeclaration,
  pipeline: string,
  steps: ReadonlyMap<string, A.StepDeclaration>,
  ctx: PipelineCheckContext
): CheckedStep => {
  const { sink } = ctx
  const view = new BlockView("step", decl.name, decl.span, decl.properties, sink)
  const name = decl.name!.text

  const after: Array<Located<string>> = []
  const seenAfter = new Set<string>()
  for (const a of view.names("after")) {
    if (seenAfter.has(a.value)) {
      sink.report("W006", a.span, { what: `step \`${a.value}\`` })
      continue
    }
    seenAfter.add(a.value)
    if (!steps.has(a.value)) {
      const close = suggest(a.value, steps.keys())
      sink.report(
        "E011",
        a.span,
        { kind: "step", name: a.value, scope: `pipeline \`${pipeline}\`` },
        {
          help: didYouMeanText(close) ?? `steps of \`${pipeline}\`: ${[...steps.keys()].map((s) => `\`${s}\``).join(", ")}`,
          fixes: close === undefined ? [] : [{ title: `Replace with \`${close}\``, span: a.span, replacement: close }]
        }
      )
      continue
    }
    ctx.symbols.references.push({ kind: "step", name: a.value, scope: pipeline, span: a.span })
    after.push(a)
  }

  const run = checkRun(view.get("run"), ctx)
  const groupByProperty = view.get("group_by")
  const groupBy = checkGroupBy(view.names("group_by"), sink)

  const cooldown = view.duration("cooldown")
  if (cooldown !== undefined && cooldown.value < ctx.loopIntervalSeconds) {
    sink.report(
      "W001",
      cooldown.span,
      { cooldown: formatDuration(cooldown.value), interval: formatDuration(ctx.loopIntervalSeconds) },
      {
        help: `the trigger loop decides at most once per pass, and runs a pass at least every ${formatDuration(ctx.loopIntervalSeconds)} (\`CCAT_TRIGGER_INTERVAL\`): write \`cooldown ${formatDuration(ctx.loopIntervalSeconds)}\` or more, or leave it out`
      }
    )
  }
  const configProperty = view.get("config")
  const checkedConfig =
    configProperty?.kind === "config" && configProperty.map !== undefined
      ? checkConfig(configProperty.map, sink)
      : { config: {}, valid: true }
  const config = checkedConfig.config

  const resourcesProperty = view.get("resources")
  const entries = resourcesProperty?.kind === "resources" ? resourcesProperty.entries : []
  const r = checkEntries(entries, resourceKeys, sink, (word) => ({ code: "E081", params: { word, block: "resource" } }))
  const resources: ResourcesModel = {
    cpus: (r["cpus"] as number | undefined) ?? null,
    memoryBytes: (r["memory"] as number | undefined) ?? null,
    timeSeconds: (r["time"] as number | undefined) ?? null,
    partition: (r["partition"] as string | undefined) ?? null,
    gpus: (r["gpus"] as number | undefined) ?? null
  }

  const outputsProperty = view.get("outputs")
  const outputs = outputsProperty?.kind === "outputs" ? checkOutputs(outputsProperty, name, sink) : null

  const timeout = view.duration("timeout")
  // `time` grows the step's `timeout` too (the batch script's time limit when set): either is a base.
  const retries = checkRetries(
    view.get("retries"),
    name,
    { ...resources, timeSeconds: resources.timeSeconds ?? timeout?.value ?? null },
    sink
  )
  const policy = view.name("version_policy")
  if (policy !== undefined && !(versionPolicies as ReadonlyArray<string>).includes(policy.value)) {
    const close = suggest(policy.value, versionPolicies)
    sink.report(
      "E024",
      policy.span,
      { keyword: "version_policy", expected: "`compatible` or `exact`", found: `\`${policy.value}\`` },
      {
        help: didYouMeanText(close),
        fixes: close === undefined ? [] : [{ title: `Replace with \`${close}\``, span: policy.span, replacement: close }]
      }
    )
  }
  const finalFlag = view.get("final")
  const fanOut = view.get("fan_out")

  // With a broken config, missing keys would only echo the config's own errors.
  if (run !== undefined && checkedConfig.valid) checkPlaceholders(run, config, name, sink)

  const model: StepModel | undefined =
    run === undefined || groupBy === undefined || groupByProperty === undefined
      ? undefined
      : {
          name,
          span: decl.span,
          description: view.string("description")?.value ?? null,
          after: after.map((a) => a.value),
          software: run.software.name,
          range: run.range,
          resolvedVersion: run.resolved,
          groupBy,
          cooldownSeconds: cooldown?.value ?? null,
          config,
          resources,
          retries: retries.retries,
          retryOn: retries.retryOn,
          retryAdjust: retries.retryAdjust,
          timeoutSeconds: timeout?.value ?? null,
          versionPolicy: (policy?.value as "compatible" | "exact" | undefined) ?? "compatible",
          final: finalFlag?.kind === "flag" ? finalFlag.value : null,
          fanOut: fanOut?.kind === "flag" ? fanOut.value : false,
          outputs
        }
  return { model, after, groupBySpan: groupByProperty?.span }
}

interface CheckedRun {
  readonly software: SoftwareModel
  readonly range: VersionRange
  readonly resolved: NonNullable<ReturnType<typeof resolveNewest>>
  readonly softwareSpan: Span
}

const checkRun = (property: A.Property | undefined, ctx: PipelineCheckContext): CheckedRun | undefined => {
  if (property === undefined || property.kind !== "run" || property.software === undefined) return undefined
  const { sink } = ctx
  const ref = { value: property.software.text, span: property.software.span }
  const decl = resolveReference(ctx.symbols, sink, "software", ref)
  const rangeNode = property.range
  // `run tool ^` with the version missing: a syntax error, already reported.
  if (rangeNode !== undefined && rangeNode.version === null && rangeNode.operator !== "*") return undefined
  const operator = (rangeNode === undefined ? "*" : rangeNode.operator === "" ? "=" : rangeNode.operator) as RangeOperator
  const range = parseRange(operator, rangeNode?.version ?? null)
  if (range === null) {
    sink.report("E063", rangeNode!.span, { range: rangeNode!.raw }, { help: "ranges look like `^2.3`, `~0.9`, `=0.9.2`, `>=1.0` or `*`" })
    return undefined
  }
  const software = decl === undefined ? undefined : ctx.software.get(ref.value)
  if (software === undefined) return undefined
  const resolved = resolveNewest(software.versions, range)
  if (resolved === null && !software.allVersionsValid) return undefined // E061 says why
  if (resolved === null) {
    const declared = software.versions.map(formatVersion)
    sink.report(
      "E060",
      rangeNode?.span ?? property.software.span,
      { software: software.name, range: formatRange(range) },
      {
        notes: declared.length > 0 ? `declared versions: ${declared.join(", ")}` : `\`${software.name}\` declares no valid versions`,
        help: declared.length > 0 ? `to use the newest, write \`^${declared[declared.length - 1]}\`` : undefined,
        related: [{ span: software.span, message: `\`${software.name}\` is declared here` }]
      }
    )
    return undefined
  }
  return { software, range, resolved, softwareSpan: property.software.span }
}

const checkGroupBy = (dims: ReadonlyArray<Located<string>>, sink: DiagnosticSink): ReadonlyArray<string> | undefined => {
  const out: Array<string> = []
  let ok = dims.length > 0
  for (const d of dims) {
    if (findDimension(d.value) === undefined) {
      const close = suggest(
        d.value,
        dimensions.map((x) => x.name)
      )
      sink.report(
        "E042",
        d.span,
        { dimension: d.value },
        {
          help: didYouMeanText(close) ?? `dimensions: ${dimensions.map((x) => `\`${x.name}\``).join(", ")}`,
          fixes: close === undefined ? [] : [{ title: `Replace with \`${close}\``, span: d.span, replacement: close }]
        }
      )
      ok = false
    } else if (out.includes(d.value)) {
      sink.report("W006", d.span, { what: `dimension \`${d.value}\`` })
    } else out.push(d.value)
  }
  if (out.includes("all") && out.length > 1) {
    sink.report(
      "E043",
      dims.find((d) => d.value === "all")!.span,
      {},
      { help: "`group_by all` makes one sub-group of everything; remove `all` or the other dimensions" }
    )
    ok = false
  }
  return ok ? out : undefined
}

/** Config values must be JSON: strings, numbers, booleans, lists and maps. */
export const checkConfig = (value: A.Value, sink: DiagnosticSink): { config: JsonObject; valid: boolean } => {
  let valid = true
  const toJson = (v: A.Value): Json | undefined => {
    switch (v.kind) {
      case "string":
        return v.value
      case "integer":
      case "decimal":
        return v.value
      case "boolean":
        return v.value
      case "list": {
        const items = v.items.map(toJson)
        return items.filter((i): i is Json => i !== undefined)
      }
      case "map": {
        const out: Record<string, Json> = {}
        const seen = new Map<string, Span>()
        if (v.incomplete) valid = false
        for (const e of v.entries) {
          // A dotted key was reported when it was parsed (E075).
          if (e.dotted) valid = false
          const first = seen.get(e.key.text)
          if (first !== undefined) {
            sink.report("E073", e.key.span, { key: e.key.text }, { related: [{ span: first, message: "first given here" }] })
            valid = false
            continue
          }
          seen.set(e.key.text, e.key.span)
          const j = toJson(e.value)
          if (j !== undefined) out[e.key.text] = j
        }
        return out
      }
      case "identifier":
        valid = false
        sink.report("E072", v.span, { found: describeValue(v) }, { help: `write text in quotes: \`"${v.raw}"\`` })
        return undefined
      default:
        valid = false
        sink.report(
          "E072",
          v.span,
          { found: describeValue(v) },
          {
            help: `write it as a string (\`"${v.raw}"\`) or as a number in the unit the program expects`
          }
        )
        return undefined
    }
  }
  const json = toJson(value)
  const config = json !== undefined && typeof json === "object" && json !== null && !Array.isArray(json) ? (json as JsonObject) : {}
  return { config, valid }
}

const checkPlaceholders = (run: CheckedRun, config: JsonObject, step: string, sink: DiagnosticSink): void => {
  for (const p of run.software.placeholders) {
    if (p.configPath === null) continue
    let node: Json | undefined = config
    for (const key of p.configPath) {
      node = node !== null && typeof node === "object" && !Array.isArray(node) ? (node as JsonObject)[key] : undefined
    }
    if (node === undefined) {
      const keys = Object.keys(config)
      const close = suggest(p.configPath.join("."), keys)
      sink.report(
        "E070",
        run.softwareSpan,
        { key: p.configPath.join("."), step },
        {
          related: [{ span: p.span, message: "the placeholder is here" }],
          help:
            didYouMeanText(close, { note: "(the config key and the placeholder must match)" }) ??
            `add it: \`config { ${nestedExample(p.configPath)} }\``
        }
      )
    }
  }
}

const nestedExample = (path: ReadonlyArray<string>): string =>
  path.length === 1 ? `${path[0]} = …` : `${path[0]} = { ${nestedExample(path.slice(1))} }`

/**
 * Reports each cycle of `after` edges once, naming it; returns whether the graph is acyclic.
 * A depth-first search with a stack of its own: a chain of thousands of steps, each `after` the
 * one before, must not recurse once per step (nor copy the path at each).
 */
const checkCycles = (edges: ReadonlyMap<string, ReadonlyArray<Located<string>>>, sink: DiagnosticSink): boolean => {
  const state = new Map<string, "visiting" | "done">()
  let acyclic = true
  const path: Array<string> = []
  const next: Array<number> = []
  const enter = (step: string): void => {
    state.set(step, "visiting")
    path.push(step)
    next.push(0)
  }
  for (const root of [...edges.keys()].sort()) {
    if (state.has(root)) continue
    enter(root)
    while (path.length > 0) {
      const top = path.length - 1
      const step = path[top]!
      const ups = edges.get(step) ?? []
      const i = next[top]!
      if (i >= ups.length) {
        state.set(step, "done")
        path.pop()
        next.pop()
        continue
      }
      next[top] = i + 1
      const up = ups[i]!
      const s = state.get(up.value)
      if (s === "visiting") {
        const cycle = [...path.slice(path.indexOf(up.value)), up.value]
        const named = up.value === step ? [step, step] : cycle
        sink.report(
          "E040",
          up.span,
          { cycle: named.map((n) => `\`${n}\``).join(" → ") },
          {
            help: up.value === step ? "a step cannot come after itself" : "remove one of these `after` edges"
          }
        )
        acyclic = false
      } else if (s === undefined) enter(up.value)
    }
  }
  return acyclic
}

const checkNesting = (steps: ReadonlyArray<StepModel>, groupBySpans: ReadonlyMap<string, Span>, sink: DiagnosticSink): void => {
  const byName = new Map(steps.map((s) => [s.name, s]))
  for (const step of steps) {
    if (step.fanOut) continue
    for (const upName of step.after) {
      const up = byName.get(upName)
      if (up === undefined || nestsIn(up.groupBy, step.groupBy)) continue
      const span = groupBySpans.get(step.name)!
      sink.report(
        "E041",
        span,
        { step: step.name, groupBy: step.groupBy.join(", "), upstream: up.name, upstreamGroupBy: up.groupBy.join(", ") },
        {
          related: groupBySpans.has(up.name)
            ? [{ span: groupBySpans.get(up.name)!, message: `\`${up.name}\` groups by ${up.groupBy.join(", ")}` }]
            : [],
          notes: "each sub-group of an upstream step must fall inside one sub-group of the steps after it",
          help: "group this step more coarsely, or add `fan_out` to give every sub-group all upstream products that overlap it"
        }
      )
      break
    }
  }
}
