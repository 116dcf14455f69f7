import { canonicalJson, contentHash, sha256 } from "./canonical-json.ts"
import type { Filter, GroupingModel, LocationModel, PipelineModel, SoftwareModel, StepModel } from "./model.ts"
import * as Ir from "./ir.ts"
import { compatibleKey, formatRange, formatVersion } from "./semver.ts"
import type { Span } from "./span.ts"

/*
 * Checked model → IR. Entities are sorted by name and steps topologically (ties by name), so the
 * output never depends on the order of files or declarations.
 */

export interface LowerInput {
  readonly locations: ReadonlyArray<LocationModel>
  readonly software: ReadonlyArray<SoftwareModel>
  readonly groupings: ReadonlyArray<{ readonly model: GroupingModel; readonly selection: Filter | null }>
  readonly pipelines: ReadonlyArray<PipelineModel>
  readonly softwareByName: ReadonlyMap<string, SoftwareModel>
}

// Schema classes validate on construction; the compiler built these values from checked data,
// so validation is skipped on the hot path and done by `decodeIrWorkspace` at the boundaries.
const trusted = true

export const lowerWorkspace = (input: LowerInput): Ir.IrWorkspace => {
  // Compiler spans and filters have exactly the IR's shape; they are shared, not copied.
  const span = (s: Span): Ir.IrSpan => s
  const filter = (f: Filter): Ir.IrFilter => f
  const byName = <T extends { readonly name: string }>(xs: ReadonlyArray<T>): Array<T> =>
    [...xs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const withHash = <T extends object>(fields: T, hashed: object = fields): T & { hash: string } => ({
    ...fields,
    hash: contentHash(hashed)
  })

  const locations = byName(input.locations).map(
    (l) =>
      new Ir.IrLocation(
        withHash({
          name: l.name,
          description: l.description,
          site: l.site,
          backend: { kind: l.backend.kind, options: { ...l.backend.options } },
          baseDir: l.baseDir,
          purgeAbovePercent: l.purgeAbovePercent,
          containerRuntime: l.containerRuntime,
          span: span(l.span)
        }),
        trusted
      )
  )
  const software = byName(input.software).map(
    (s) =>
      new Ir.IrSoftware(
        withHash({
          name: s.name,
          description: s.description,
          image: s.image,
          versions: s.versions.map(formatVersion),
          command: s.command,
          span: span(s.span)
        }),
        trusted
      )
  )
  // A grouping's hash covers its own fields and its parent's hash (a Merkle chain), so the
  // inherited selection, derived from exactly those, is not serialised again.
  const byGroupingName = new Map(input.groupings.map((g) => [g.model.name, g]))
  const groupingHashes = new Map<string, string>()
  const groupingHash = (name: string): string => {
    const known = groupingHashes.get(name)
    if (known !== undefined) return known
    const { model } = byGroupingName.get(name)!
    const parent = model.from === null ? null : groupingHash(model.from)
    const hash = contentHash({ name: model.name, description: model.description, from: model.from, parent, where: model.where })
    groupingHashes.set(name, hash)
    return hash
  }
  const groupings = [...input.groupings]
    .sort((a, b) => (a.model.name < b.model.name ? -1 : 1))
    .map(
      ({ model, selection }) =>
        new Ir.IrGrouping(
          {
            name: model.name,
            description: model.description,
            from: model.from,
            where: model.where === null ? null : filter(model.where),
            selection: selection === null ? null : filter(selection),
            hash: groupingHash(model.name),
            span: span(model.span)
          },
          trusted
        )
    )
  const pipelines = byName(input.pipelines).map((p) => {
    const dependedOn = new Set(p.steps.flatMap((s) => s.after))
    const steps = topologicalOrder(p.steps).map((s) => lowerStep(s, input.softwareByName.get(s.software)!, dependedOn.has(s.name), span))
    const fields = {
      name: p.name,
      description: p.description,
      data: p.data,
      location: p.location,
      trigger: { mode: p.trigger.mode, cron: p.trigger.cron, timezone: p.trigger.timezone },
      priority: p.priority,
      enabled: p.enabled,
      steps,
      span: span(p.span)
    }
    // Steps enter by their own hashes (a Merkle tree), not hashed a second time in full.
    return new Ir.IrPipeline(withHash(fields, { ...fields, steps: steps.map((s) => s.hash) }), trusted)
  })
  const hash = sha256(canonicalJson([locations, software, groupings, pipelines].map((xs) => xs.map((x) => [x.name, x.hash]))))
  return new Ir.IrWorkspace({ irVersion: Ir.IR_VERSION, locations, software, groupings, pipelines, hash }, trusted)
}

const lowerStep = (s: StepModel, software: SoftwareModel, dependedOn: boolean, span: (s: Span) => Ir.IrSpan): Ir.IrStep => {
  const version = formatVersion(s.resolvedVersion)
  const fingerprintVersion = s.versionPolicy === "exact" ? version : compatibleKey(s.resolvedVersion)
  // Resources, cooldown, retries (their reasons and adjustments too) and outputs stay out:
  // changing them must not reprocess data.
  const fingerprint = contentHash({
    software: { image: software.image, version: fingerprintVersion },
    command: software.command,
    config: s.config
  })
  const fields = {
    name: s.name,
    description: s.description,
    after: [...s.after].sort(),
    software: {
      name: software.name,
      range: formatRange(s.range),
      version,
      image: software.image.replaceAll("{version}", version),
      fingerprintVersion
    },
    command: software.command,
    groupBy: s.groupBy,
    cooldownSeconds: s.cooldownSeconds,
    config: s.config,
    resources: s.resources,
    retries: s.retries,
    // Only when written, like `outputs`: steps without them keep their IR and hashes.
    ...(s.retryOn === null ? {} : { retryOn: s.retryOn }),
    ...(s.retryAdjust === null ? {} : { retryAdjust: s.retryAdjust }),
    timeoutSeconds: s.timeoutSeconds,
    versionPolicy: s.versionPolicy,
    final: s.final ?? !dependedOn,
    fanOut: s.fanOut,
    // Only when declared: a key that is absent is absent from the hash too (see IrStep).
    ...(s.outputs === null ? {} : { outputs: s.outputs }),
    fingerprint,
    span: span(s.span)
  }
  // The fingerprint already covers command and config: hash it instead of them (Merkle again).
  const hash = contentHash({ ...fields, command: undefined, config: undefined })
  return new Ir.IrStep({ ...fields, hash }, trusted)
}

/**
 * Kahn's algorithm in rounds: each round takes every step whose upstream steps are all placed,
 * sorted by name, so the order never depends on declaration order. Counting the unplaced
 * upstream steps keeps it linear: a chain of thousands of steps is thousands of rounds.
 */
export const topologicalOrder = (steps: ReadonlyArray<StepModel>): ReadonlyArray<StepModel> => {
  const byName = new Map(steps.map((s) => [s.name, s]))
  const unplaced = new Map<string, number>()
  const downstream = new Map<string, Array<string>>()
  for (const s of steps) {
    const upstream = [...new Set(s.after)].filter((d) => byName.has(d))
    unplaced.set(s.name, upstream.length)
    for (const d of upstream) {
      const list = downstream.get(d)
      if (list === undefined) downstream.set(d, [s.name])
      else list.push(s.name)
    }
  }
  const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
  const out: Array<StepModel> = []
  // Steps in a cycle never become ready; the checker has reported it.
  let ready = [...unplaced]
    .filter(([, n]) => n === 0)
    .map(([name]) => name)
    .sort(byText)
  while (ready.length > 0) {
    const next: Array<string> = []
    for (const name of ready) {
      out.push(byName.get(name)!)
      for (const d of downstream.get(name) ?? []) {
        const left = unplaced.get(d)! - 1
        unplaced.set(d, left)
        if (left === 0) next.push(d)
      }
    }
    ready = next.sort(byText)
  }
  return out
}
