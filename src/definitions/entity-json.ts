import { contentHash } from "../compiler/canonical-json.ts"
import type { IrJson } from "../compiler/ir.ts"

/*
 * Definitions as plain JSON: what a definition row stores in its `definition` column and what
 * a plan compares. Spans are left out everywhere (a moved declaration is not a change), so a
 * stored definition and a freshly compiled one compare field by field.
 */

export type JsonRecord = { readonly [key: string]: IrJson }

export const isJsonRecord = (value: IrJson | undefined): value is JsonRecord =>
  value !== null && value !== undefined && typeof value === "object" && !Array.isArray(value)

/** A deep copy of an IR value as JSON, without any `span` key (filters carry spans inside). */
export const withoutSpans = (value: unknown): IrJson => {
  if (Array.isArray(value)) return value.map(withoutSpans)
  if (value === null || value === undefined) return null
  if (typeof value === "object") {
    const out: Record<string, IrJson> = {}
    for (const [k, v] of Object.entries(value)) {
      if (k === "span" || v === undefined) continue
      out[k] = withoutSpans(v)
    }
    return out
  }
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value
  throw new Error(`withoutSpans: not JSON: ${typeof value}`)
}

/** An IR entity as the record a definition row stores. */
export const definitionJson = (entity: object, omit: ReadonlyArray<string> = []): JsonRecord => {
  const json = withoutSpans(entity)
  if (!isJsonRecord(json)) throw new Error("definitionJson: not an object")
  if (omit.length === 0) return json
  return Object.fromEntries(Object.entries(json).filter(([k]) => !omit.includes(k)))
}

/**
 * What an entity is apart from its name: equal for a declaration that was only renamed. Used to
 * recognise a rename (same content, one name retired and another created in the same plan).
 */
export const namelessHash = (definition: JsonRecord): string => contentHash({ ...definition, name: undefined })

/** Reads a string field of a stored or compiled definition. */
export const stringField = (definition: JsonRecord, key: string): string | null => {
  const v = definition[key]
  return typeof v === "string" ? v : null
}

/** A pipeline's row holds its own fields; its steps are rows of `reduction_step`. */
export const pipelineDefinition = (pipeline: object): JsonRecord => definitionJson(pipeline, ["steps"])
