import { createHash } from "node:crypto"

/*
 * Canonical JSON: object keys sorted by code unit, no insignificant whitespace, numbers in
 * JavaScript's shortest round-trip form, `-0` as `0`. The same value always gives the same bytes,
 * which is what content hashes and byte-identical IR files need.
 */

export const canonicalJson = (value: unknown, indent?: number): string => {
  const render = (v: unknown, depth: number): string => {
    if (v === null || v === undefined) return "null"
    if (typeof v === "number") {
      if (!Number.isFinite(v)) throw new Error("canonicalJson: non-finite number")
      return Object.is(v, -0) ? "0" : JSON.stringify(v)
    }
    if (typeof v === "string" || typeof v === "boolean") return JSON.stringify(v)
    const pad = indent === undefined ? "" : "\n" + " ".repeat(indent * (depth + 1))
    const close = indent === undefined ? "" : "\n" + " ".repeat(indent * depth)
    const sep = indent === undefined ? ":" : ": "
    if (Array.isArray(v)) {
      if (v.length === 0) return "[]"
      return `[${v.map((x) => pad + render(x, depth + 1)).join(",")}${close}]`
    }
    const keys = Object.keys(v as object)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
    if (keys.length === 0) return "{}"
    return `{${keys.map((k) => `${pad}${JSON.stringify(k)}${sep}${render((v as Record<string, unknown>)[k], depth + 1)}`).join(",")}${close}}`
  }
  return render(value, 0)
}

export const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex")

/** The content hash of an entity: its canonical form without spans or hashes. */
export const contentHash = (value: unknown): string => sha256(canonicalJson(stripForHash(value)))

const stripForHash = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(stripForHash)
  if (value === null || typeof value !== "object") return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    if (k === "span" || k === "hash") continue
    out[k] = stripForHash(v)
  }
  return out
}
