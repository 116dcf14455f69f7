/*
 * Units of durations and sizes. Sizes accept binary (KiB, MiB, GiB, TiB: powers of 1024) and
 * decimal (kB, MB, GB, TB: powers of 1000) units, spelled exactly. A bare `G` or `M` is refused:
 * Slurm reads `16G` as GiB, most people as GB, and the language never guesses.
 */

import { didYouMeanText } from "./suggest.ts"

export const durationUnits: Readonly<Record<string, number>> = {
  ms: 0.001,
  s: 1,
  m: 60,
  h: 3600,
  d: 86_400,
  w: 604_800
}

export const sizeUnits: Readonly<Record<string, number>> = {
  B: 1,
  kB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4
}

export type Quantity =
  | { readonly kind: "duration"; readonly seconds: number }
  | { readonly kind: "size"; readonly bytes: number }
  | { readonly kind: "unknown"; readonly number: number; readonly unit: string }

// The number part as the lexer reads it (Quantity in lexer.ts): no unit starts with an exponent.
const quantityParts = /^(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(.*)$/

export const splitQuantity = (text: string): { number: number; numberText: string; unit: string } => {
  const match = quantityParts.exec(text)
  return match === null
    ? { number: Number.NaN, numberText: "", unit: text }
    : { number: Number(match[1]), numberText: match[1]!, unit: match[2]! }
}

export const parseQuantity = (text: string): Quantity => {
  const { number, unit } = splitQuantity(text)
  const d = durationUnits[unit]
  if (d !== undefined) return { kind: "duration", seconds: number * d }
  const s = sizeUnits[unit]
  if (s !== undefined) return { kind: "size", bytes: Math.round(number * s) }
  return { kind: "unknown", number, unit }
}

/**
 * The largest whole number a JavaScript number (and so the IR, and the runtime reading it) holds
 * exactly: beyond it, integers are rounded silently and durations or sizes stop adding up.
 */
export const maxExactInteger = Number.MAX_SAFE_INTEGER

/**
 * Why the digits of a number literal do not stand for the number they spell, or undefined. An
 * exponent or a run of digits can leave the range of a double (`1e999` is Infinity, which JSON
 * cannot even write), and an integer past `maxExactInteger` is rounded to another one.
 */
export const numberRangeProblem = (text: string, integer: boolean): string | undefined => {
  const n = Number(text)
  if (!Number.isFinite(n)) return "is not a finite number"
  if (integer && !Number.isSafeInteger(n)) return `is beyond ±${maxExactInteger}, the largest whole number held exactly`
  return undefined
}

/**
 * Why a duration or size cannot be held exactly after its unit is applied, or undefined:
 * durations are counted in milliseconds and sizes in bytes, each at most `maxExactInteger`.
 * Written as negations so that NaN fails too.
 */
export const quantityRangeProblem = (q: Quantity): string | undefined => {
  if (q.kind === "duration" && !(q.seconds * 1000 <= maxExactInteger)) return `is longer than ${maxExactInteger} ms (about 285 000 years)`
  if (q.kind === "size" && !(q.bytes <= maxExactInteger)) return `is larger than ${maxExactInteger} bytes (8 PiB)`
  return undefined
}

/** Help for a unit the language does not accept: the likely intended spelling. */
export const unitHelp = (unit: string, expected: "duration" | "size" | "either"): string => {
  const bare: Record<string, string> = { K: "KiB", k: "KiB", M: "MiB", G: "GiB", T: "TiB" }
  const binary = bare[unit]
  if (binary !== undefined && expected !== "duration") {
    return `write \`${binary}\` (binary, as Slurm reads \`${unit}\`) or \`${binary.replace("i", "").replace("K", "k")}\` (decimal)`
  }
  const lower: Record<string, string> = {
    sec: "s",
    secs: "s",
    second: "s",
    seconds: "s",
    min: "m",
    mins: "m",
    minute: "m",
    minutes: "m",
    hr: "h",
    hrs: "h",
    hour: "h",
    hours: "h",
    day: "d",
    days: "d",
    week: "w",
    weeks: "w",
    kib: "KiB",
    mib: "MiB",
    gib: "GiB",
    tib: "TiB",
    kb: "kB",
    KB: "kB",
    mb: "MB",
    gb: "GB",
    tb: "TB"
  }
  const fixed = lower[unit]
  if (fixed !== undefined) return didYouMeanText(fixed)
  if (expected === "duration") return "durations take ms, s, m, h, d or w"
  if (expected === "size") return "sizes take B, KiB, MiB, GiB, TiB (binary) or kB, MB, GB, TB (decimal)"
  return "durations take ms, s, m, h, d, w; sizes take KiB, MiB, GiB, TiB or kB, MB, GB, TB"
}

export const formatDuration = (seconds: number): string => {
  for (const [unit, factor] of [
    ["w", 604_800],
    ["d", 86_400],
    ["h", 3600],
    ["m", 60],
    ["s", 1]
  ] as const) {
    if (seconds >= factor && seconds % factor === 0) return `${seconds / factor}${unit}`
  }
  return `${seconds * 1000}ms`
}

const noBadEscapes: ReadonlyArray<{ offset: number; sequence: string }> = Object.freeze([])

/**
 * The value of a string literal, its bad escapes, and where it holds the NUL character (raw, or
 * escaped as `\0` or `\u{0}`), which the database cannot store in text (E102). Offsets are
 * into the literal, its opening quote at 0.
 */
export const decodeString = (
  literal: string
): {
  value: string
  badEscapes: ReadonlyArray<{ offset: number; sequence: string }>
  nul: { offset: number; length: number } | undefined
  terminated: boolean
} => {
  const terminated = literal.length >= 2 && literal.endsWith('"') && !isEscapedQuote(literal)
  const body = literal.slice(1, terminated ? -1 : undefined)
  const rawNul = body.indexOf("\0")
  let nul = rawNul === -1 ? undefined : { offset: rawNul + 1, length: 1 }
  // Most strings have no escape: their value is the body as it stands.
  if (!body.includes("\\")) return { value: body, badEscapes: noBadEscapes, nul, terminated }
  const badEscapes: Array<{ offset: number; sequence: string }> = []
  const parts: Array<string> = []
  let plainFrom = 0
  const escaped = (i: number, length: number, decoded: string): void => {
    parts.push(body.slice(plainFrom, i), decoded)
    plainFrom = i + length
    if (decoded === "\0" && (nul === undefined || i + 1 < nul.offset)) nul = { offset: i + 1, length }
  }
  for (let i = body.indexOf("\\"); i !== -1 && i < body.length; i = body.indexOf("\\", i)) {
    const next = body[i + 1]
    const simple = next === undefined ? undefined : simpleEscapes[next]
    if (simple !== undefined) {
      escaped(i, 2, simple)
      i += 2
    } else if (next === "u" && body[i + 2] === "{") {
      // At most six hex digits: looking further for the `}` made `"\u{\u{\u{…` quadratic.
      const close = body.slice(i + 3, i + 10).indexOf("}")
      const hex = close === -1 ? "" : body.slice(i + 3, i + 3 + close)
      const code = /^[0-9A-Fa-f]{1,6}$/.test(hex) ? Number.parseInt(hex, 16) : Number.NaN
      if (Number.isNaN(code) || code > 0x10ffff) {
        const sequence = body.slice(i, close === -1 ? i + 2 : i + 3 + close + 1)
        badEscapes.push({ offset: i + 1, sequence })
        // Only `\u` is dropped from the value, as before; what follows it stays text.
        escaped(i, 2, "")
        i += 2
      } else {
        escaped(i, 4 + close, String.fromCodePoint(code))
        i += 4 + close
      }
    } else {
      const sequence = `\\${next ?? ""}`
      badEscapes.push({ offset: i + 1, sequence })
      escaped(i, sequence.length, "")
      i += sequence.length
    }
  }
  parts.push(body.slice(plainFrom))
  return { value: parts.join(""), badEscapes, nul, terminated }
}

const simpleEscapes: Readonly<Record<string, string>> = { n: "\n", t: "\t", r: "\r", '"': '"', "\\": "\\", "0": "\0" }

// `"abc\"` ends in a quote that is escaped: the string is still open.
const isEscapedQuote = (literal: string): boolean => {
  let backslashes = 0
  for (let i = literal.length - 2; i >= 1 && literal[i] === "\\"; i--) backslashes++
  return backslashes % 2 === 1
}

/** Renders a string as a `.ccat` literal, escaping what needs it. */
export const encodeString = (value: string): string =>
  `"${value.replace(/[\\"\n\r\t\0]/g, (c) => ({ "\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0" })[c]!)}"`
