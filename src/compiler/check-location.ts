import type * as A from "./ast.ts"
import { BlockView, describeValue } from "./blocks.ts"
import type { DiagnosticSink } from "./diagnostics.ts"
import type { LocationModel } from "./model.ts"
import { backends, containerRuntimes, type ResourceSpec } from "./properties.ts"
import { parseQuantity, unitHelp } from "./quantities.ts"
import { didYouMeanText, suggest } from "./suggest.ts"

export const checkLocation = (decl: A.Declaration, sink: DiagnosticSink): LocationModel | undefined => {
  const view = new BlockView("location", decl.name, decl.span, decl.properties, sink)
  const backendProperty = view.get("backend")
  let backend: LocationModel["backend"] = { kind: "local", options: {} }
  if (backendProperty?.kind === "backend" && backendProperty.backend !== undefined) {
    const kind = backendProperty.backend.text
    const spec = backends.find((b) => b.name === kind)
    if (spec === undefined) {
      const close = suggest(
        kind,
        backends.map((b) => b.name)
      )
      sink.report(
        "E090",
        backendProperty.backend.span,
        { backend: kind },
        {
          help: didYouMeanText(close) ?? `backends: ${backends.map((b) => `\`${b.name}\``).join(", ")}`,
          fixes: close === undefined ? [] : [{ title: `Replace with \`${close}\``, span: backendProperty.backend.span, replacement: close }]
        }
      )
    } else {
      backend = {
        kind,
        options: checkEntries(backendProperty.options, spec.options, sink, (option) => ({
          code: "E091",
          params: { option, backend: kind }
        }))
      }
    }
  }
  const container = view.name("container")
  let containerRuntime: LocationModel["containerRuntime"] = "none"
  if (container !== undefined) {
    if ((containerRuntimes as ReadonlyArray<string>).includes(container.value)) containerRuntime = container.value as "apptainer" | "none"
    else {
      const close = suggest(container.value, containerRuntimes)
      sink.report(
        "E092",
        container.span,
        { runtime: container.value },
        {
          help: didYouMeanText(close) ?? "container runtimes: `apptainer`, `none`",
          fixes: close === undefined ? [] : [{ title: `Replace with \`${close}\``, span: container.span, replacement: close }]
        }
      )
    }
  }
  if (decl.name === undefined) return undefined
  return {
    name: decl.name.text,
    span: decl.span,
    description: view.string("description")?.value ?? null,
    site: view.string("site")?.value ?? null,
    backend,
    baseDir: view.string("base_dir")?.value ?? null,
    purgeAbovePercent: view.percent("purge_above")?.value ?? null,
    containerRuntime
  }
}

/**
 * Checks `{ key value ... }` entries against their specs: known keys (with suggestions), no
 * repeats, value shapes and ranges. Returns the valid entries as plain values.
 */
export const checkEntries = (
  entries: ReadonlyArray<A.Entry>,
  specs: ReadonlyArray<ResourceSpec>,
  sink: DiagnosticSink,
  unknown: (
    key: string
  ) => { code: "E081"; params: { word: string; block: string } } | { code: "E091"; params: { option: string; backend: string } }
): Record<string, string | number> => {
  const out: Record<string, string | number> = {}
  const seen = new Map<string, A.Entry>()
  for (const entry of entries) {
    const key = entry.key.text
    const spec = specs.find((s) => s.key === key)
    if (spec === undefined) {
      const close = suggest(
        key,
        specs.map((s) => s.key)
      )
      const u = unknown(key)
      const extras = {
        help: didYouMeanText(close) ?? `known: ${specs.map((s) => `\`${s.key}\``).join(", ")}`,
        fixes: close === undefined ? [] : [{ title: `Replace with \`${close}\``, span: entry.key.span, replacement: close }]
      }
      if (u.code === "E081") sink.report("E081", entry.key.span, u.params, extras)
      else sink.report("E091", entry.key.span, u.params, extras)
      continue
    }
    const first = seen.get(key)
    if (first !== undefined) {
      sink.report("E022", entry.key.span, { keyword: key }, { related: [{ span: first.key.span, message: "first given here" }] })
      continue
    }
    seen.set(key, entry)
    const value = checkEntryValue(entry, spec, sink)
    if (value !== undefined) out[key] = value
  }
  return out
}

const checkEntryValue = (entry: A.Entry, spec: ResourceSpec, sink: DiagnosticSink): string | number | undefined => {
  const v = entry.value
  const key = entry.key.text
  const wrong = (expected: string, help?: string): undefined => {
    sink.report("E024", v.span, { keyword: key, expected, found: describeValue(v) }, { help })
    return undefined
  }
  const inRange = (n: number, shown: string, format: (x: number) => string): number | undefined => {
    if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
      sink.report("E080", v.span, {
        what: `\`${key}\``,
        range: `between ${format(spec.min ?? 0)} and ${format(spec.max ?? Infinity)}`,
        found: `\`${shown}\``
      })
      return undefined
    }
    return n
  }
  switch (spec.shape) {
    case "string":
      return v.kind === "string" ? v.value : wrong("a string", v.kind === "identifier" ? `write it in quotes: \`"${v.raw}"\`` : undefined)
    case "integer":
      return v.kind === "integer" ? inRange(v.value, v.raw, String) : wrong("a whole number")
    case "size":
    case "duration": {
      if (v.kind === "integer" || v.kind === "decimal") {
        return wrong(
          spec.shape === "size" ? "a size such as `16GiB`" : "a duration such as `2h`",
          `add a unit: \`${v.raw}${spec.shape === "size" ? "GiB" : "h"}\``
        )
      }
      if (v.kind !== "quantity") return wrong(spec.shape === "size" ? "a size such as `16GiB`" : "a duration such as `2h`")
      const q = parseQuantity(v.raw)
      if (q.kind === "unknown") {
        sink.report("E083", v.span, { unit: q.unit, kind: spec.shape }, { help: unitHelp(q.unit, spec.shape) })
        return undefined
      }
      if (q.kind !== spec.shape) return wrong(spec.shape === "size" ? "a size such as `16GiB`" : "a duration such as `2h`")
      if (q.kind === "size") return inRange(q.bytes, v.raw, formatBytes)
      if (q.seconds === 0) {
        sink.report("E082", v.span, { keyword: key }, { help: `leave \`${key}\` out instead of writing zero` })
        return undefined
      }
      return inRange(q.seconds, v.raw, (s) => (s >= 86_400 ? `${s / 86_400}d` : s >= 60 ? `${s / 60}m` : `${s}s`))
    }
  }
}

const formatBytes = (n: number): string => {
  for (const [unit, factor] of [
    ["TiB", 1024 ** 4],
    ["GiB", 1024 ** 3],
    ["MiB", 1024 ** 2],
    ["KiB", 1024]
  ] as const) {
    if (n >= factor) return `${n / factor}${unit}`
  }
  return `${n}B`
}
