import type { IrJson } from "../compiler/ir.ts"
import { encodeString } from "../compiler/quantities.ts"
import { isJsonRecord, type JsonRecord } from "./entity-json.ts"
import type { FieldFormat } from "./format-value.ts"
import { isJsonArray, jsonText } from "./json-text.ts"
import type { EntityKind } from "./plan.ts"

/*
 * The fields of a definition as a plan names them: flat, dotted paths in the language's own
 * words (`cooldown`, `resources.memory`, `backend.partition`, `config.calibration_mode`) rather
 * than the IR's (`cooldownSeconds`, `resources.memoryBytes`, …). A field the IR gains later and
 * this table does not know still shows up, under its IR path.
 */

export type Fields = ReadonlyArray<readonly [string, IrJson]>

/** Keys that are never fields: identity, source positions, and what is compared elsewhere. */
const notFields: Readonly<Record<EntityKind, ReadonlyArray<string>>> = {
  location: ["name", "hash", "span"],
  // Versions are compared as a set (added, withdrawn): see `versionsOf`.
  software: ["name", "hash", "span", "versions"],
  grouping: ["name", "hash", "span"],
  // Steps are definitions of their own.
  pipeline: ["name", "hash", "span", "steps"],
  // The fingerprint decides `reprocess`; fingerprintVersion is part of it.
  step: ["name", "hash", "span", "fingerprint"]
}

/** Fields whose value is a filter tree, shown as `where` text rather than flattened. */
const filterKeys = new Set(["where", "selection"])

const flatten = (prefix: string, value: IrJson, out: Array<readonly [string, IrJson]>): void => {
  if (isJsonRecord(value) && !filterKeys.has(prefix) && Object.keys(value).length > 0) {
    for (const key of Object.keys(value).sort()) flatten(`${prefix}.${key}`, value[key]!, out)
  } else {
    out.push([prefix, value])
  }
}

/** Kinds whose fields are their IR keys as they are, in the order a plan lists them. */
const plainFields: Readonly<Record<"software" | "grouping" | "pipeline", ReadonlyArray<string>>> = {
  software: ["description", "image", "command"],
  grouping: ["description", "from", "where", "selection"],
  pipeline: ["description", "data", "location", "trigger", "priority", "enabled"]
}

const viewOf = (kind: EntityKind, d: JsonRecord): Record<string, IrJson> => {
  const rest: Record<string, IrJson> = {}
  const used = new Set(notFields[kind])
  const take = (key: string): IrJson => {
    used.add(key)
    return d[key] ?? null
  }
  const view: Record<string, IrJson> = {}
  switch (kind) {
    case "location": {
      view["description"] = take("description")
      view["site"] = take("site")
      const backend = take("backend")
      view["backend"] = isJsonRecord(backend) ? (backend["kind"] ?? null) : backend
      if (isJsonRecord(backend) && isJsonRecord(backend["options"])) {
        for (const [k, v] of Object.entries(backend["options"])) view[`backend.${k}`] = v
      }
      view["base_dir"] = take("baseDir")
      view["purge_above"] = take("purgeAbovePercent")
      view["container"] = take("containerRuntime")
      break
    }
    case "software":
    case "grouping":
    case "pipeline":
      for (const key of plainFields[kind]) view[key] = take(key)
      break
    case "step": {
      view["description"] = take("description")
      view["after"] = take("after")
      const software = take("software")
      if (isJsonRecord(software)) {
        view["run"] = `${jsonText(software["name"])} ${jsonText(software["range"])}`
        view["version"] = software["version"] ?? null
        view["image"] = software["image"] ?? null
      }
      view["command"] = take("command")
      view["group_by"] = take("groupBy")
      view["cooldown"] = take("cooldownSeconds")
      view["config"] = take("config")
      const resources = take("resources")
      if (isJsonRecord(resources)) {
        const names: Record<string, string> = { memoryBytes: "memory", timeSeconds: "time" }
        for (const [k, v] of Object.entries(resources)) view[`resources.${names[k] ?? k}`] = v
      }
      // Absent unless declared, so that a step without the block has no such field at all.
      const outputs = take("outputs")
      if (outputs !== null) view["outputs"] = outputsText(outputs)
      view["retries"] = take("retries")
      // Like `outputs`: absent unless written, so that a step without them has no such fields.
      const retryOn = take("retryOn")
      if (retryOn !== null) view["retries.on"] = retryOn
      const retryAdjust = take("retryAdjust")
      if (retryAdjust !== null) view["retries.adjust"] = retryAdjustText(retryAdjust)
      view["timeout"] = take("timeoutSeconds")
      view["version_policy"] = take("versionPolicy")
      view["final"] = take("final")
      view["fan_out"] = take("fanOut")
      break
    }
  }
  for (const [k, v] of Object.entries(d)) if (!used.has(k)) rest[k] = v
  return { ...view, ...rest }
}

/**
 * A step's `outputs` rules as the block is written, `{ science "*.fits" min 1  plots min 0 }`: one
 * field, since rules have no names to diff by, and one line, in the IR's order of rules.
 */
const outputsText = (outputs: IrJson): IrJson => {
  if (!isJsonArray(outputs)) return outputs
  const rules = outputs.map((r) =>
    isJsonRecord(r)
      ? `${jsonText(r["kind"])}${typeof r["pattern"] === "string" ? ` ${encodeString(r["pattern"])}` : ""} min ${jsonText(r["min"])}`
      : JSON.stringify(r)
  )
  return rules.length === 0 ? "{}" : `{ ${rules.join("  ")} }`
}

/**
 * A step's retry adjustments as its braces are written, `{ on OOM memory x2  on TIMEOUT time x1.5 }`:
 * one field, in the IR's order, as for `outputs`.
 */
const retryAdjustText = (adjust: IrJson): IrJson => {
  if (!isJsonArray(adjust)) return adjust
  const rules = adjust.map((a) =>
    isJsonRecord(a) ? `on ${jsonText(a["reason"])} ${jsonText(a["resource"])} x${jsonText(a["factor"])}` : JSON.stringify(a)
  )
  return rules.length === 0 ? "{}" : `{ ${rules.join("  ")} }`
}

/** The fields of a definition, flattened to dotted paths. */
export const fieldsOf = (kind: EntityKind, definition: JsonRecord): Map<string, IrJson> => {
  const out: Array<readonly [string, IrJson]> = []
  for (const [k, v] of Object.entries(viewOf(kind, definition))) {
    // An empty `config {}` is no field at all, so that adding its first key reads as one change.
    if (isJsonRecord(v) && Object.keys(v).length === 0) continue
    flatten(k, v, out)
  }
  return new Map(out)
}

/** A software's versions (ascending, as the IR lists them). */
export const versionsOf = (definition: JsonRecord): ReadonlyArray<string> => {
  const v = definition["versions"]
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []
}

/** The order a plan lists fields in: as they are declared in a block, config keys by name. */
const fieldOrder: Readonly<Record<EntityKind, ReadonlyArray<string>>> = {
  location: ["description", "site", "backend", "base_dir", "purge_above", "container"],
  software: ["description", "image", "versions", "command"],
  grouping: ["description", "from", "where", "selection"],
  pipeline: ["description", "data", "location", "trigger.mode", "trigger.cron", "trigger.timezone", "trigger", "priority", "enabled"],
  step: [
    "description",
    "after",
    "run",
    "version",
    "image",
    "command",
    "group_by",
    "cooldown",
    "config",
    "resources.cpus",
    "resources.memory",
    "resources.time",
    "resources.partition",
    "resources.gpus",
    "resources",
    "outputs",
    "retries",
    "retries.on",
    "retries.adjust",
    "timeout",
    "version_policy",
    "final",
    "fan_out"
  ]
}

export const compareFields = (kind: EntityKind) => {
  const order = fieldOrder[kind]
  const rank = (field: string): number => {
    const exact = order.indexOf(field)
    if (exact >= 0) return exact
    const section = order.indexOf(field.split(".")[0]!)
    return section >= 0 ? section : order.length
  }
  return (a: string, b: string): number => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0)
}

const formats: ReadonlyArray<readonly [RegExp, FieldFormat]> = [
  [/^(cooldown|timeout|resources\.time)$/, "duration"],
  [/^resources\.memory$/, "size"],
  [/^purge_above$/, "percent"],
  // `outputs` is already written out as the block reads (see `outputsText`).
  [/^(backend|container|data|location|from|run|version|version_policy|trigger\.mode|outputs|retries\.adjust)$/, "word"],
  [/^(after|group_by|retries\.on)$/, "words"],
  [/^(where|selection)$/, "filter"]
]

/** How a field's values are written; only known fields have units. */
export const fieldFormat = (kind: EntityKind, field: string): FieldFormat => {
  // Config values are the user's own data: never reinterpreted, whatever their key.
  if (kind === "step" && field.startsWith("config.")) return "literal"
  for (const [pattern, format] of formats) if (pattern.test(field)) return format
  return "literal"
}

/** Step fields that enter the fingerprint, and those that change what a step reads. */
export const fingerprintFields: ReadonlySet<string> = new Set(["run", "version", "image", "command", "config", "version_policy"])
export const inputFields: ReadonlySet<string> = new Set(["after", "group_by", "fan_out"])

/** `config.calibration_mode` → `config`: the part of a field a summary names. */
export const fieldSection = (field: string): string => field.split(".")[0]!
