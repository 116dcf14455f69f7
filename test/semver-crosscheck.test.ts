import * as npmSemver from "semver"
import { describe, expect, it } from "vitest"
import {
  compareVersions,
  parseRange,
  parseVersion,
  resolveNewest,
  satisfies,
  type RangeOperator,
  type SemVer
} from "../src/compiler/semver.ts"

/*
 * src/compiler/semver.ts promises npm's node-semver semantics for `run <software> <range>`:
 * checked here against the `semver` package itself, over every pairing of generated versions
 * and ranges (as cron.ts is checked against Effect's Cron).
 */

const cores = ["0.0.0", "0.0.3", "0.2.0", "0.2.5", "1.0.0", "1.2.0", "1.2.3", "1.2.4", "1.3.0", "2.0.0", "10.1.0"]
const prereleases = ["", "-0", "-rc.1", "-rc.2", "-alpha", "-alpha.beta", "-1.x", "-rc.10"]
const versionTexts = cores.flatMap((core) => prereleases.map((pre) => core + pre))
const versions: ReadonlyArray<SemVer> = versionTexts.map((text) => {
  const v = parseVersion(text)
  if (v === null) throw new Error(`not a version: ${text}`)
  return v
})

const partials = ["0", "1", "2", "0.0", "0.2", "1.2", "0.0.3", "0.2.5", "1.2.3", "1.2.3-rc.1", "1.2.3-0", "0.0.0-alpha", "2.0.0-rc.2", "10"]
const operators: ReadonlyArray<Exclude<RangeOperator, "*">> = ["^", "~", "=", ">=", ">", "<=", "<"]
const ranges = [
  parseRange("*", null)!,
  ...operators.flatMap((op) =>
    partials.map((p) => {
      const r = parseRange(op, p)
      if (r === null) throw new Error(`not a range: ${op}${p}`)
      return r
    })
  )
]

describe("semver.ts against npm's semver package", () => {
  it("orders every pair of versions as npm does", () => {
    const differ = versions.flatMap((a) =>
      versions.filter((b) => compareVersions(a, b) !== npmSemver.compare(a.raw, b.raw)).map((b) => `${a.raw} vs ${b.raw}`)
    )
    expect(differ).toEqual([])
  })

  it(`decides every version against every range as npm does (${versions.length} versions × ${ranges.length} ranges)`, () => {
    const differ: Array<string> = []
    for (const r of ranges) {
      expect(npmSemver.validRange(r.raw), r.raw).not.toBeNull()
      for (const v of versions) {
        const ours = satisfies(v, r)
        if (ours !== npmSemver.satisfies(v.raw, r.raw)) differ.push(`${v.raw} ${ours ? "in" : "not in"} ${r.raw}`)
      }
    }
    expect(differ).toEqual([])
  })

  it("picks the same newest version for every range as npm's maxSatisfying", () => {
    const differ = ranges.flatMap((r) => {
      const ours = resolveNewest(versions, r)?.raw ?? null
      const theirs = npmSemver.maxSatisfying(versionTexts, r.raw)
      return ours === theirs ? [] : [`${r.raw}: ${ours} vs ${theirs}`]
    })
    expect(differ).toEqual([])
  })
})
