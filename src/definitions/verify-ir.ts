import { canonicalJson } from "../compiler/canonical-json.ts"
import { effectiveFilters } from "../compiler/check-grouping.ts"
import { DiagnosticSink } from "../compiler/diagnostics.ts"
import type { IrWorkspace } from "../compiler/ir.ts"
import { lowerWorkspace } from "../compiler/lower.ts"
import type { GroupingModel, LocationModel, PipelineModel, SoftwareModel, StepModel } from "../compiler/model.ts"
import { formatVersion, parseRange, parseVersion, resolveNewest, type RangeOperator, type VersionRange } from "../compiler/semver.ts"

/*
 * Is this IR what the compiler makes of it? Every hash, fingerprint and derived field of an IR
 * (a step's fingerprint, image and command, a grouping's selection, each entity's hash, the
 * workspace's hash) follows from the declared fields. An IR that was edited by hand (a saved
 * plan whose config value was changed, its hashes left alone) breaks that, and applying it
 * would store a fingerprint its definition does not produce: runs would be matched to the
 * wrong config.
 *
 * The check lowers the IR's own declared fields again with the compiler's lowering
 * (src/compiler/lower.ts) and compares field by field, so it can never drift from how the
 * compiler hashes. Each mismatch is named where it arises: a changed config is "the
 * fingerprint of step p.s", not also the hashes of the step, its pipeline and the workspace
 * that follow from it.
 */

const rangeOperators: ReadonlyArray<RangeOperator> = [">=", "<=", "^", "~", "=", ">", "<"]

/** A range as the IR writes it (`^2.3`, `=0.9.2`, `*`): always with its operator. */
const parseRangeText = (text: string): VersionRange | null => {
  if (text === "*") return parseRange("*", null)
  const operator = rangeOperators.find((op) => text.startsWith(op))
  return operator === undefined ? null : parseRange(operator, text.slice(operator.length))
}

const duplicates = (names: ReadonlyArray<string>): Array<string> => [...new Set(names.filter((n, i) => names.indexOf(n) !== i))]

const same = (a: unknown, b: unknown): boolean => canonicalJson(a) === canonicalJson(b)

/** The top-level keys whose values differ, by name. */
const differingKeys = (given: object, recomputed: object, skip: ReadonlyArray<string>): Array<string> => {
  const g = given as Record<string, unknown>
  const r = recomputed as Record<string, unknown>
  return [...new Set([...Object.keys(g), ...Object.keys(r)])].filter((k) => !skip.includes(k) && !same(g[k], r[k])).sort()
}

/**
 * What differs in one entity. A hash that differs alone means a hashed field was edited (or the
 * hash); beside other differing fields it only follows from them and is not named.
 */
const entityMismatches = (label: string, given: object, recomputed: object, skip: ReadonlyArray<string> = []): Array<string> => {
  const keys = differingKeys(given, recomputed, ["span", ...skip])
  if (keys.length === 0) return []
  if (keys.length === 1 && keys[0] === "hash") return [`the hash of ${label} (its fields give another)`]
  return keys
    .filter((k) => k !== "hash")
    .map((k) =>
      k === "fingerprint"
        ? `the fingerprint of ${label} (its software, command and config give another)`
        : k === "selection"
          ? `the selection of ${label} (its from and where give another)`
          : `the ${k} of ${label} (the rest of the IR gives another)`
    )
}

/** What the IR's references need before it can be lowered at all; empty when it can. */
const structuralProblems = (ir: IrWorkspace): Array<string> => {
  const out: Array<string> = []
  for (const [kind, names] of [
    ["location", ir.locations.map((x) => x.name)],
    ["software", ir.software.map((x) => x.name)],
    ["grouping", ir.groupings.map((x) => x.name)],
    ["pipeline", ir.pipelines.map((x) => x.name)]
  ] as const) {
    for (const name of duplicates(names)) out.push(`${kind} ${name} is declared twice`)
  }
  const groupings = new Map(ir.groupings.map((g) => [g.name, g]))
  for (const g of ir.groupings) {
    const seen = new Set<string>([g.name])
    for (let from = g.from; from !== null; from = groupings.get(from)?.from ?? null) {
      if (!groupings.has(from)) {
        out.push(`grouping ${g.name} inherits from ${from}, which the IR does not declare`)
        break
      }
      if (seen.has(from)) {
        out.push(`grouping ${g.name} inherits from itself`)
        break
      }
      seen.add(from)
    }
  }
  const software = new Map(ir.software.map((s) => [s.name, s]))
  for (const s of ir.software)
    for (const v of s.versions)
      if (parseVersion(v) === null) out.push(`software ${s.name} declares ${JSON.stringify(v)}, which is not a version`)
  for (const p of ir.pipelines) {
    if (!groupings.has(p.data)) out.push(`pipeline ${p.name} reads grouping ${p.data}, which the IR does not declare`)
    if (!ir.locations.some((l) => l.name === p.location))
      out.push(`pipeline ${p.name} runs at location ${p.location}, which the IR does not declare`)
    const stepNames = p.steps.map((s) => s.name)
    for (const name of duplicates(stepNames)) out.push(`step ${p.name}.${name} is declared twice`)
    for (const s of p.steps) {
      const label = `step ${p.name}.${s.name}`
      for (const a of s.after) if (!stepNames.includes(a)) out.push(`${label} comes after ${a}, which pipeline ${p.name} does not declare`)
      if (!software.has(s.software.name)) out.push(`${label} runs software ${s.software.name}, which the IR does not declare`)
      if (parseRangeText(s.software.range) === null)
        out.push(`${label} runs version range ${JSON.stringify(s.software.range)}, which is not a range`)
      else if (software.get(s.software.name)?.versions.includes(s.software.version) === false)
        out.push(`${label} runs version ${s.software.version}, which software ${s.software.name} does not declare`)
    }
  }
  return out
}

/** The IR's declared fields as the checked model the compiler lowers. */
const modelsOf = (ir: IrWorkspace) => {
  const locations: Array<LocationModel> = ir.locations.map((l) => ({
    name: l.name,
    span: l.span,
    description: l.description,
    site: l.site,
    backend: { kind: l.backend.kind, options: l.backend.options },
    baseDir: l.baseDir,
    purgeAbovePercent: l.purgeAbovePercent,
    containerRuntime: l.containerRuntime
  }))
  const software: Array<SoftwareModel> = ir.software.map((s) => ({
    name: s.name,
    span: s.span,
    description: s.description,
    image: s.image,
    versions: s.versions.map((v) => parseVersion(v)!),
    allVersionsValid: true,
    command: s.command,
    // Only checking uses them; lowering does not.
    placeholders: []
  }))
  const softwareByName = new Map(software.map((s) => [s.name, s]))
  const groupings = new Map<string, GroupingModel>(
    ir.groupings.map((g) => [g.name, { name: g.name, span: g.span, description: g.description, from: g.from, where: g.where }])
  )
  // The selection is derived from `from` and `where` by the compiler's own rule.
  const selections = effectiveFilters(groupings, new Map(), new DiagnosticSink())
  const pipelines: Array<PipelineModel> = ir.pipelines.map((p) => ({
    name: p.name,
    span: p.span,
    description: p.description,
    data: p.data,
    location: p.location,
    trigger: p.trigger,
    priority: p.priority,
    enabled: p.enabled,
    steps: p.steps.map(
      (s): StepModel => ({
        name: s.name,
        span: s.span,
        description: s.description,
        after: s.after,
        software: s.software.name,
        range: parseRangeText(s.software.range)!,
        resolvedVersion: softwareByName.get(s.software.name)!.versions.find((v) => formatVersion(v) === s.software.version)!,
        groupBy: s.groupBy,
        cooldownSeconds: s.cooldownSeconds,
        config: s.config,
        resources: s.resources,
        retries: s.retries,
        // Left out of the IR when not written, null in the model (see IrStep).
        retryOn: s.retryOn ?? null,
        retryAdjust: s.retryAdjust ?? null,
        timeoutSeconds: s.timeoutSeconds,
        versionPolicy: s.versionPolicy,
        final: s.final,
        fanOut: s.fanOut,
        outputs: s.outputs ?? null
      })
    )
  }))
  return { locations, software, softwareByName, groupings, selections, pipelines }
}

const checkIr = (ir: IrWorkspace): ReadonlyArray<string> => {
  const structural = structuralProblems(ir)
  if (structural.length > 0) return structural
  const models = modelsOf(ir)
  const again = lowerWorkspace({
    locations: models.locations,
    software: models.software,
    groupings: [...models.groupings.values()].map((model) => ({ model, selection: models.selections.get(model.name) ?? null })),
    pipelines: models.pipelines,
    softwareByName: models.softwareByName
  })
  const out: Array<string> = []
  const byName = <T extends { readonly name: string }>(xs: ReadonlyArray<T>) => new Map(xs.map((x) => [x.name, x]))

  const locations = byName(again.locations)
  for (const l of ir.locations) out.push(...entityMismatches(`location ${l.name}`, l, locations.get(l.name)!))
  const software = byName(again.software)
  for (const s of ir.software) out.push(...entityMismatches(`software ${s.name}`, s, software.get(s.name)!))

  // A grouping's hash and selection follow from its parent's: only the first in a chain is named.
  const groupings = byName(again.groupings)
  const badGroupings = new Set<string>()
  for (const g of ir.groupings) if (entityMismatches("", g, groupings.get(g.name)!).length > 0) badGroupings.add(g.name)
  const ancestorBad = (name: string): boolean => {
    for (
      let from = ir.groupings.find((g) => g.name === name)?.from ?? null;
      from !== null;
      from = ir.groupings.find((g) => g.name === from)?.from ?? null
    ) {
      if (badGroupings.has(from)) return true
    }
    return false
  }
  for (const g of ir.groupings) if (!ancestorBad(g.name)) out.push(...entityMismatches(`grouping ${g.name}`, g, groupings.get(g.name)!))

  const pipelines = byName(again.pipelines)
  for (const p of ir.pipelines) {
    const r = pipelines.get(p.name)!
    const steps = byName(r.steps)
    const stepProblems: Array<string> = []
    for (const s of p.steps) {
      const label = `step ${p.name}.${s.name}`
      const newest = resolveNewest(models.softwareByName.get(s.software.name)!.versions, parseRangeText(s.software.range)!)
      if (newest === null || formatVersion(newest) !== s.software.version) {
        stepProblems.push(`the version of ${label} (not the newest that its range allows)`)
      }
      const recomputed = steps.get(s.name)
      // Steps lost to an `after` cycle are missing from the lowering.
      if (recomputed === undefined) stepProblems.push(`the after of ${label} (its steps form a cycle)`)
      else stepProblems.push(...entityMismatches(label, s, recomputed))
    }
    out.push(...stepProblems)
    if (stepProblems.length > 0) continue
    if (
      !same(
        p.steps.map((s) => s.name),
        r.steps.map((s) => s.name)
      )
    )
      out.push(`the order of the steps of pipeline ${p.name} (upstream first, as the compiler orders them)`)
    else out.push(...entityMismatches(`pipeline ${p.name}`, p, r, ["steps"]))
  }

  // The workspace's hash follows from every entity's: named only when nothing else is.
  if (out.length > 0) return out
  if (!same(ir, again)) {
    const order = (["locations", "software", "groupings", "pipelines"] as const).filter(
      (k) =>
        !same(
          ir[k].map((x) => x.name),
          again[k].map((x) => x.name)
        )
    )
    if (order.length > 0) return order.map((k) => `the order of the ${k} of the IR (by name, as the compiler orders them)`)
    return ir.hash !== again.hash ? ["the IR's hash (its entities' hashes give another)"] : ["the IR (the compiler writes it otherwise)"]
  }
  return []
}

const verified = new WeakMap<IrWorkspace, ReadonlyArray<string>>()

/**
 * What in the IR is not what the compiler makes of its declared fields: one phrase per
 * mismatch ("the fingerprint of step p.s (…)"); empty for an IR as compiled. Remembered per IR
 * object: apply checks before it starts and the writer checks again, for the price of one.
 */
export const verifyIr = (ir: IrWorkspace): ReadonlyArray<string> => {
  const known = verified.get(ir)
  if (known !== undefined) return known
  const result = checkIr(ir)
  verified.set(ir, result)
  return result
}

/** `verifyIr` in one phrase, for messages. */
export const mismatchList = (items: ReadonlyArray<string>): string => items.join("; ")
