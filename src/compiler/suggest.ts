/*
 * "Did you mean" for names, keywords, tables and columns: the closest candidate by optimal
 * string alignment distance (Levenshtein plus transposition), within a third of the word's
 * length. A match differing only in case always wins: `source.name` → `Source.name`.
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

export const suggest = (word: string, candidates: Iterable<string>): string | undefined => {
  if (word.length > maxSuggestedLength) return undefined
  const lower = word.toLowerCase()
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  const limit = Math.max(1, Math.floor(word.length / 3))
  for (const candidate of candidates) {
    if (candidate === word) continue
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

export const didYouMean = (word: string, candidates: Iterable<string>): string | undefined => {
  const s = suggest(word, candidates)
  return s === undefined ? undefined : `did you mean \`${s}\`?`
}
