import { describe, it, expect } from "vitest"
import {
  compareVersions,
  compatibleKey,
  formatRange,
  formatVersion,
  parsePartialVersion,
  parseRange,
  parseVersion,
  resolveNewest,
  satisfies,
  type RangeOperator,
  type SemVer,
  type VersionRange
} from "../src/compiler/semver.ts"

const v = (text: string): SemVer => {
  const parsed = parseVersion(text)
  if (parsed === null) throw new Error(`bad version in test: ${text}`)
  return parsed
}

const range = (operator: RangeOperator, text: string | null): VersionRange => {
  const parsed = parseRange(operator, text)
  if (parsed === null) throw new Error(`bad range in test: ${operator}${text ?? ""}`)
  return parsed
}

// Splits "^1.2" or ">=1.0.0" into operator and version text the way the DSL parser would.
const r = (text: string): VersionRange => {
  if (text === "*") return range("*", null)
  const m = /^(\^|~|=|>=|>|<=|<)(.*)$/.exec(text)
  if (m === null) throw new Error(`bad range in test: ${text}`)
  return range(m[1] as RangeOperator, m[2] ?? "")
}

const expectMatches = (rangeText: string, yes: ReadonlyArray<string>, no: ReadonlyArray<string>): void => {
  for (const text of yes) expect(satisfies(v(text), r(rangeText)), `${text} should satisfy ${rangeText}`).toBe(true)
  for (const text of no) expect(satisfies(v(text), r(rangeText)), `${text} should not satisfy ${rangeText}`).toBe(false)
}

describe("parseVersion", () => {
  it("parses a plain version", () => {
    expect(parseVersion("2.3.1")).toEqual({ major: 2, minor: 3, patch: 1, prerelease: [], build: [], raw: "2.3.1" })
  })

  it("parses prerelease identifiers, numeric ones as numbers", () => {
    expect(parseVersion("1.2.3-rc.1")?.prerelease).toEqual(["rc", 1])
    expect(parseVersion("1.0.0-0.3.7")?.prerelease).toEqual([0, 3, 7])
    expect(parseVersion("1.0.0-x-y-z.--")?.prerelease).toEqual(["x-y-z", "--"])
    expect(parseVersion("1.0.0-alpha.0a")?.prerelease).toEqual(["alpha", "0a"])
  })

  it("parses build metadata", () => {
    expect(parseVersion("1.2.3+build")?.build).toEqual(["build"])
    expect(parseVersion("1.0.0-beta+exp.sha.5114f85")).toMatchObject({ prerelease: ["beta"], build: ["exp", "sha", "5114f85"] })
    expect(parseVersion("1.0.0+001")?.build).toEqual(["001"])
  })

  it("accepts zeros and large safe numbers", () => {
    expect(parseVersion("0.0.0")).toMatchObject({ major: 0, minor: 0, patch: 0 })
    expect(parseVersion("10.20.30")).toMatchObject({ major: 10, minor: 20, patch: 30 })
  })

  it.each([
    "",
    "1",
    "1.2",
    "1.2.3.4",
    "v1.2.3",
    "=1.2.3",
    " 1.2.3",
    "1.2.3 ",
    "01.2.3",
    "1.02.3",
    "1.2.03",
    "1.2.3-",
    "1.2.3-01",
    "1.2.3-rc..1",
    "1.2.3-rc.",
    "1.2.3+",
    "1.2.3+a..b",
    "1.2.3-rc_1",
    "1.2.x",
    "-1.2.3",
    "a.b.c",
    "99999999999999999999.0.0",
    "1.0.0-99999999999999999999"
  ])("rejects %j", (text) => {
    expect(parseVersion(text)).toBeNull()
  })
})

describe("parsePartialVersion", () => {
  it("parses one, two and three components", () => {
    expect(parsePartialVersion("2")).toEqual({ major: 2, minor: null, patch: null, prerelease: [] })
    expect(parsePartialVersion("2.3")).toEqual({ major: 2, minor: 3, patch: null, prerelease: [] })
    expect(parsePartialVersion("2.3.1")).toEqual({ major: 2, minor: 3, patch: 1, prerelease: [] })
    expect(parsePartialVersion("2.3.1-rc.1")).toEqual({ major: 2, minor: 3, patch: 1, prerelease: ["rc", 1] })
  })

  it.each(["", "v2", "02", "2.03", "2.3-rc.1", "2-rc", "2.3.1.0", "2.x", "*", "2.3.1+build", "2.", "2.3."])("rejects %j", (text) => {
    expect(parsePartialVersion(text)).toBeNull()
  })
})

describe("parseRange and formatRange", () => {
  it("keeps the operator and the version as written", () => {
    expect(parseRange("^", "2.3")).toEqual({
      operator: "^",
      version: { major: 2, minor: 3, patch: null, prerelease: [] },
      raw: "^2.3"
    })
    expect(formatRange(range(">=", "1.0.0"))).toBe(">=1.0.0")
    expect(formatRange(range("~", "1.2.3-rc.1"))).toBe("~1.2.3-rc.1")
    expect(formatRange(range("<", "2"))).toBe("<2")
  })

  it("represents * without a version", () => {
    expect(parseRange("*", null)).toEqual({ operator: "*", version: null, raw: "*" })
    expect(formatRange(range("*", null))).toBe("*")
  })

  it("rejects a missing, extra or malformed version", () => {
    expect(parseRange("^", null)).toBeNull()
    expect(parseRange("*", "1.2.3")).toBeNull()
    expect(parseRange("^", "v1.2")).toBeNull()
    expect(parseRange(">=", "")).toBeNull()
  })
})

describe("compareVersions", () => {
  it("orders the semver.org precedence example", () => {
    const ordered = [
      "1.0.0-alpha",
      "1.0.0-alpha.1",
      "1.0.0-alpha.beta",
      "1.0.0-beta",
      "1.0.0-beta.2",
      "1.0.0-beta.11",
      "1.0.0-rc.1",
      "1.0.0"
    ].map(v)
    for (let i = 0; i < ordered.length - 1; i++) {
      const [a, b] = [ordered[i] as SemVer, ordered[i + 1] as SemVer]
      expect(compareVersions(a, b), `${a.raw} < ${b.raw}`).toBe(-1)
      expect(compareVersions(b, a), `${b.raw} > ${a.raw}`).toBe(1)
    }
    const shuffled = [...ordered].reverse().sort(compareVersions)
    expect(shuffled.map(formatVersion)).toEqual(ordered.map(formatVersion))
  })

  it("compares components numerically, not lexically", () => {
    const ordered = ["1.0.0", "1.0.1", "1.0.10", "1.2.0", "1.10.0", "2.0.0", "10.0.0"].map(v)
    expect([...ordered].reverse().sort(compareVersions)).toEqual(ordered)
  })

  it("ranks a prerelease below its release but above the previous release", () => {
    expect(compareVersions(v("2.0.0-rc.1"), v("2.0.0"))).toBe(-1)
    expect(compareVersions(v("2.0.0-rc.1"), v("1.9.9"))).toBe(1)
  })

  it("ignores build metadata", () => {
    expect(compareVersions(v("1.2.3+a"), v("1.2.3+b"))).toBe(0)
    expect(compareVersions(v("1.2.3-rc.1+a"), v("1.2.3-rc.1"))).toBe(0)
  })
})

describe("satisfies", () => {
  it("^ allows changes right of the leftmost non-zero component", () => {
    expectMatches("^1.2.3", ["1.2.3", "1.2.4", "1.9.0"], ["1.2.2", "2.0.0", "0.9.0"])
    expectMatches("^0.2.3", ["0.2.3", "0.2.9"], ["0.2.2", "0.3.0", "1.0.0"])
    expectMatches("^0.0.3", ["0.0.3"], ["0.0.2", "0.0.4", "0.1.0"])
    expectMatches("^1.2", ["1.2.0", "1.9.9"], ["1.1.9", "2.0.0"])
    expectMatches("^1", ["1.0.0", "1.9.9"], ["0.9.9", "2.0.0"])
    expectMatches("^0.2", ["0.2.0", "0.2.9"], ["0.1.9", "0.3.0"])
    expectMatches("^0", ["0.0.0", "0.9.9"], ["1.0.0"])
    expectMatches("^0.0", ["0.0.0", "0.0.9"], ["0.1.0"])
  })

  it("~ allows patch changes, or minor changes when only the major is given", () => {
    expectMatches("~1.2.3", ["1.2.3", "1.2.9"], ["1.2.2", "1.3.0"])
    expectMatches("~1.2", ["1.2.0", "1.2.9"], ["1.1.9", "1.3.0"])
    expectMatches("~1", ["1.0.0", "1.9.9"], ["0.9.9", "2.0.0"])
    expectMatches("~0.2.3", ["0.2.3", "0.2.4"], ["0.3.0"])
  })

  it("= is exact for full versions and an x-range for partial ones", () => {
    expectMatches("=1.2.3", ["1.2.3", "1.2.3+build"], ["1.2.4", "1.2.2"])
    expectMatches("=1.2", ["1.2.0", "1.2.9"], ["1.1.9", "1.3.0"])
    expectMatches("=1", ["1.0.0", "1.9.9"], ["0.9.9", "2.0.0"])
  })

  it(">= fills missing components with zeros", () => {
    expectMatches(">=1.2.3", ["1.2.3", "9.0.0"], ["1.2.2"])
    expectMatches(">=1.2", ["1.2.0", "2.0.0"], ["1.1.9"])
    expectMatches(">=1", ["1.0.0"], ["0.9.9"])
  })

  it("> excludes everything the partial version covers", () => {
    expectMatches(">1.2.3", ["1.2.4", "2.0.0"], ["1.2.3", "1.2.2"])
    expectMatches(">1.2", ["1.3.0"], ["1.2.0", "1.2.9"])
    expectMatches(">1", ["2.0.0"], ["1.0.0", "1.9.9"])
  })

  it("<= includes everything the partial version covers", () => {
    expectMatches("<=1.2.3", ["1.2.3", "0.1.0"], ["1.2.4"])
    expectMatches("<=1.2", ["1.2.0", "1.2.9"], ["1.3.0"])
    expectMatches("<=1", ["1.9.9"], ["2.0.0"])
  })

  it("< fills missing components with zeros", () => {
    expectMatches("<1.2.3", ["1.2.2", "0.0.0"], ["1.2.3", "1.2.4"])
    expectMatches("<1.2", ["1.1.9"], ["1.2.0", "1.2.1"])
    expectMatches("<1", ["0.9.9"], ["1.0.0"])
  })

  it("* matches any release", () => {
    expectMatches("*", ["0.0.0", "1.2.3", "99.0.0"], [])
  })

  describe("prereleases", () => {
    it("are excluded unless the range names a prerelease", () => {
      expectMatches("*", [], ["1.0.0-rc.1"])
      expectMatches("^1.2", [], ["1.3.0-rc.1", "1.2.5-beta"])
      expectMatches(">=1.0.0", [], ["2.0.0-rc.1"])
      expectMatches("<2.0.0", [], ["2.0.0-rc.1", "1.5.0-alpha"])
      expectMatches("=1", [], ["1.0.0-rc.1"])
    })

    it("are allowed only on the same major.minor.patch as the range's prerelease", () => {
      expectMatches("^1.2.3-beta.2", ["1.2.3-beta.2", "1.2.3-beta.4", "1.2.3", "1.9.0"], ["1.2.3-beta.1", "1.2.4-beta.5", "2.0.0-rc.1"])
      expectMatches("~1.2.3-rc.1", ["1.2.3-rc.1", "1.2.3-rc.2", "1.2.3", "1.2.9"], ["1.2.3-alpha", "1.2.4-rc.1", "1.3.0"])
      expectMatches(">1.2.3-rc.1", ["1.2.3-rc.2", "1.2.3", "3.0.0"], ["1.2.3-rc.1", "1.2.4-rc.1"])
      expectMatches(">=1.2.3-rc.1", ["1.2.3-rc.1"], ["1.2.3-rc.0"])
      expectMatches("<1.2.3-rc.2", ["1.2.3-rc.1", "1.2.2"], ["1.2.3-rc.2", "1.2.3", "1.2.2-rc.1"])
      expectMatches("<=1.2.3-rc.2", ["1.2.3-rc.2", "1.2.3-alpha"], ["1.2.3-rc.3", "1.2.3"])
      expectMatches("=1.2.3-rc.1", ["1.2.3-rc.1", "1.2.3-rc.1+build"], ["1.2.3-rc.2", "1.2.3"])
    })
  })
})

describe("resolveNewest", () => {
  const available = ["2.3.1", "2.4.0", "2.5.0-rc.1", "1.9.0", "3.0.0", "0.9.2", "0.9.10"].map(v)

  it("picks the newest satisfying version regardless of declaration order", () => {
    expect(resolveNewest(available, r("^2.3"))?.raw).toBe("2.4.0")
    expect(resolveNewest(available, r("~2.3"))?.raw).toBe("2.3.1")
    expect(resolveNewest(available, r("^0.9"))?.raw).toBe("0.9.10")
    expect(resolveNewest(available, r("<2"))?.raw).toBe("1.9.0")
    expect(resolveNewest(available, r("*"))?.raw).toBe("3.0.0")
  })

  it("only picks a prerelease the range asks for", () => {
    expect(resolveNewest(available, r(">=2.4.0"))?.raw).toBe("3.0.0")
    expect(resolveNewest(available, r("<3"))?.raw).toBe("2.4.0")
    expect(resolveNewest(available, r("=2.5.0-rc.1"))?.raw).toBe("2.5.0-rc.1")
  })

  it("returns null when nothing satisfies", () => {
    expect(resolveNewest(available, r("^4"))).toBeNull()
    expect(resolveNewest([], r("*"))).toBeNull()
  })
})

describe("compatibleKey", () => {
  it.each([
    ["2.4.0", "2"],
    ["2.3.1", "2"],
    ["0.9.2", "0.9"],
    ["0.0.3", "0.0.3"],
    ["0.0.0", "0.0.0"],
    ["2.4.0-rc.1", "2.4.0-rc.1"],
    ["2.4.0+build.5", "2"],
    ["2.4.0-rc.1+build.5", "2.4.0-rc.1"]
  ])("%s -> %s", (text, key) => {
    expect(compatibleKey(v(text))).toBe(key)
  })

  it("agrees with ^: two versions share a key exactly when the newer satisfies ^older", () => {
    const versions = ["1.0.0", "1.5.2", "2.0.0", "0.9.0", "0.9.7", "0.10.0", "0.0.3", "0.0.4"].map(v)
    for (const a of versions) {
      for (const b of versions) {
        const [older, newer] = compareVersions(a, b) <= 0 ? [a, b] : [b, a]
        const sameKey = compatibleKey(a) === compatibleKey(b)
        expect(satisfies(newer, range("^", formatVersion(older))), `${a.raw} vs ${b.raw}`).toBe(sameKey)
      }
    }
  })
})

describe("formatVersion", () => {
  it.each(["1.2.3", "1.2.3-rc.1", "1.2.3+build.5", "1.0.0-alpha.beta.1+exp.sha"])("round-trips %s", (text) => {
    expect(formatVersion(v(text))).toBe(text)
  })
})
