import { MarkupKind, type Hover } from "vscode-languageserver"
import type * as A from "../compiler/ast.ts"
import {
  backends,
  blockProperties,
  failureReasons,
  findProperty,
  growableResourceSpecs,
  maxRetryFactor,
  outputKinds,
  resourceKeys,
  type BlockKind
} from "../compiler/properties.ts"
import { findColumn, findDimension, findTable } from "../compiler/schema-registry.ts"
import { formatRange, formatVersion, parseRange, resolveNewest, type RangeOperator } from "../compiler/semver.ts"
import type { Span } from "../compiler/span.ts"
import { definitionOf, occurrenceAt, type Occurrence } from "./navigation.ts"
import { spanContains, spanToRange } from "./positions.ts"
import type { Snapshot } from "./workspace-state.ts"

/*
 * Hover: what a keyword means (from properties.ts), a reference's declaration, a column's type
 * and allowed values (from the schema registry), the version a `run` range resolves to, and a
 * step's fingerprint inputs (from the IR when the workspace compiles).
 */

const declarationDocs: Record<A.DeclarationKind, string> = {
  location: "A processing location: where jobs run (backend, base folder, container runtime).",
  software: "A containerised program: its image, the versions that exist and the command to run.",
  grouping: "A named selection of raw data packages, by `where` filters over the ops-db.",
  pipeline: "A DAG of steps over the data of a grouping, run at a location when its trigger fires."
}

/** What the cursor is on, innermost first. */
type Target =
  | { readonly kind: "declarationKeyword"; readonly span: Span; readonly declaration: A.Declaration }
  | { readonly kind: "property"; readonly span: Span; readonly block: BlockKind; readonly keyword: string }
  | {
      readonly kind: "runRange"
      readonly span: Span
      readonly pipeline: A.Declaration
      readonly step: A.StepDeclaration
      readonly run: Extract<A.Property, { kind: "run" }>
    }
  | { readonly kind: "column"; readonly span: Span; readonly path: A.ColumnPath; readonly segment: number }
  | { readonly kind: "resource"; readonly span: Span; readonly key: string }
  | { readonly kind: "backend"; readonly span: Span; readonly backend: string; readonly option?: string }
  | { readonly kind: "dimension"; readonly span: Span; readonly name: string }
  | { readonly kind: "outputKind"; readonly span: Span; readonly name: string }
  | { readonly kind: "outputMin"; readonly span: Span }
  | { readonly kind: "failureReason"; readonly span: Span; readonly name: string }
  | { readonly kind: "retryOn"; readonly span: Span; readonly adjustment: boolean }
  | { readonly kind: "retryResource"; readonly span: Span; readonly name: string }
  | { readonly kind: "retryFactor"; readonly span: Span; readonly resource: string; readonly reason: string; readonly factor: string }

const pick = (best: Target | undefined, candidate: Target | undefined): Target | undefined =>
  candidate === undefined
    ? best
    : best === undefined || candidate.span.end - candidate.span.start < best.span.end - best.span.start
      ? candidate
      : best

const columnTarget = (e: A.Expression | undefined, offset: number): Target | undefined => {
  if (e === undefined || !spanContains(e.span, offset)) return undefined
  if (e.kind === "and" || e.kind === "or") {
    let best: Target | undefined
    for (const o of e.operands) best = pick(best, columnTarget(o, offset))
    return best
  }
  if (e.kind === "not") return columnTarget(e.operand, offset)
  const path = e.column
  if (spanContains(path.table.span, offset)) return { kind: "column", span: path.table.span, path, segment: -1 }
  const index = path.segments.findIndex((s) => spanContains(s.span, offset))
  return index < 0 ? undefined : { kind: "column", span: path.segments[index]!.span, path, segment: index }
}

const propertyTargets = (
  properties: ReadonlyArray<A.Property>,
  block: BlockKind,
  offset: number,
  pipeline: A.Declaration | undefined,
  step: A.StepDeclaration | undefined
): Target | undefined => {
  let best: Target | undefined
  for (const p of properties) {
    if (!spanContains(p.span, offset)) continue
    if (spanContains(p.keyword.span, offset)) best = pick(best, { kind: "property", span: p.keyword.span, block, keyword: p.keyword.text })
    switch (p.kind) {
      case "step":
        best = pick(best, propertyTargets(p.step.properties, "step", offset, pipeline, p.step))
        break
      case "run":
        if (p.range !== undefined && spanContains(p.range.span, offset) && pipeline !== undefined && step !== undefined) {
          best = pick(best, { kind: "runRange", span: p.range.span, pipeline, step, run: p })
        }
        break
      case "where":
        best = pick(best, columnTarget(p.expression, offset))
        break
      case "resources":
        for (const e of p.entries)
          if (spanContains(e.key.span, offset)) best = pick(best, { kind: "resource", span: e.key.span, key: e.key.text })
        break
      case "outputs":
        for (const r of p.rules) {
          if (spanContains(r.kind.span, offset)) best = pick(best, { kind: "outputKind", span: r.kind.span, name: r.kind.text })
          if (r.min !== undefined && spanContains(r.min.keyword.span, offset))
            best = pick(best, { kind: "outputMin", span: r.min.keyword.span })
        }
        break
      case "retries":
        if (p.on !== undefined) {
          if (spanContains(p.on.keyword.span, offset)) best = pick(best, { kind: "retryOn", span: p.on.keyword.span, adjustment: false })
          for (const r of p.on.reasons)
            if (spanContains(r.span, offset)) best = pick(best, { kind: "failureReason", span: r.span, name: r.text })
        }
        for (const a of p.adjustments ?? []) {
          if (!spanContains(a.span, offset)) continue
          if (spanContains(a.on.span, offset)) best = pick(best, { kind: "retryOn", span: a.on.span, adjustment: true })
          if (spanContains(a.reason.span, offset)) best = pick(best, { kind: "failureReason", span: a.reason.span, name: a.reason.text })
          if (spanContains(a.resource.span, offset))
            best = pick(best, { kind: "retryResource", span: a.resource.span, name: a.resource.text })
          if (spanContains(a.factor.span, offset) && a.factor.kind === "identifier") {
            best = pick(best, {
              kind: "retryFactor",
              span: a.factor.span,
              resource: a.resource.text,
              reason: a.reason.text,
              factor: a.factor.raw
            })
          }
        }
        break
      case "backend":
        if (p.backend !== undefined) {
          if (spanContains(p.backend.span, offset)) best = pick(best, { kind: "backend", span: p.backend.span, backend: p.backend.text })
          for (const e of p.options) {
            if (spanContains(e.key.span, offset))
              best = pick(best, { kind: "backend", span: e.key.span, backend: p.backend.text, option: e.key.text })
          }
        }
        break
      case "value":
        if (p.keyword.text === "group_by") {
          for (const v of p.values) {
            if (v.kind === "identifier" && spanContains(v.span, offset)) best = pick(best, { kind: "dimension", span: v.span, name: v.raw })
          }
        }
        break
      default:
        break
    }
  }
  return best
}

const targetAt = (file: A.SourceFile, offset: number): Target | undefined => {
  let best: Target | undefined
  for (const d of file.declarations) {
    if (!spanContains(d.span, offset)) continue
    if (spanContains(d.keywordSpan, offset)) best = pick(best, { kind: "declarationKeyword", span: d.keywordSpan, declaration: d })
    best = pick(best, propertyTargets(d.properties, d.kind, offset, d.kind === "pipeline" ? d : undefined, undefined))
  }
  return best
}

const code = (s: string): string => "`" + s.replace(/`/g, "'") + "`"

/** The first lines of a declaration's text, as a code block. */
const excerpt = (snapshot: Snapshot, span: Span, maxLines = 6): string => {
  const doc = snapshot.docs.get(span.file)
  if (doc === undefined) return ""
  const lines = doc.getText().slice(span.start, span.end).split(/\r?\n/)
  const shown = lines.slice(0, maxLines)
  if (lines.length > maxLines) shown.push("  …")
  return "```ccat\n" + shown.join("\n") + "\n```"
}

const location = (span: Span): string => `${span.file}:${span.startLine}`

const stepFingerprint = (snapshot: Snapshot, pipeline: string, step: string): string | undefined => {
  const ir = snapshot.result.ir?.pipelines.find((p) => p.name === pipeline)?.steps.find((s) => s.name === step)
  if (ir !== undefined) {
    return [
      `**Fingerprint inputs** (${code(ir.fingerprint.slice(0, 12))}):`,
      `- software: ${code(ir.software.name)} ${code(ir.software.range)} → ${code(ir.software.version)}; ${code(ir.software.fingerprintVersion)} enters the fingerprint (version_policy ${ir.versionPolicy})`,
      `- command: ${code(ir.command)}`,
      `- config: ${code(JSON.stringify(ir.config))}`
    ].join("\n")
  }
  const model = snapshot.result.checked.pipelines.get(pipeline)?.steps.find((s) => s.name === step)
  if (model === undefined) return undefined
  const software = snapshot.result.checked.software.get(model.software)
  return [
    "**Fingerprint inputs** (the workspace has errors: no IR yet):",
    `- software: ${code(model.software)} ${code(formatRange(model.range))} → ${code(formatVersion(model.resolvedVersion))} (version_policy ${model.versionPolicy})`,
    ...(software === undefined ? [] : [`- command: ${code(software.command)}`]),
    `- config: ${code(JSON.stringify(model.config))}`
  ].join("\n")
}

const occurrenceHover = (snapshot: Snapshot, o: Occurrence): string | undefined => {
  const target = definitionOf(snapshot.result, o.key)
  if (target === undefined) return undefined
  const where = o.key.scope === undefined ? "" : ` in pipeline ${code(o.key.scope)}`
  const parts = [`**${o.key.kind}** ${code(o.key.name)}${where} — declared at ${location(target.span)}`]
  const span = target.step?.span ?? target.declaration?.span
  if (span !== undefined) parts.push(excerpt(snapshot, span))
  if (o.key.kind === "step" && o.key.scope !== undefined) {
    const fingerprint = stepFingerprint(snapshot, o.key.scope, o.key.name)
    if (fingerprint !== undefined) parts.push(fingerprint)
  }
  if (o.key.kind === "software") {
    const software = snapshot.result.checked.software.get(o.key.name)
    if (software !== undefined) parts.push(`versions: ${software.versions.map((v) => code(formatVersion(v))).join(", ") || "none"}`)
  }
  return parts.join("\n\n")
}

const targetHover = (snapshot: Snapshot, t: Target): string | undefined => {
  switch (t.kind) {
    case "declarationKeyword":
      return `**${t.declaration.kind}** — ${declarationDocs[t.declaration.kind]}\n\nProperties: ${blockProperties[t.declaration.kind].map((p) => code(p.keyword)).join(", ")}`
    case "property": {
      const spec = findProperty(t.block, t.keyword)
      if (spec === undefined) return undefined
      return `**${spec.keyword}** (${t.block}${spec.required === true ? ", required" : ""}) — ${spec.doc}\n\n\`\`\`ccat\n${spec.example}\n\`\`\``
    }
    case "runRange": {
      const software = t.run.software?.text
      if (software === undefined || t.step.name === undefined || t.pipeline.name === undefined) return undefined
      const model = snapshot.result.checked.pipelines.get(t.pipeline.name.text)?.steps.find((s) => s.name === t.step.name!.text)
      const declared = snapshot.result.checked.software.get(software)
      const versions =
        declared === undefined ? "" : `\n\ndeclared versions: ${declared.versions.map((v) => code(formatVersion(v))).join(", ")}`
      if (model !== undefined) {
        return `${code(t.run.range!.raw)} resolves to ${code(software)} **${formatVersion(model.resolvedVersion)}** (the newest declared version it allows)${versions}`
      }
      const range = parseRange((t.run.range!.operator === "" ? "=" : t.run.range!.operator) as RangeOperator, t.run.range!.version)
      const newest = declared === undefined || range === null ? null : resolveNewest(declared.versions, range)
      return newest === null
        ? `${code(t.run.range!.raw)}: no declared version of ${code(software)} satisfies it${versions}`
        : `${code(t.run.range!.raw)} resolves to ${code(software)} **${formatVersion(newest)}**${versions}`
    }
    case "column": {
      const table = findTable(t.path.table.text)
      if (table === undefined) return undefined
      if (t.segment < 0)
        return `**table** ${code(table.name)} — ${table.description}\n\ncolumns: ${table.columns.map((c) => code(c.name)).join(", ")}`
      const column = findColumn(table, t.path.segments[0]!.text)
      if (column === undefined) return undefined
      if (t.segment > 0) {
        return `field ${code(
          t.path.segments
            .slice(1, t.segment + 1)
            .map((s) => s.text)
            .join(".")
        )} inside the JSON column ${code(`${table.name}.${column.name}`)}`
      }
      const values = column.values === undefined ? "" : `\n\nallowed values: ${column.values.map((v) => code(`"${v}"`)).join(", ")}`
      return `**column** ${code(`${table.name}.${column.name}`)}: ${column.type} — ${column.description}${values}`
    }
    case "resource": {
      const spec = resourceKeys.find((r) => r.key === t.key)
      return spec === undefined ? undefined : `**${spec.key}** (resources) — ${spec.doc}`
    }
    case "backend": {
      const spec = backends.find((b) => b.name === t.backend)
      if (spec === undefined) return undefined
      if (t.option === undefined)
        return `**backend ${spec.name}** — ${spec.doc}\n\noptions: ${spec.options.map((o) => code(o.key)).join(", ")}`
      const option = spec.options.find((o) => o.key === t.option)
      return option === undefined ? undefined : `**${option.key}** (${spec.name} backend) — ${option.doc}`
    }
    case "outputKind": {
      const kind = outputKinds.find((k) => k.name === t.name)
      return kind === undefined
        ? undefined
        : `**output kind** ${code(kind.name)} — ${kind.doc}\n\nFiles in ${kind.folder} of a run's output folder.`
    }
    case "outputMin":
      return "**min** (outputs) — at least this many files of the rule's kind, of those matching its pattern if it has one; 1 when left out. `min 0` lets the kind be absent: the rule then only documents it."
    case "failureReason": {
      const reason = failureReasons.find((r) => r.name === t.name)
      return reason === undefined ? undefined : `**failure reason** ${code(reason.name)} — ${reason.doc}`
    }
    case "retryOn":
      return t.adjustment
        ? `**on** (retries) — \`on REASON RESOURCE xF\`: after each failure of the reason, the resource is multiplied by F (above 1, at most ${maxRetryFactor}) for the attempts after it; two failures multiply twice. Capped by the partition's limits.`
        : "**on** (retries) — only failures of these reasons are retried; a run that fails for another reason fails at once. Without `on`, every failure is retried."
    case "retryResource": {
      const resource = growableResourceSpecs.find((r) => r.name === t.name)
      return resource === undefined
        ? undefined
        : `**${resource.name}** (grows on a retry) — ${resource.doc} The base is the step's \`resources { ${resource.name} }\`.`
    }
    case "retryFactor":
      return `**${t.factor}** — each failure with ${code(t.reason)} multiplies ${code(t.resource)} by ${t.factor.slice(1)} for the attempts after it, up to the partition's limit.`
    case "dimension": {
      const dimension = findDimension(t.name)
      return dimension === undefined ? undefined : `**group_by dimension** ${code(dimension.name)} — ${dimension.description}`
    }
  }
}

export const hover = (snapshot: Snapshot, path: string, offset: number): Hover | null => {
  const doc = snapshot.docs.get(path)
  const file = snapshot.result.files.find((f) => f.path === path)
  if (doc === undefined || file === undefined) return null
  const occurrence = occurrenceAt(snapshot.result, path, offset)
  const target = targetAt(file, offset)
  // The narrower of the two: a range beats nothing, a name beats its property.
  if (
    occurrence !== undefined &&
    (target === undefined || occurrence.span.end - occurrence.span.start <= target.span.end - target.span.start)
  ) {
    const value = occurrenceHover(snapshot, occurrence)
    if (value !== undefined) return { contents: { kind: MarkupKind.Markdown, value }, range: spanToRange(doc, occurrence.span) }
  }
  if (target === undefined) return null
  const value = targetHover(snapshot, target)
  return value === undefined ? null : { contents: { kind: MarkupKind.Markdown, value }, range: spanToRange(doc, target.span) }
}

// --- live data (src/lsp/live-data.ts) ---------------------------------------------------------

/** The grouping whose name (declaration or reference) `hover` describes at this offset, if any. */
export const hoveredGrouping = (snapshot: Snapshot, path: string, offset: number): string | undefined => {
  const file = snapshot.result.files.find((f) => f.path === path)
  const occurrence = occurrenceAt(snapshot.result, path, offset)
  if (file === undefined || occurrence === undefined || occurrence.key.kind !== "grouping") return undefined
  const target = targetAt(file, offset)
  return target === undefined || occurrence.span.end - occurrence.span.start <= target.span.end - target.span.start
    ? occurrence.key.name
    : undefined
}
