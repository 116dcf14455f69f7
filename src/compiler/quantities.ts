/*
 * Units of durations and sizes. Sizes accept binary (KiB, MiB, GiB, TiB: powers of 1024) and
 * decimal (kB, MB, GB, TB: powers of 1000) units, spelled exactly. A bare `G` or `M` is refused:
 * Slurm reads `16G` as GiB, most people as GB, and the language never guesses.
 */

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
  return match === null ? { number: Number.NaN, numberText: "", unit: text } : { number: Number(match[1]), numberText: match[1]!, unit: match[2]! }
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
    sec: "s", secs: "s", second: "s", seconds: "s", min: "m", mins: "m", minute: "m", minutes: "m",
    hr: "h", hrs: "h", hour: "h", hours: "h", day: "d", days: "d", week: "w", weeks: "w",
    kib: "KiB", mib: "MiB", gib: "GiB", tib: "TiB", kb: "kB", KB: "kB", mb: "MB", gb: "GB", tb: "TB"
  }
  const fixed = lower[unit]
  if (fixed !== undefined) return `did you mean \`${fixed}\`?`
  if (expected === "duration") return "durations take ms, s, m, h, d or w"
  if (expected === "size") return "sizes take B, KiB, MiB, GiB, TiB (binary) or kB, MB, GB, TB (decimal)"
  return "durations take ms, s, m, h, d, w; sizes take KiB, MiB, GiB, TiB or kB, MB, GB, TB"
}

export const formatDuration = (seconds: number): string => {
  for (const [unit, factor] of [["w", 604_800], ["d", 86_400], ["h", 3600], ["m", 60], ["s", 1]] as const) {
    if (seconds >= factor && seconds % factor === 0) return `${seconds / factor}${unit}`
  }
  return `${seconds * 1000}ms`
}

/** Decodes the escapes of a string literal; returns the bad escapes (offsets within the literal). */
const noBadEscapes: ReadonlyArray<{ offset: number; sequence: string }> = Object.freeze([])

export const decodeString = (
  literal: string
): { value: string; badEscapes: ReadonlyArray<{ offset: number; sequence: string }>; terminated: boolean } => {
  const terminated = literal.length >= 2 && literal.endsWith('"') && !isEscapedQuote(literal)
  const body = literal.slice(1, terminated ? -1 : undefined)
  // Most strings have no escape: their value is the body as it stands.
  if (!body.includes("\\")) return { value: body, badEscapes: noBadEscapes, terminated }
  const badEscapes: Array<{ offset: number; sequence: string }> = []
  let value = ""
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!
    if (c !== "\\") {
      value += c
      continue
    }
    const next = body[i + 1]
    const simple: Record<string, string> = { n: "\n", t: "\t", r: "\r", '"': '"', "\\": "\\", "0": "\0" }
    if (next !== undefined && simple[next] !== undefined) {
      value += simple[next]
      i++
    } else if (next === "u" && body[i + 2] === "{") {
      const close = body.indexOf("}", i + 3)
      const hex = close === -1 ? "" : body.slice(i + 3, close)
      const code = /^[0-9A-Fa-f]{1,6}$/.test(hex) ? Number.parseInt(hex, 16) : Number.NaN
      if (Number.isNaN(code) || code > 0x10ffff) {
        badEscapes.push({ offset: i + 1, sequence: body.slice(i, close === -1 ? i + 2 : close + 1) })
        i += 1
      } else {
        value += String.fromCodePoint(code)
        i = close
      }
    } else {
      badEscapes.push({ offset: i + 1, sequence: `\\${next ?? ""}` })
      i++
    }
  }
  return { value, badEscapes, terminated }
}

// `"abc\"` ends in a quote that is escaped: the string is still open.
const isEscapedQuote = (literal: string): boolean => {
  let backslashes = 0
  for (let i = literal.length - 2; i >= 1 && literal[i] === "\\"; i--) backslashes++
  return backslashes % 2 === 1
}

/** Renders a string as a `.ccat` literal, escaping what needs it. */
export const encodeString = (value: string): string =>
  `"${value.replace(/[\\"\n\r\t\0]/g, (c) => ({ "\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0" })[c]!)}"`
