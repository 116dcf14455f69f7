import type { IrJson } from "../compiler/ir.ts"
import { encodeString, formatDuration } from "../compiler/quantities.ts"
import { isJsonRecord } from "./entity-json.ts"
import { isJsonArray, jsonText } from "./json-text.ts"
import { renderFilter } from "./render-filter.ts"

/*
 * Field values for people, in the units the language writes them: `120s` rather than 120,
 * `16GiB` rather than 17179869184, a filter as its `where` text.
 */

export type FieldFormat =
  /** A string in quotes, a number, a list, a config map: as a `.ccat` literal. */
  | "literal"
  /** A name or keyword: written bare (`slurm`, `chai_archived`, `exact`). */
  | "word"
  /** A list of names: `source, line`. */
  | "words"
  | "duration"
  | "size"
  | "percent"
  | "filter"

const notSet = "(not set)"

const sizeUnits: ReadonlyArray<readonly [string, number]> = [
  ["TiB", 1024 ** 4],
  ["TB", 1e12],
  ["GiB", 1024 ** 3],
  ["GB", 1e9],
  ["MiB", 1024 ** 2],
  ["MB", 1e6],
  ["KiB", 1024],
  ["kB", 1e3]
]

/** The largest unit that divides the size exactly, binary or decimal: `16GiB`, `1GB`, `512B`. */
export const formatSize = (bytes: number): string => {
  for (const [unit, factor] of sizeUnits) if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${unit}`
  return `${bytes}B`
}

const literal = (v: IrJson): string => {
  if (v === null) return "null"
  if (typeof v === "string") return encodeString(v)
  if (typeof v === "number" || typeof v === "boolean") return String(v)
  if (isJsonArray(v)) return `[${v.map(literal).join(", ")}]`
  if (isJsonRecord(v)) {
    const entries = Object.entries(v)
    return entries.length === 0
      ? "{}"
      : `{ ${entries.map(([k, x]) => `${/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? k : encodeString(k)} = ${literal(x)}`).join("  ")} }`
  }
  return jsonText(v)
}

export const formatValue = (format: FieldFormat, v: IrJson | undefined): string => {
  if (v === undefined || v === null) return notSet
  switch (format) {
    case "duration":
      return typeof v === "number" ? (v === 0 ? "0s" : formatDuration(v)) : literal(v)
    case "size":
      return typeof v === "number" ? formatSize(v) : literal(v)
    case "percent":
      return typeof v === "number" ? `${v}%` : literal(v)
    case "word":
      return typeof v === "string" ? v : literal(v)
    case "words":
      return isJsonArray(v) ? (v.length === 0 ? "(none)" : v.map((x) => (typeof x === "string" ? x : literal(x))).join(", ")) : literal(v)
    case "filter":
      return renderFilter(v)
    case "literal":
      return literal(v)
  }
}
