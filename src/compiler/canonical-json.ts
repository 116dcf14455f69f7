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
    const order = keyOrderOf(record)
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
  /** The same without the keys content hashes leave out. */
  readonly hashedKeys: ReadonlyArray<string>
  readonly hashedQuoted: ReadonlyArray<string>
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
// What content hashes leave out (see `contentHash`).
const notHashed: ReadonlySet<string> = new Set(["span", "hash"])
let keyTrieNodes = 0
const maxKeyTrieNodes = 10_000

const orderOf = (keys: ReadonlyArray<string>): KeyOrder => {
  const sorted = [...keys].sort()
  const hashed = sorted.filter((k) => !notHashed.has(k))
  return {
    keys: sorted,
    quoted: sorted.map((k) => JSON.stringify(k)),
    hashedKeys: hashed,
    hashedQuoted: hashed.map((k) => JSON.stringify(k))
  }
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

/**
 * `sortedKeys(Object.keys(record))`, but for a plain object whose key list is known already,
 * found by walking the trie with `for…in` (no array made). A plain object inherits no
 * enumerable keys, so `for…in` lists exactly `Object.keys`, in the same order.
 */
const keyOrderOf = (record: Record<string, unknown>): KeyOrder => {
  if (Object.getPrototypeOf(record) === Object.prototype) {
    let node: KeyTrie | undefined = keyTrie
    for (const k in record) {
      node = node.next.get(k)
      if (node === undefined) break
    }
    if (node?.order !== undefined) return node.order
  }
  return sortedKeys(Object.keys(record))
}

// `crypto.hash` (Node 20.12+) hashes in one call, without a Hash object per digest; the
// compiler makes tens of thousands of small digests. Same bytes (UTF-8), same hex.
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string | Uint8Array, encoding: "hex") => string }).hash

const sha256Of = (data: string | Uint8Array): string =>
  oneShotHash !== undefined ? oneShotHash("sha256", data, "hex") : crypto.createHash("sha256").update(data).digest("hex")

export const sha256 = (text: string): string => sha256Of(text)

/**
 * Canonical JSON (compact, without `notHashed` keys) written as UTF-8 straight into a reused
 * buffer, for hashing: the bytes `canonicalJson(value, undefined, notHashed)` would give,
 * without building the string first. Lowering hashes every entity and step, and the strings,
 * thrown away at once, were most of its garbage. Must stay in step with `render` in
 * `canonicalJson`; the golden IR tests hold both to the same hashes.
 */
class CanonicalBytes {
  private bytes = Buffer.allocUnsafe(1 << 16)
  private length = 0

  digest(value: unknown): string {
    this.length = 0
    this.render(value)
    return sha256Of(this.bytes.subarray(0, this.length))
  }

  private reserve(n: number): void {
    if (this.length + n <= this.bytes.length) return
    const bigger = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.length + n))
    this.bytes.copy(bigger, 0, 0, this.length)
    this.bytes = bigger
  }

  private byte(b: number): void {
    this.reserve(1)
    this.bytes[this.length++] = b
  }

  /** A string's UTF-8 bytes: ASCII copied here, the rest (never half a surrogate pair) by Buffer. */
  private text(t: string): void {
    this.reserve(t.length * 3)
    const bytes = this.bytes
    let at = this.length
    let i = 0
    for (; i < t.length; i++) {
      const c = t.charCodeAt(i)
      if (c >= 0x80) break
      bytes[at++] = c
    }
    if (i < t.length) at += bytes.write(t.slice(i), at, "utf8")
    this.length = at
  }

  private render(v: unknown): void {
    if (v === null || v === undefined) {
      this.text("null")
      return
    }
    switch (typeof v) {
      case "number":
        if (!Number.isFinite(v)) throw new Error("canonicalJson: non-finite number")
        this.text(String(v))
        return
      case "string":
        if (needsEscape.test(v)) this.text(JSON.stringify(v))
        else {
          this.byte(0x22)
          this.text(v)
          this.byte(0x22)
        }
        return
      case "boolean":
        this.text(v ? "true" : "false")
        return
    }
    if (Array.isArray(v)) {
      this.byte(0x5b)
      for (let i = 0; i < v.length; i++) {
        if (i > 0) this.byte(0x2c)
        this.render(v[i])
      }
      this.byte(0x5d)
      return
    }
    const record = v as Record<string, unknown>
    const order = keyOrderOf(record)
    let first = true
    this.byte(0x7b)
    for (let i = 0; i < order.hashedKeys.length; i++) {
      const x = record[order.hashedKeys[i]!]
      if (x === undefined) continue
      if (!first) this.byte(0x2c)
      first = false
      this.text(order.hashedQuoted[i]!)
      this.byte(0x3a)
      this.render(x)
    }
    this.byte(0x7d)
  }
}

const hashWriter = new CanonicalBytes()
let hashWriterBusy = false

/**
 * The content hash of an entity: its canonical form without spans or hashes. Spans stay out so
 * that moving a declaration, or renaming its file, changes no hash.
 */
export const contentHash = (value: unknown): string => {
  // One shared buffer; a nested call (none today) gets its own rather than clobbering it.
  if (hashWriterBusy) return new CanonicalBytes().digest(value)
  hashWriterBusy = true
  try {
    return hashWriter.digest(value)
  } finally {
    hashWriterBusy = false
  }
}
