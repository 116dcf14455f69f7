/*
 * "Did you mean" for names, keywords, tables and columns: the closest candidate by optimal
 * string alignment distance (Levenshtein plus transposition), within a third of the word's
 * length. A match differing only in case always wins: `source.name` → `Source.name`.
 * Every "did you mean" help sentence is written here, so they all read alike.
 */

/**
 * Optimal string alignment distance, in two rows (and a third for transpositions): a full
 * matrix of two long names took memory in the product of their lengths.
 */
export const editDistance = (a: string, b: string): number => {
  let before = new Array<number>(b.length + 1).fill(0)
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  let current = new Array<number>(b.length + 1).fill(0)
  for (let i = 1; i <= a.length; i++) {
    current[0] = i
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, before[j - 2]! + 1)
      current[j] = best
    }
    ;[before, previous, current] = [previous, current, before]
  }
  return previous[b.length]!
}

/** Longer words get no suggestion: nobody mistypes a 65-character name, and comparing costs the product of the lengths. */
const maxSuggestedLength = 64

export interface SuggestOptions {
  /** The farthest a candidate may be; by default a third of the word's length, at least 1. */
  readonly maxDistance?: number
  /**
   * A word that starts with a candidate is as close as can be, for abbreviations written out
   * in full: cron's `JULY` → `JUL`.
   */
  readonly prefixes?: boolean
}

/** The closest candidate; of equally close ones, the first. */
export const suggest = (word: string, candidates: Iterable<string>, options: SuggestOptions = {}): string | undefined => {
  const prefixes = options.prefixes === true
  if (word.length > maxSuggestedLength && !prefixes) return undefined
  const lower = word.toLowerCase()
  const limit = options.maxDistance ?? Math.max(1, Math.floor(word.length / 3))
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const candidate of candidates) {
    if (candidate === word) continue
    // A prefix costs only the candidate's length to test, so it is tried before the bounds.
    if (prefixes && lower.startsWith(candidate.toLowerCase())) {
      if (bestDistance > 0) [best, bestDistance] = [candidate, 0]
      continue
    }
    if (word.length > maxSuggestedLength) continue
    // Cheap bound first: lengths that differ by more than the limit cannot match.
    if (Math.abs(candidate.length - word.length) > limit) continue
    if (candidate.toLowerCase() === lower) return candidate
    const distance = editDistance(lower, candidate.toLowerCase())
    if (distance <= limit && distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best
}

export interface Phrasing {
  /**
   * How the suggestion is written: `code` as `` `X` `` (the default), `string` as a string
   * literal `` `"X"` ``, `placeholder` as `` `{X}` ``, and `quoted` as a JSON string `"X"`
   * for messages outside the language (the serve API).
   */
  readonly as?: "code" | "string" | "placeholder" | "quoted"
  /** "Did you mean", for a sentence of its own after another. */
  readonly capitalized?: boolean
  /** Said after the question, set off by a space. */
  readonly note?: string
}

const written = (suggestion: string, as: Phrasing["as"]): string => {
  switch (as) {
    case "string":
      return `\`"${suggestion}"\``
    case "placeholder":
      return `\`{${suggestion}}\``
    case "quoted":
      return JSON.stringify(suggestion)
    default:
      return `\`${suggestion}\``
  }
}

/**
 * The help sentence for a suggestion, or undefined for none, so that a site can write
 * `didYouMeanText(close) ?? fallback` and still use `close` for its fix.
 */
export function didYouMeanText(suggestion: string, phrasing?: Phrasing): string
export function didYouMeanText(suggestion: string | undefined, phrasing?: Phrasing): string | undefined
export function didYouMeanText(suggestion: string | undefined, phrasing: Phrasing = {}): string | undefined {
  if (suggestion === undefined) return undefined
  const note = phrasing.note === undefined ? "" : ` ${phrasing.note}`
  return `${phrasing.capitalized === true ? "Did" : "did"} you mean ${written(suggestion, phrasing.as)}?${note}`
}

/** `suggest` and its help sentence in one, for sites that offer no fix. */
export const didYouMean = (word: string, candidates: Iterable<string>, options: SuggestOptions & Phrasing = {}): string | undefined =>
  didYouMeanText(suggest(word, candidates, options), options)
