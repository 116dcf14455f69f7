import { createHash } from "node:crypto"

/*
 * Canonical JSON: object keys sorted by code unit, no insignificant whitespace, numbers in
 * JavaScript's shortest round-trip form, `-0` as `0`. The same value always gives the same bytes,
 * which is what content hashes and byte-identical IR files need.
 */

// Characters JSON must escape; strings without them are written as they are (the common case).
const needsEscape = /["\\\u0000-\u001f\ud800-\udfff]/

export const canonicalJson = (value: unknown, indent?: number, skipKeys?: ReadonlySet<string>): string => {
  // One growing string: V8 appends to it cheaply, and no intermediate arrays are made.
  let out = ""
  const newline = (depth: number): void => {
    if (indent !== undefined) out += "\n" + " ".repeat(indent * depth)
  }
  const render = (v: unknown, depth: number): void => {
    if (v === null || v === undefined) {
      out += "null"
      return
    }
    switch (typeof v) {
      case "number":
        if (!Number.isFinite(v)) throw new Error("canonicalJson: non-finite number")
        // String() is JSON's number form for finite numbers, and writes -0 as "0".
        out += String(v)
        return
      case "string":
        out += needsEscape.test(v) ? JSON.stringify(v) : `"${v}"`
        return
      case "boolean":
        out += v ? "true" : "false"
        return
    }
    if (Array.isArray(v)) {
      if (v.length === 0) {
        out += "[]"
        return
      }
      out += "["
      for (let i = 0; i < v.length; i++) {
        if (i > 0) out += ","
        newline(depth + 1)
        render(v[i], depth + 1)
      }
      newline(depth)
      out += "]"
      return
    }
    const record = v as Record<string, unknown>
    const keys = Object.keys(record).sort()
    let first = true
    out += "{"
    for (const k of keys) {
      const x = record[k]
      if (x === undefined || skipKeys?.has(k) === true) continue
      if (!first) out += ","
      first = false
      newline(depth + 1)
      out += JSON.stringify(k) + (indent === undefined ? ":" : ": ")
      render(x, depth + 1)
    }
    if (!first) newline(depth)
    out += "}"
  }
  render(value, 0)
  return out
}

export const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex")

const notHashed: ReadonlySet<string> = new Set(["span", "hash"])

/**
 * The content hash of an entity: its canonical form without spans or hashes. Spans stay out so
 * that moving a declaration, or renaming its file, changes no hash.
 */
export const contentHash = (value: unknown): string => sha256(canonicalJson(value, undefined, notHashed))
