import { CompletionItemKind, InsertTextFormat, MarkupKind, type CompletionItem, type Position, type Range } from "vscode-languageserver"
import type * as A from "../compiler/ast.ts"
import type { CompileResult } from "../compiler/compile.ts"
import {
  backends,
  blockProperties,
  containerRuntimes,
  failureReasons,
  growableResourceSpecs,
  maxRetryFactor,
  outputKinds,
  resourceKeys,
  triggerModes,
  versionPolicies,
  type BlockKind,
  type PropertySpec
} from "../compiler/properties.ts"
import { dimensions, findColumn, findTable, tables } from "../compiler/schema-registry.ts"
import { compareVersions, formatVersion, parseVersion, type SemVer } from "../compiler/semver.ts"
import { completionContext, type CompletionSlot, type OffsetRange } from "./completion-context.ts"

/*
 * Completion candidates for a cursor position: classify the slot (completion-context.ts), then
 * offer what fits it from the language's tables (properties, schema registry) and the compiled
 * workspace (declared names, software versions, the placeholders of a command). Pure: the server
 * passes the document text and its latest compile result.
 */

export interface CompletionInput {
  readonly text: string
  /** UTF-16 offset of the cursor in `text`. */
  readonly offset: number
  /** The latest compile of the workspace; without it only language-level candidates are offered. */
  readonly workspace: CompileResult | undefined
  readonly uri?: string
  /** Live values of a column (e.g. source names from the ops database), when available. */
  readonly liveValues?: (table: string, column: string) => ReadonlyArray<string>
}

export const complete = (input: CompletionInput): Array<CompletionItem> => {
  const slot = completionContext(input.text, input.offset)
  return candidates(slot, input)
}

/** The candidates for an already classified slot. */
export const candidates = (slot: CompletionSlot, input: CompletionInput): Array<CompletionItem> => {
  const range = toRange(input.text, slot.replace)
  const ws = input.workspace
  const items: Array<CompletionItem> = []
  const add = (item: Omit<CompletionItem, "textEdit"> & { insert?: string; snippet?: boolean }): void => {
    const { insert, snippet, ...rest } = item
    const newText = insert ?? item.label
    items.push({
      ...rest,
      ...(snippet === true
        ? { insertTextFormat: InsertTextFormat.Snippet, insertText: newText }
        : insert !== undefined
          ? { insertText: newText }
          : {}),
      textEdit: { range, newText },
      sortText: rest.sortText ?? String(items.length).padStart(4, "0")
    })
  }
  const simple = (labels: ReadonlyArray<string>, kind: CompletionItemKind, detail?: string): void => {
    for (const label of labels) add({ label, kind, ...(detail !== undefined ? { detail } : {}) })
  }

  switch (slot.kind) {
    case "none":
      return []
    case "topLevelKeyword":
      for (const k of topLevelKeywords) add({ ...k, kind: CompletionItemKind.Keyword, snippet: true })
      return items
    case "propertyKeyword":
      for (const spec of blockProperties[slot.block]) {
        if (spec.repeatable !== true && slot.present.includes(spec.keyword)) continue
        add({
          label: spec.keyword,
          kind: CompletionItemKind.Keyword,
          detail: `${slot.block} property${spec.required === true ? " (required)" : ""}`,
          documentation: markdown(`${spec.doc}\n\n\`\`\`ccat\n${spec.example}\n\`\`\``),
          insert: propertySnippet(slot.block, spec),
          snippet: true
        })
      }
      return items
    case "reference": {
      if (slot.target === "step") {
        simple(
          (slot.steps ?? []).filter((s) => !slot.listed.includes(s)),
          CompletionItemKind.Function,
          `step of ${slot.pipeline ?? "this pipeline"}`
        )
        return items
      }
      const declared = ws?.symbols.byKind.get(slot.target)
      for (const [name, decl] of declared ?? []) {
        if (slot.listed.includes(name)) continue
        const description = declarationDescription(decl)
        add({
          label: name,
          kind: referenceKinds[slot.target],
          detail: `${slot.target} · ${decl.span.file}`,
          ...(description !== undefined ? { documentation: description } : {})
        })
      }
      return items
    }
    case "version": {
      const versions = softwareVersions(ws, slot.software)
      const ranges: Array<string> = []
      for (const v of versions) {
        if (v.prerelease.length > 0) continue
        const caret = `^${v.major}.${v.minor}`
        if (!ranges.includes(caret)) ranges.push(caret)
      }
      const newest = (r: string): string | undefined =>
        versions.find((v) => v.prerelease.length === 0 && `^${v.major}.${v.minor}` === r)?.raw
      for (const r of ranges)
        add({ label: r, kind: CompletionItemKind.Constant, detail: `compatible with ${r.slice(1)}; newest ${newest(r) ?? "?"}` })
      for (const v of versions) add({ label: `=${formatVersion(v)}`, kind: CompletionItemKind.Constant, detail: "exactly this version" })
      return items
    }
    case "table":
      for (const t of tables) add({ label: t.name, kind: CompletionItemKind.Class, detail: "table", documentation: t.description })
      return items
    case "column": {
      const table = findTable(slot.table)
      for (const c of table?.columns ?? []) {
        add({
          label: c.name,
          kind: CompletionItemKind.Field,
          detail: c.values !== undefined ? `${c.type}: ${c.values.join(" | ")}` : c.type,
          documentation: c.description
        })
      }
      return items
    }
    case "jsonPath":
      return []
    case "enumValue": {
      const table = findTable(slot.table)
      const column = table === undefined ? undefined : findColumn(table, slot.column)
      const seen = new Set<string>()
      const value = (v: string, detail: string): void => {
        if (seen.has(v)) return
        seen.add(v)
        add({ label: JSON.stringify(v), kind: CompletionItemKind.EnumMember, detail })
      }
      if (column?.type === "boolean") simple(["true", "false"], CompletionItemKind.Value)
      for (const v of column?.values ?? []) value(v, `${slot.table}.${slot.column}`)
      for (const v of input.liveValues?.(slot.table, slot.column) ?? []) value(v, `${slot.table}.${slot.column} (in the database)`)
      return items
    }
    case "dimension":
      for (const d of dimensions) {
        if (slot.listed.includes(d.name)) continue
        add({ label: d.name, kind: CompletionItemKind.EnumMember, detail: "dimension", documentation: d.description })
      }
      return items
    case "triggerMode":
      for (const mode of triggerModes) {
        add({
          label: mode,
          kind: CompletionItemKind.EnumMember,
          ...(mode === "cron" ? { insert: 'cron "${1:0 3 * * *}"', snippet: true } : {})
        })
      }
      return items
    case "versionPolicy":
      simple(versionPolicies, CompletionItemKind.EnumMember, "version policy")
      return items
    case "containerRuntime":
      simple(containerRuntimes, CompletionItemKind.EnumMember, "container runtime")
      return items
    case "backendKind":
      for (const b of backends) add({ label: b.name, kind: CompletionItemKind.EnumMember, detail: "backend", documentation: b.doc })
      return items
    case "boolean":
      simple(["true", "false"], CompletionItemKind.Value)
      return items
    case "resourceKey":
      for (const r of resourceKeys) {
        if (slot.present.includes(r.key)) continue
        add({ label: r.key, kind: CompletionItemKind.Property, detail: r.shape, documentation: r.doc })
      }
      return items
    case "outputKind":
      for (const k of outputKinds) {
        add({
          label: k.name,
          kind: CompletionItemKind.EnumMember,
          detail: `output kind: ${k.folder.replace(/`/g, "")}`,
          documentation: markdown(k.doc)
        })
      }
      return items
    case "outputMin":
      add({
        label: "min",
        kind: CompletionItemKind.Keyword,
        detail: "at least this many files (default 1)",
        documentation: markdown("`min 0` says the kind may be absent: the rule then only documents it."),
        insert: "min ${1:1}",
        snippet: true
      })
      return items
    case "retryOn": {
      const reasons = slot.retried ?? failureReasons.map((r) => r.name)
      const choice = (names: ReadonlyArray<string>): string => (names.length === 0 ? "${1:REASON}" : `\${1|${names.join(",")}|}`)
      add(
        slot.adjustment
          ? {
              label: "on",
              kind: CompletionItemKind.Keyword,
              detail: "what grows after each failure of a reason",
              documentation: markdown(
                `\`on OOM memory x2\`: after each failure of the reason, the resource is multiplied by the factor (above 1, at most ${maxRetryFactor}) for the attempts after it.`
              ),
              insert: `on ${choice(reasons)} \${2|${growableResourceSpecs.map((r) => r.name).join(",")}|} x\${3:2}`,
              snippet: true
            }
          : {
              label: "on",
              kind: CompletionItemKind.Keyword,
              detail: "retry only these failures",
              documentation: markdown(
                "`retries 3 on TIMEOUT, OOM`: only failures of these reasons are retried; any other fails the run at once."
              ),
              insert: `on ${choice(reasons)}`,
              snippet: true
            }
      )
      return items
    }
    case "failureReason":
      for (const r of failureReasons) {
        if (slot.listed.includes(r.name) || (slot.retried !== undefined && !slot.retried.includes(r.name))) continue
        add({ label: r.name, kind: CompletionItemKind.EnumMember, detail: "failure reason", documentation: markdown(r.doc) })
      }
      return items
    case "growableResource":
      for (const r of growableResourceSpecs)
        add({ label: r.name, kind: CompletionItemKind.Property, detail: "resource that grows on a retry", documentation: markdown(r.doc) })
      return items
    case "backendOption": {
      const options = backends.find((b) => b.name === slot.backend)?.options ?? []
      for (const o of options) {
        if (slot.present.includes(o.key)) continue
        add({ label: o.key, kind: CompletionItemKind.Property, detail: o.shape, documentation: o.doc })
      }
      return items
    }
    case "configKey": {
      if (slot.software === undefined) return []
      for (const key of configKeys(ws, slot.software, slot.path)) {
        if (slot.present.includes(key)) continue
        add({
          label: key,
          kind: CompletionItemKind.Property,
          detail: `used by ${slot.software}'s command`,
          insert: `${key} = $0`,
          snippet: true
        })
      }
      return items
    }
  }
}

// --- candidates -------------------------------------------------------------------------------

const markdown = (value: string) => ({ kind: MarkupKind.Markdown, value })

const referenceKinds = {
  grouping: CompletionItemKind.Struct,
  location: CompletionItemKind.Module,
  software: CompletionItemKind.Class
} as const

const topLevelKeywords: ReadonlyArray<{ label: string; detail: string; insert: string; documentation: ReturnType<typeof markdown> }> = [
  {
    label: "pipeline",
    detail: "declaration",
    insert:
      "pipeline ${1:name} {\n\tdata ${2:grouping}\n\tlocation ${3:location}\n\ttrigger ${4|continuous,manual|}\n\n\tstep ${5:first} {\n\t\trun ${6:software} ${7:^1.0}\n\t\tgroup_by ${8:executed_obs_unit}\n\t}\n}",
    documentation: markdown("A DAG of steps run over the raw data packages of a grouping, at a processing location.")
  },
  {
    label: "grouping",
    detail: "declaration",
    insert: 'grouping ${1:name} {\n\twhere ${2:RawDataPackage.state == "ARCHIVED"}\n}',
    documentation: markdown("A named selection of raw data packages: `where` filters over the ops database, ANDed.")
  },
  {
    label: "software",
    detail: "declaration",
    insert:
      'software ${1:name} {\n\timage "${2:docker://ghcr.io/ccatobs/tool:{version\\}}"\n\tversions "${3:1.0.0}"\n\tcommand "${4:tool}"\n}',
    documentation: markdown("A containerised program with its versions and its command line (`{config.key}`, `{version}`).")
  },
  {
    label: "location",
    detail: "declaration",
    insert: 'location ${1:name} {\n\tsite "${2|ccat,cologne,us|}"\n\tbackend ${3|local,slurm|}\n\tbase_dir "${4:/data/pipelines}"\n}',
    documentation: markdown("A processing location: where jobs run (its backend) and where products are kept.")
  }
]

const escapeSnippet = (s: string): string => s.replace(/[\\$}]/g, (c) => `\\${c}`)

/** The property's example as a snippet: the keyword, then the example's value as a placeholder. */
const propertySnippet = (block: BlockKind, spec: PropertySpec): string => {
  switch (spec.form) {
    case "flag":
      return spec.keyword
    case "step":
      return "step ${1:name} {\n\trun ${2:software} ${3:^1.0}\n\tgroup_by ${4:executed_obs_unit}\n\t$0\n}"
    case "config":
      return "config {\n\t${1:key} = ${2:value}\n}"
    case "resources":
      return "resources { ${1:cpus 4} }"
    case "outputs":
      return `outputs {\n\t\${1|${outputKinds.map((k) => k.name).join(",")}|} "\${2:*.fits}" min \${3:1}\n}`
    case "retries":
      return "retries ${1:3}"
    default: {
      void block
      const rest = spec.example.slice(spec.keyword.length).trim()
      return rest === "" ? spec.keyword : `${spec.keyword} \${1:${escapeSnippet(rest)}}`
    }
  }
}

const declarationDescription = (decl: A.Declaration): string | undefined => {
  for (const p of decl.properties) {
    if (p.kind === "value" && p.keyword.text === "description") {
      const v = p.values[0]
      if (v?.kind === "string") return v.value
    }
  }
  return undefined
}

/** Declared versions, newest first: from the checked model, else straight from the declaration. */
const softwareVersions = (ws: CompileResult | undefined, software: string): Array<SemVer> => {
  const model = ws?.checked.software.get(software)
  let versions: Array<SemVer> = model !== undefined ? [...model.versions] : []
  if (model === undefined) {
    const decl = ws?.symbols.byKind.get("software")?.get(software)
    for (const p of decl?.properties ?? []) {
      if (p.kind !== "value" || p.keyword.text !== "versions") continue
      for (const v of p.values) {
        const parsed = v.kind === "string" ? parseVersion(v.value) : null
        if (parsed !== null) versions.push(parsed)
      }
    }
  }
  versions = versions.sort((a, b) => compareVersions(b, a))
  return versions
}

/** The next key under `path` of every `{config.a.b}` in the software's command. */
const configKeys = (ws: CompileResult | undefined, software: string, path: ReadonlyArray<string>): Array<string> => {
  const model = ws?.checked.software.get(software)
  let paths: Array<ReadonlyArray<string>>
  if (model !== undefined) paths = model.placeholders.flatMap((p) => (p.configPath === null ? [] : [p.configPath]))
  else {
    const decl = ws?.symbols.byKind.get("software")?.get(software)
    const command = decl?.properties.find((p) => p.kind === "value" && p.keyword.text === "command")
    const value = command?.kind === "value" ? command.values[0] : undefined
    const text = value?.kind === "string" ? value.value : ""
    paths = [...text.matchAll(/\{\s*config\.([A-Za-z_][A-Za-z0-9_.]*)\s*\}/g)].map((m) => m[1]!.split("."))
  }
  const out = new Set<string>()
  for (const p of paths) {
    if (p.length > path.length && path.every((seg, i) => p[i] === seg)) out.add(p[path.length]!)
  }
  return [...out]
}

// --- positions --------------------------------------------------------------------------------

/** LSP position (UTF-16, `\n`, `\r\n` and `\r` end lines) of an offset, scanning only up to it. */
export const positionAt = (text: string, offset: number): Position => {
  let line = 0
  let lineStart = 0
  for (let i = 0; i < offset && i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) {
      line++
      lineStart = i + 1
    }
  }
  return { line, character: Math.min(offset, text.length) - lineStart }
}

const toRange = (text: string, r: OffsetRange): Range => {
  const start = positionAt(text, r.start)
  if (r.end === r.start) return { start, end: start }
  const between = text.slice(r.start, r.end)
  // The replaced word never spans lines.
  return { start, end: { line: start.line, character: start.character + between.length } }
}
