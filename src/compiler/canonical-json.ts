import * as crypto from "node:crypto"

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
  const separator = indent === undefined ? ":" : ": "
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
    const order = sortedKeys(Object.keys(record))
    let first = true
    out += "{"
    for (let i = 0; i < order.keys.length; i++) {
      const k = order.keys[i]!
      const x = record[k]
      if (x === undefined || skipKeys?.has(k) === true) continue
      if (!first) out += ","
      first = false
      newline(depth + 1)
      out += order.quoted[i]! + separator
      render(x, depth + 1)
    }
    if (!first) newline(depth)
    out += "}"
  }
  render(value, 0)
  return out
}

/** An object's keys in canonical (code unit) order, each also as a JSON string. */
interface KeyOrder {
  readonly keys: ReadonlyArray<string>
  readonly quoted: ReadonlyArray<string>
}

/**
 * The canonical order of a key list, remembered per list: the compiler hashes thousands of
 * objects of a few shapes, and sorting and quoting their keys each time was most of the cost.
 * A trie over the keys as `Object.keys` lists them; the result depends on that list alone.
 * Bounded, since config maps bring keys of their own.
 */
interface KeyTrie {
  readonly next: Map<string, KeyTrie>
  order: KeyOrder | undefined
}

const keyTrie: KeyTrie = { next: new Map(), order: undefined }
let keyTrieNodes = 0
const maxKeyTrieNodes = 10_000

const orderOf = (keys: ReadonlyArray<string>): KeyOrder => {
  const sorted = [...keys].sort()
  return { keys: sorted, quoted: sorted.map((k) => JSON.stringify(k)) }
}

const sortedKeys = (keys: ReadonlyArray<string>): KeyOrder => {
  let node = keyTrie
  for (const k of keys) {
    let child = node.next.get(k)
    if (child === undefined) {
      if (keyTrieNodes >= maxKeyTrieNodes) return orderOf(keys)
      child = { next: new Map(), order: undefined }
      node.next.set(k, child)
      keyTrieNodes++
    }
    node = child
  }
  return (node.order ??= orderOf(keys))
}

// `crypto.hash` (Node 20.12+) hashes in one call, without a Hash object per digest; the
// compiler makes tens of thousands of small digests. Same bytes (UTF-8), same hex.
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: "hex") => string }).hash

export const sha256 = (text: string): string =>
  oneShotHash !== undefined ? oneShotHash("sha256", text, "hex") : crypto.createHash("sha256").update(text).digest("hex")

const notHashed: ReadonlySet<string> = new Set(["span", "hash"])

/**
 * The content hash of an entity: its canonical form without spans or hashes. Spans stay out so
 * that moving a declaration, or renaming its file, changes no hash.
 */
export const contentHash = (value: unknown): string => sha256(canonicalJson(value, undefined, notHashed))
