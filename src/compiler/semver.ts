// Semantic versions and version ranges for `run <software> <range>` steps.
// Range semantics follow npm's node-semver so that users get no surprises.

export interface SemVer {
  readonly major: number
  readonly minor: number
  readonly patch: number
  readonly prerelease: ReadonlyArray<string | number>
  readonly build: ReadonlyArray<string>
  readonly raw: string
}

export type RangeOperator = "^" | "~" | "=" | ">=" | ">" | "<=" | "<" | "*"

export interface PartialVersion {
  readonly major: number
  readonly minor: number | null
  readonly patch: number | null
  readonly prerelease: ReadonlyArray<string | number>
}

export interface VersionRange {
  readonly operator: RangeOperator
  /** null only for "*" */
  readonly version: PartialVersion | null
  readonly raw: string
}

const NUM = "0|[1-9]\\d*"
const PRE_ID = `${NUM}|\\d*[a-zA-Z-][0-9a-zA-Z-]*`
const PRE = `(?:${PRE_ID})(?:\\.(?:${PRE_ID}))*`
const BUILD = "[0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*"
const VERSION_RE = new RegExp(`^(${NUM})\\.(${NUM})\\.(${NUM})(?:-(${PRE}))?(?:\\+(${BUILD}))?$`)
// A prerelease is only meaningful on a full major.minor.patch tuple.
const PARTIAL_RE = new RegExp(`^(${NUM})(?:\\.(${NUM})(?:\\.(${NUM})(?:-(${PRE}))?)?)?$`)

// Digits beyond Number.MAX_SAFE_INTEGER would compare wrongly, so such input is rejected.
const toNumber = (digits: string): number | null => {
  const n = Number(digits)
  return Number.isSafeInteger(n) ? n : null
}

const parsePrerelease = (text: string | undefined): Array<string | number> | null => {
  if (text === undefined) return []
  const ids: Array<string | number> = []
  for (const id of text.split(".")) {
    if (/^\d+$/.test(id)) {
      const n = toNumber(id)
      if (n === null) return null
      ids.push(n)
    } else {
      ids.push(id)
    }
  }
  return ids
}

export const parseVersion = (text: string): SemVer | null => {
  const m = VERSION_RE.exec(text)
  if (m === null) return null
  const major = toNumber(m[1] ?? "")
  const minor = toNumber(m[2] ?? "")
  const patch = toNumber(m[3] ?? "")
  const prerelease = parsePrerelease(m[4])
  if (major === null || minor === null || patch === null || prerelease === null) return null
  const build = m[5] === undefined ? [] : m[5].split(".")
  return { major, minor, patch, prerelease, build, raw: text }
}

export const parsePartialVersion = (text: string): PartialVersion | null => {
  const m = PARTIAL_RE.exec(text)
  if (m === null || m[1] === undefined) return null
  const major = toNumber(m[1])
  const minor = m[2] === undefined ? null : toNumber(m[2])
  const patch = m[3] === undefined ? null : toNumber(m[3])
  const prerelease = parsePrerelease(m[4])
  if (major === null || prerelease === null) return null
  if ((m[2] !== undefined && minor === null) || (m[3] !== undefined && patch === null)) return null
  return { major, minor, patch, prerelease }
}

const formatPartial = (p: PartialVersion): string => {
  let text = String(p.major)
  if (p.minor !== null) text += `.${p.minor}`
  if (p.patch !== null) text += `.${p.patch}`
  if (p.prerelease.length > 0) text += `-${p.prerelease.join(".")}`
  return text
}

export const formatRange = (r: VersionRange): string => (r.version === null ? r.operator : `${r.operator}${formatPartial(r.version)}`)

export const parseRange = (operator: RangeOperator, versionText: string | null): VersionRange | null => {
  if (operator === "*") return versionText === null ? { operator, version: null, raw: "*" } : null
  if (versionText === null) return null
  const version = parsePartialVersion(versionText)
  if (version === null) return null
  const range = { operator, version, raw: "" }
  return { ...range, raw: formatRange(range) }
}

const compareIdentifiers = (a: string | number, b: string | number): number => {
  if (typeof a === "number" && typeof b === "number") return a - b
  // Numeric identifiers always have lower precedence than alphanumeric ones.
  if (typeof a === "number") return -1
  if (typeof b === "number") return 1
  return a < b ? -1 : a > b ? 1 : 0
}

const comparePrerelease = (a: ReadonlyArray<string | number>, b: ReadonlyArray<string | number>): number => {
  // A release outranks any of its prereleases.
  if (a.length === 0 || b.length === 0) return b.length - a.length
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = compareIdentifiers(a[i] as string | number, b[i] as string | number)
    if (c !== 0) return c
  }
  return a.length - b.length
}

export const compareVersions = (a: SemVer, b: SemVer): number =>
  Math.sign(a.major - b.major || a.minor - b.minor || a.patch - b.patch || comparePrerelease(a.prerelease, b.prerelease))

export const formatVersion = (v: SemVer): string => {
  let text = `${v.major}.${v.minor}.${v.patch}`
  if (v.prerelease.length > 0) text += `-${v.prerelease.join(".")}`
  if (v.build.length > 0) text += `+${v.build.join(".")}`
  return text
}

const makeVersion = (major: number, minor: number, patch: number, prerelease: ReadonlyArray<string | number> = []): SemVer => {
  const raw = `${major}.${minor}.${patch}` + (prerelease.length > 0 ? `-${prerelease.join(".")}` : "")
  return { major, minor, patch, prerelease, build: [], raw }
}

interface Bound {
  readonly version: SemVer
  readonly inclusive: boolean
}

interface Interval {
  readonly lower: Bound | null
  readonly upper: Bound | null
}

// Desugars a range into an interval the way node-semver does. Upper bounds are
// plain releases (`<2.0.0`, not `<2.0.0-0`): prereleases that could sit between
// the two are already excluded by the prerelease rule in `satisfies`.
const toInterval = (op: RangeOperator, p: PartialVersion | null): Interval => {
  if (p === null || op === "*") return { lower: null, upper: null }
  const { major: M, minor, patch } = p
  const m = minor ?? 0
  const floor: Bound = { version: makeVersion(M, m, patch ?? 0, p.prerelease), inclusive: true }
  // The first version past everything the partial version matches: 1 -> 2.0.0, 1.2 -> 1.3.0.
  const pastPartial = minor === null ? makeVersion(M + 1, 0, 0) : makeVersion(M, m + 1, 0)
  const below = (v: SemVer): Bound => ({ version: v, inclusive: false })
  const full = patch !== null

  switch (op) {
    case "=":
      return full ? { lower: floor, upper: floor } : { lower: floor, upper: below(pastPartial) }
    case ">=":
      return { lower: floor, upper: null }
    case ">":
      return { lower: full ? { ...floor, inclusive: false } : { version: pastPartial, inclusive: true }, upper: null }
    case "<":
      return { lower: null, upper: below(floor.version) }
    case "<=":
      return { lower: null, upper: full ? floor : below(pastPartial) }
    case "~":
      return { lower: floor, upper: below(pastPartial) }
    case "^": {
      // The leftmost non-zero component is the one that may not change.
      const upper =
        M > 0 || minor === null
          ? makeVersion(M + 1, 0, 0)
          : m > 0 || patch === null
            ? makeVersion(0, m + 1, 0)
            : makeVersion(0, 0, patch + 1)
      return { lower: floor, upper: below(upper) }
    }
  }
}

export const satisfies = (v: SemVer, r: VersionRange): boolean => inInterval(v, r, toInterval(r.operator, r.version))

const inInterval = (v: SemVer, r: VersionRange, { lower, upper }: Interval): boolean => {
  if (lower !== null) {
    const c = compareVersions(v, lower.version)
    if (c < 0 || (c === 0 && !lower.inclusive)) return false
  }
  if (upper !== null) {
    const c = compareVersions(v, upper.version)
    if (c > 0 || (c === 0 && !upper.inclusive)) return false
  }
  if (v.prerelease.length === 0) return true
  // Prereleases are opt-in: only a range that itself names a prerelease of the
  // same major.minor.patch may pick one, so `^1.2` never silently selects 1.5.0-rc.1.
  const p = r.version
  return p !== null && p.prerelease.length > 0 && p.major === v.major && p.minor === v.minor && p.patch === v.patch
}

export const resolveNewest = (versions: ReadonlyArray<SemVer>, r: VersionRange): SemVer | null => {
  // The interval once, not per version: making its bounds builds version strings.
  const interval = toInterval(r.operator, r.version)
  let best: SemVer | null = null
  for (const v of versions) {
    if (inInterval(v, r, interval) && (best === null || compareVersions(v, best) > 0)) best = v
  }
  return best
}

export const compatibleKey = (v: SemVer): string => {
  if (v.prerelease.length > 0) return `${v.major}.${v.minor}.${v.patch}-${v.prerelease.join(".")}`
  if (v.major > 0) return String(v.major)
  if (v.minor > 0) return `0.${v.minor}`
  return `0.0.${v.patch}`
}
