import { describe, expect, it } from "vitest"
import { checkOutputPattern, outputPatternMatches } from "../src/compiler/output-pattern.ts"
import { Rng } from "./support/workspace.ts"

/*
 * The glob of `outputs { science "*.fits" }`: what matches what (the runtime counts a run's files
 * with it), which patterns the checker refuses and why, and a seeded comparison with a second,
 * independent reading of the same rules (a translation to a regular expression).
 */

const matches: ReadonlyArray<readonly [pattern: string, path: string, expected: boolean]> = [
  // `*`: within one segment, the empty run included, a leading dot included.
  ["*.fits", "a.fits", true],
  ["*.fits", ".fits", true],
  ["*.fits", ".hidden.fits", true],
  ["*.fits", "maps/a.fits", false],
  ["*.fits", "a.fits.gz", false],
  ["*.FITS", "a.fits", false],
  ["*", "anything", true],
  ["*", "a/b", false],
  ["a*b*c", "abc", true],
  ["a*b*c", "axxbyyc", true],
  ["a*b*c", "axxbyy", false],
  ["*a*", "banana", true],
  // `?`: exactly one character, never `/`; characters are code points.
  ["?.fits", "a.fits", true],
  ["?.fits", "ab.fits", false],
  ["?.fits", ".fits", false],
  ["a?b", "a/b", false],
  ["?.fits", "é.fits", true],
  ["?.fits", "😀.fits", true],
  // Classes.
  ["map_[abc].fits", "map_b.fits", true],
  ["map_[abc].fits", "map_d.fits", false],
  ["map_[0-9][0-9].fits", "map_42.fits", true],
  ["map_[0-9][0-9].fits", "map_4x.fits", false],
  ["[!a]*", "banana", true],
  ["[!a]*", "apple", false],
  ["[]]x", "]x", true],
  ["[!]]x", "]x", false],
  ["[!]]x", "ax", true],
  ["[a-]", "-", true],
  ["[a-c-e]", "d", false],
  ["[a-c-e]", "e", true],
  // `**`: any number of segments, none included.
  ["**/*.fits", "a.fits", true],
  ["**/*.fits", "maps/a.fits", true],
  ["**/*.fits", "maps/deep/a.fits", true],
  ["**/*.fits", "maps/a.json", false],
  ["maps/**", "maps/a.fits", true],
  ["maps/**", "maps/x/y/a.fits", true],
  ["maps/**", "cubes/a.fits", false],
  ["a/**/b", "a/b", true],
  ["a/**/b", "a/x/y/b", true],
  ["a/**/b", "a/x/y/c", false],
  ["**", "a/b/c", true],
  ["**/**/*.fits", "a.fits", true],
  // Everything else is literal: no braces, no escapes.
  ["{a,b}.fits", "a.fits", false],
  ["{a,b}.fits", "{a,b}.fits", true],
  ["a\\*.fits", "a\\x.fits", true],
  ["a+b(1).fits", "a+b(1).fits", true],
  ["a.fits", "a.fits", true],
  ["a.fits", "axfits", false],
  ["maps/a.fits", "maps/a.fits", true],
  ["maps/a.fits", "a.fits", false]
]

describe("outputPatternMatches", () => {
  it.each(matches)("%j against %j is %s", (pattern, path, expected) => {
    expect(outputPatternMatches(pattern, path)).toBe(expected)
  })

  it("stays fast on patterns that backtrack a lot", () => {
    // Exponential for a naive matcher; memoised segment by segment and linear-ish within one.
    expect(outputPatternMatches(`${"**/".repeat(30)}x`, `${"a/".repeat(30)}y`)).toBe(false)
    expect(outputPatternMatches(`${"*a".repeat(30)}b`, "a".repeat(200))).toBe(false)
  })

  it("never throws, even on patterns the checker refuses", () => {
    for (const pattern of ["", "/", "[", "[abc", "a/[", "**x", "[z-a]", "\0", "../x"]) {
      expect(() => outputPatternMatches(pattern, "a/b.fits")).not.toThrow()
    }
    // An unclosed `[` is read literally.
    expect(outputPatternMatches("a[b", "a[b")).toBe(true)
    expect(outputPatternMatches("[x]a[b", "xa[b")).toBe(true)
  })
})

describe("checkOutputPattern", () => {
  it.each(["*.fits", "maps/**/*.fits", "**", "[!.]*", "map_[0-9].fits", "[]]", "a-b_c.d e", "é/😀"])("accepts %j", (pattern) => {
    expect(checkOutputPattern(pattern)).toBeNull()
  })

  it.each([
    ["", "the pattern is empty"],
    ["a\0b", "it contains a NUL character, which no file name has"],
    ["/data/*.fits", "it is an absolute path; patterns are relative to the kind's folder"],
    ["../other/*.fits", "a `..` segment would leave the kind's folder"],
    ["maps/../*.fits", "a `..` segment would leave the kind's folder"],
    ["./*.fits", "a `.` segment never matches; paths are written without them"],
    ["maps//a.fits", "it has an empty segment (`//`)"],
    ["maps/", "it ends with `/`; a pattern matches files, not folders"],
    ["maps**.fits", "`**` must be a whole segment (`**/x` or `x/**`); within a segment write `*`"],
    ["map_[0-9.fits", "a `[` is never closed by `]`"],
    ["[]", "a `[` is never closed by `]`"],
    ["[!]", "a `[` is never closed by `]`"],
    ["[z-a].fits", "the range `z-a` is backwards"]
  ])("refuses %j: %s", (pattern, problem) => {
    expect(checkOutputPattern(pattern)).toBe(problem)
  })
})

/**
 * The same rules read another way: a valid pattern as a regular expression over the whole path.
 * Segment by segment, `**` becomes "any number of whole segments".
 */
const reference = (pattern: string): RegExp => {
  const segment = (s: string): string => {
    let out = ""
    const chars = Array.from(s)
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i]!
      if (c === "*") out += "[^/]*"
      else if (c === "?") out += "[^/]"
      else if (c === "[") {
        let j = i + 1
        const negated = chars[j] === "!"
        if (negated) j++
        const start = j
        while (chars[j] !== "]" || j === start) j++
        const body = chars
          .slice(start, j)
          .map((x) => (x === "-" ? "-" : x.replace(/[\\\]^[]/g, "\\$&")))
          .join("")
        out += negated ? `(?![${body}])[^/]` : `[${body}]`
        i = j
      } else out += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")
    }
    return out
  }
  const parts = pattern.split("/")
  let source = ""
  parts.forEach((p, i) => {
    const last = i === parts.length - 1
    if (p === "**") source += last ? "(?:[^/]+(?:/[^/]+)*)?" : "(?:[^/]+/)*"
    else source += segment(p) + (last ? "" : "/")
  })
  // `x/**` also matches `x` itself (none of the segments), as in the matcher.
  source = source.replace(/\/\(\?:\[\^\/\]\+\(\?:\/\[\^\/\]\+\)\*\)\?$/, "(?:/[^/]+(?:/[^/]+)*)?")
  return new RegExp(`^${source}$`, "u")
}

describe("a seeded comparison with a regular-expression reading", () => {
  const rng = new Rng(0x9105)
  const alphabet = ["a", "b", ".", "-", "é"]
  const patternPiece = (): string => rng.pick(["a", "b", ".", "*", "?", "[ab]", "[!a]", "[a-c]", "é", "*.", "-"])
  const randomPattern = (): string =>
    Array.from({ length: rng.range(1, 3) }, () =>
      rng.chance(0.2) ? "**" : Array.from({ length: rng.range(1, 4) }, patternPiece).join("")
    ).join("/")
  const randomPath = (): string =>
    Array.from({ length: rng.range(1, 3) }, () => Array.from({ length: rng.range(1, 4) }, () => rng.pick(alphabet)).join("")).join("/")

  it("agrees on 3000 random valid patterns and paths", () => {
    const disagreements: Array<string> = []
    let checked = 0
    let matched = 0
    for (let i = 0; i < 3000; i++) {
      const pattern = randomPattern()
      if (checkOutputPattern(pattern) !== null) continue
      const path = rng.chance(0.5)
        ? randomPath()
        : pattern
            .replace(/\*\*/g, "a/b")
            .replace(/[*?]/g, "a")
            .replace(/\[!?([^\]])[^\]]*\]/g, "$1")
      const expected = reference(pattern).test(path)
      const actual = outputPatternMatches(pattern, path)
      checked++
      if (actual) matched++
      if (actual !== expected) disagreements.push(`${JSON.stringify(pattern)} vs ${JSON.stringify(path)}: ${actual}, expected ${expected}`)
    }
    expect(disagreements.slice(0, 10)).toEqual([])
    // Not vacuous: many valid patterns, both outcomes.
    expect(checked).toBeGreaterThan(1500)
    expect(matched).toBeGreaterThan(200)
    expect(checked - matched).toBeGreaterThan(200)
  })
})
