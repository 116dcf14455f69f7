/*
 * "Did you mean" for names, keywords, tables and columns: the closest candidate by optimal
 * string alignment distance (Levenshtein plus transposition), within a third of the word's
 * length. A match differing only in case always wins: `source.name` → `Source.name`.
 */

export const editDistance = (a: string, b: string): number => {
  const rows = a.length + 1
  const cols = b.length + 1
  const d: Array<Array<number>> = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1)
      d[i]![j] = best
    }
  }
  return d[a.length]![b.length]!
}

export const suggest = (word: string, candidates: Iterable<string>): string | undefined => {
  const lower = word.toLowerCase()
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  const limit = Math.max(1, Math.floor(word.length / 3))
  for (const candidate of candidates) {
    if (candidate === word) continue
    if (candidate.toLowerCase() === lower) return candidate
    // Cheap bound first: lengths that differ by more than the limit cannot match.
    if (Math.abs(candidate.length - word.length) > limit) continue
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
