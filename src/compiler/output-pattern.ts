// The patterns of an `outputs { }` rule: globs matched against a file's path below its kind's
// folder (`maps/ngc253.fits` for `science/maps/ngc253.fits`), `/`-separated. Pure and free of
// dependencies: the compiler validates patterns with `checkOutputPattern`, the runtime counts a
// run's files with `outputPatternMatches`, and both must read a pattern the same way.
// (Line comments here: a block comment could not hold `**/`.)
//
//   *        any run of characters within one path segment (never `/`), the empty run included
//   ?        exactly one character, never `/`
//   [abc]    one of the listed characters; `[a-z]` a range; `[!x]` any character but those
//            listed; a `]` right after `[` or `[!` is listed, not the end
//   **       as a whole segment: any number of path segments, none included, so `**/*.fits`
//            matches `a.fits` and `maps/a.fits` alike; anywhere else it is refused
//   anything else stands for itself: no braces (`{a,b}`), no escapes. Matching is
//   case-sensitive and `*` matches a leading dot. Characters are code points: `?` matches `é`
//   and `😀` alike.

/** One element of a segment: a literal character, `?`, `*` or a class. */
type Part =
  | { readonly kind: "char"; readonly char: string }
  | { readonly kind: "any" }
  | { readonly kind: "star" }
  | { readonly kind: "class"; readonly negated: boolean; readonly items: ReadonlyArray<readonly [string, string]> }

/** A segment's parts, or where its first `[` that never closes is (in code points of the segment). */
const parseSegment = (segment: string): { parts: ReadonlyArray<Part>; unclosed: number | undefined; backwards: string | undefined } => {
  const chars = Array.from(segment)
  const parts: Array<Part> = []
  let backwards: string | undefined
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!
    if (c === "*") {
      // `**` inside a segment is refused by the checker; matched, it means what `*` does.
      if (parts[parts.length - 1]?.kind !== "star") parts.push({ kind: "star" })
      continue
    }
    if (c === "?") {
      parts.push({ kind: "any" })
      continue
    }
    if (c !== "[") {
      parts.push({ kind: "char", char: c })
      continue
    }
    let j = i + 1
    const negated = chars[j] === "!"
    if (negated) j++
    const items: Array<readonly [string, string]> = []
    const first = j
    while (j < chars.length && (chars[j] !== "]" || j === first)) {
      const low = chars[j]!
      if (chars[j + 1] === "-" && j + 2 < chars.length && chars[j + 2] !== "]") {
        const high = chars[j + 2]!
        if (low.codePointAt(0)! > high.codePointAt(0)!) backwards ??= `${low}-${high}`
        items.push([low, high])
        j += 3
      } else {
        items.push([low, low])
        j++
      }
    }
    if (j >= chars.length) return { parts, unclosed: i, backwards }
    parts.push({ kind: "class", negated, items })
    i = j
  }
  return { parts, unclosed: undefined, backwards }
}

const inClass = (part: Extract<Part, { kind: "class" }>, c: string): boolean => {
  const code = c.codePointAt(0)!
  const listed = part.items.some(([low, high]) => low.codePointAt(0)! <= code && code <= high.codePointAt(0)!)
  return listed !== part.negated
}

/** One segment against one name: the usual glob walk, backing up to the last `*` on a mismatch. */
const segmentMatches = (parts: ReadonlyArray<Part>, name: ReadonlyArray<string>): boolean => {
  let p = 0
  let n = 0
  let starP = -1
  let starN = 0
  while (n < name.length) {
    const part = parts[p]
    if (part !== undefined && part.kind === "star") {
      starP = p++
      starN = n
      continue
    }
    if (part !== undefined && (part.kind === "any" || (part.kind === "char" ? part.char === name[n] : inClass(part, name[n]!)))) {
      p++
      n++
      continue
    }
    if (starP < 0) return false
    p = starP + 1
    n = ++starN
  }
  while (parts[p]?.kind === "star") p++
  return p === parts.length
}

/**
 * Whether a file's path (below its kind's folder, `/`-separated) matches a pattern. Never
 * throws; a pattern `checkOutputPattern` refuses still gets some reading (an unclosed `[` is
 * a literal character), but the compiler lets no such pattern into the IR.
 */
export const outputPatternMatches = (pattern: string, path: string): boolean => {
  const patternSegments = pattern.split("/").map((s) => (s === "**" ? "**" : parsedOrLiteral(s)))
  const names = path.split("/").map((s) => Array.from(s))
  // Whether patternSegments[i..] matches names[j..]; memoised, so `**/**/…` stays polynomial.
  const memo = new Map<number, boolean>()
  const match = (i: number, j: number): boolean => {
    const key = i * (names.length + 1) + j
    const known = memo.get(key)
    if (known !== undefined) return known
    let result: boolean
    const segment = patternSegments[i]
    if (segment === undefined) result = j === names.length
    else if (segment === "**") result = match(i + 1, j) || (j < names.length && match(i, j + 1))
    else result = j < names.length && segmentMatches(segment, names[j]!) && match(i + 1, j + 1)
    memo.set(key, result)
    return result
  }
  return match(0, 0)
}

const parsedOrLiteral = (segment: string): ReadonlyArray<Part> => {
  const { parts, unclosed } = parseSegment(segment)
  if (unclosed === undefined) return parts
  // From the `[` that never closes on, every character is itself.
  return [
    ...parts,
    ...Array.from(segment)
      .slice(unclosed)
      .map((char): Part => ({ kind: "char", char }))
  ]
}

/**
 * What is wrong with a pattern, in words that follow "malformed output pattern: ", or null.
 * Besides syntax, it refuses what could never match a file below the kind's folder: an absolute
 * path, `..`, `.` or empty segments, a NUL character.
 */
export const checkOutputPattern = (pattern: string): string | null => {
  if (pattern === "") return "the pattern is empty"
  if (pattern.includes("\0")) return "it contains a NUL character, which no file name has"
  if (pattern.startsWith("/")) return "it is an absolute path; patterns are relative to the kind's folder"
  const segments = pattern.split("/")
  for (const [i, segment] of segments.entries()) {
    if (segment === "")
      return i === segments.length - 1 ? "it ends with `/`; a pattern matches files, not folders" : "it has an empty segment (`//`)"
    if (segment === "..") return "a `..` segment would leave the kind's folder"
    if (segment === ".") return "a `.` segment never matches; paths are written without them"
    if (segment !== "**" && segment.includes("**")) return "`**` must be a whole segment (`**/x` or `x/**`); within a segment write `*`"
    const { unclosed, backwards } = parseSegment(segment)
    if (unclosed !== undefined) return "a `[` is never closed by `]`"
    if (backwards !== undefined) return `the range \`${backwards}\` is backwards`
  }
  return null
}
