import type { IrJson } from "../compiler/ir.ts"
import { encodeString } from "../compiler/quantities.ts"
import { isJsonRecord, type JsonRecord } from "./entity-json.ts"
import { isJsonArray, jsonText } from "./json-text.ts"

/*
 * A filter of the IR (or of a stored definition) written back in the language's syntax, so
 * that a plan shows `Source.name == "NGC253"` rather than a JSON tree. Parentheses only where
 * precedence (loosest first: or, and, not) needs them.
 */

const precedence = { or: 1, and: 2, not: 3, atom: 4 } as const

const text = (v: IrJson | undefined): string => (typeof v === "string" ? v : "")

const column = (f: JsonRecord): string => {
  const path = isJsonArray(f["jsonPath"]) ? f["jsonPath"].map((p) => `.${text(p)}`).join("") : ""
  return `${text(f["table"])}.${text(f["column"])}${path}`
}

const value = (v: IrJson | undefined): string => {
  if (!isJsonRecord(v)) return jsonText(v)
  const raw = v["value"]
  if (v["type"] === "string" && typeof raw === "string") return encodeString(raw)
  // Numbers, booleans, dates and timestamps are written bare, as in the source.
  return jsonText(raw)
}

const render = (f: IrJson, outer: number): string => {
  if (!isJsonRecord(f)) return jsonText(f)
  const [own, body] = ((): [number, string] => {
    switch (f["kind"]) {
      case "and":
      case "or": {
        const p = precedence[f["kind"]]
        const operands = isJsonArray(f["operands"]) ? f["operands"] : []
        return [p, operands.map((o) => render(o, p)).join(` ${f["kind"]} `)]
      }
      case "not":
        return [precedence.not, `not ${render(f["operand"] ?? null, precedence.not)}`]
      case "compare":
        return [precedence.atom, `${column(f)} ${text(f["operator"])} ${value(f["value"])}`]
      case "in": {
        const values = isJsonArray(f["values"]) ? f["values"].map(value).join(", ") : ""
        return [precedence.atom, `${column(f)} ${f["negated"] === true ? "not in" : "in"} (${values})`]
      }
      case "like":
        return [precedence.atom, `${column(f)} ${f["negated"] === true ? "not like" : "like"} ${encodeString(text(f["pattern"]))}`]
      default:
        return [precedence.atom, JSON.stringify(f)]
    }
  })()
  // `a and b` inside an `and` needs no parentheses; inside a `not` or under an `or` of lower
  // precedence it does.
  return own < outer || (own === outer && outer === precedence.not) ? `(${body})` : body
}

export const renderFilter = (filter: IrJson): string => render(filter, 0)
