import { continuumLine, findLine, findSource, modulesOf, obsUnits, type ModuleSpec, type ObsUnitSpec, type ScanPattern } from "./catalog.ts"
import { chaiMetadata, chaiModel, type ChaiModel } from "./chai-data.ts"
import type { PackageContext, ScanConditions } from "./conditions.ts"
import { demoId } from "./ids.ts"
import { round, type JsonObject } from "./json.ts"
import { primecamMetadata, primecamModel, type PrimecamModel } from "./primecam-data.ts"
import { Prng } from "./prng.ts"
import { horizontal } from "./sky.ts"
import { groundWeather, localHourOffset, nightWeather, pwvAt } from "./weather.ts"

/*
 * One observing day at FYST, as the scheduler would have run it: scans one after another
 * through the UTC day, each of an obs unit whose source is up and whose line the weather
 * allows, the weather drifting with the time of day, and each scan's packages with the state
 * the archive has reached. Everything is drawn from a PRNG seeded by the date, so a night is
 * the same whenever and wherever it is generated.
 */

export type PackageState = "WAITING" | "TRANSFERRING" | "ARCHIVED" | "FAILED"
export type ScanStatus = "SUCCESS" | "INTERRUPTED" | "FAILED"

export interface NightSpec {
  /** UTC date, YYYY-MM-DD: every scan of the night starts on it. */
  readonly date: string
  readonly chaiScans: number
  readonly primecamScans: number
  /** The first nights: only CHAI's LFA works, Prime-Cam is not mounted yet, more scans fail. */
  readonly commissioning: boolean
  readonly readoutFirmware: string
  /** `settled`: the archive has everything but the odd failed transfer; `in-transit`: the latest
   *  scans are still on their way; `all-archived`: every package is in (for `--more`). */
  readonly archive: "settled" | "in-transit" | "all-archived"
}

export interface PlannedPackage {
  readonly id: string
  readonly name: string
  readonly module: ModuleSpec
  readonly state: PackageState
  readonly createdAt: Date
  readonly archivedAt: Date | null
  readonly context: PackageContext
  readonly model: ChaiModel | PrimecamModel
  readonly metadata: JsonObject
}

export interface PlannedScan {
  readonly id: string
  readonly date: string
  readonly sequence: number
  readonly obsUnit: ObsUnitSpec
  readonly start: Date
  readonly end: Date
  readonly status: ScanStatus
  readonly metadata: JsonObject
  readonly packages: ReadonlyArray<PlannedPackage>
}

const minute = 60_000
const hour = 60 * minute
const minElevationDeg = 20

const durationMinutes: Readonly<Record<ScanPattern, readonly [number, number]>> = {
  OTF: [20, 40],
  pong: [20, 35],
  cross: [6, 10],
  raster: [8, 12],
  ces: [4, 6]
}

/** Whether the receivers and the weather allow the obs unit tonight. */
const allowed = (unit: ObsUnitSpec, night: NightSpec, pwvMm: number): boolean => {
  if (unit.instrument === "Prime-Cam") return !night.commissioning
  const line = findLine(unit.line)
  if (line === undefined) return true // calibrators and engineering scans run in any weather
  if (line.module === "HFA") return !night.commissioning && pwvMm < 0.7
  return pwvMm < 2.0
}

const isUp = (unit: ObsUnitSpec, time: Date): boolean => {
  const s = findSource(unit.source)
  // Planets and constant-elevation scans are scheduled when they are up by construction.
  if (s.raDeg === null || s.decDeg === null) return true
  return horizontal(s.raDeg, s.decDeg, time).elevationDeg >= minElevationDeg
}

const slug = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]+/g, "")
const moduleSlug = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]+/g, "-")

export const scanName = (date: string, sequence: number): string => `scan/${date}/${String(sequence).padStart(3, "0")}`

interface PackageDraft {
  readonly name: string
  readonly module: ModuleSpec
  readonly context: PackageContext
  readonly model: ChaiModel | PrimecamModel
  readonly createdAt: Date
}

const chaiModule = (name: "LFA" | "HFA"): ModuleSpec => modulesOf("CHAI").find((m) => m.name === name)!

const chaiDrafts = (
  rng: Prng,
  night: NightSpec,
  unit: ObsUnitSpec,
  pwvMm: number,
  base: (m: ModuleSpec) => { name: string; context: PackageContext },
  createdAt: Date
): Array<PackageDraft> => {
  const [lfa, hfa] = [chaiModule("LFA"), chaiModule("HFA")]
  const line = findLine(unit.line)
  const tunings: Array<{ module: ModuleSpec; lineId: string; tuningId: string }> = []
  if (line === undefined) {
    // Continuum scans keep the receivers at their default tunings, CO(4-3) and CO(7-6).
    tunings.push({ module: lfa, lineId: continuumLine, tuningId: "CO43" })
    if (!night.commissioning) tunings.push({ module: hfa, lineId: continuumLine, tuningId: "CO76" })
  } else {
    const partner = findLine(line.partner)!
    // The other receiver observes its partner line in parallel when it is working and the sky allows.
    const withPartner = !night.commissioning && (partner.module === "LFA" ? rng.chance(0.8) : pwvMm < 0.8 && rng.chance(0.6))
    for (const l of withPartner ? [line, partner] : [line])
      tunings.push({ module: l.module === "LFA" ? lfa : hfa, lineId: l.id, tuningId: l.id })
  }
  return tunings.map((t) => {
    const { name, context } = base(t.module)
    const model = chaiModel(context, t.module.name === "LFA" ? "LFA" : "HFA", t.lineId, findLine(t.tuningId)!)
    return { name, module: t.module, context, model, createdAt }
  })
}

export const planNight = (night: NightSpec): ReadonlyArray<PlannedScan> => {
  const rng = new Prng(`night/${night.date}`)
  const weather = nightWeather(rng, night.date)
  const dayStart = Date.parse(`${night.date}T00:00:00Z`)
  const dayEnd = dayStart + 24 * hour
  const remaining = { CHAI: night.chaiScans, "Prime-Cam": night.primecamScans }
  const drafts: Array<{ scan: Omit<PlannedScan, "packages">; packages: Array<PackageDraft> }> = []
  // Whole seconds throughout: the clocks that stamp scans do not do better, and the rows read cleaner.
  let t = dayStart + Math.round(rng.uniform(5, 30) * 60) * 1000
  for (let sequence = 1; remaining.CHAI + remaining["Prime-Cam"] > 0; sequence++) {
    const left = remaining.CHAI + remaining["Prime-Cam"]
    const instrument = rng.next() * left < remaining.CHAI ? "CHAI" : "Prime-Cam"
    remaining[instrument]--
    const start = new Date(t)
    const localHours = ((((t - dayStart) / hour + localHourOffset) % 24) + 24) % 24
    const pwvMm = pwvAt(weather, rng, (t - dayStart) / (24 * hour), localHours)
    const candidates = obsUnits.filter((u) => u.instrument === instrument && allowed(u, night, pwvMm) && isUp(u, start))
    const unit = rng.weighted(candidates, (u) => u.weight)
    const source = findSource(unit.source)
    // Share the time left fairly among the scans left, so the night ends within its UTC date.
    const fair = (dayEnd - t) / left
    const [lo, hi] = durationMinutes[unit.pattern]
    const planned = Math.min(rng.uniform(lo, hi) * minute, 0.9 * fair)
    const failed = rng.chance(night.commissioning ? 0.08 : 0.03)
    const interrupted = !failed && rng.chance(night.commissioning ? 0.08 : 0.05)
    const duration = failed ? planned * rng.uniform(0.05, 0.3) : interrupted ? planned * rng.uniform(0.4, 0.9) : planned
    const end = new Date(t + Math.round(duration / 1000) * 1000)
    const position =
      source.raDeg !== null && source.decDeg !== null
        ? horizontal(source.raDeg, source.decDeg, start)
        : { elevationDeg: source.kind === "CONSTANT_ELEVATION" ? 45 : rng.uniform(35, 70), azimuthDeg: rng.uniform(0, 360) }
    const conditions: ScanConditions = {
      ...groundWeather(weather, rng, pwvMm, localHours),
      pwvMm,
      elevationDeg: position.elevationDeg,
      azimuthDeg: position.azimuthDeg,
      offsetArcsec: [rng.uniform(-40, 40), rng.uniform(-40, 40)],
      durationS: (end.getTime() - start.getTime()) / 1000
    }
    const status: ScanStatus = failed ? "FAILED" : interrupted ? "INTERRUPTED" : "SUCCESS"
    const compact = night.date.replace(/-/g, "")
    const seq = String(sequence).padStart(3, "0")
    const base = (m: ModuleSpec) => {
      const name = `${slug(instrument)}_${moduleSlug(m.name)}_${compact}_${seq}`
      return { name, context: { packageName: name, source, conditions } }
    }
    const createdAt = new Date(end.getTime() + rng.int(20, 90) * 1000)
    const packages =
      instrument === "CHAI"
        ? chaiDrafts(rng, night, unit, pwvMm, base, createdAt)
        : modulesOf("Prime-Cam").map((m) => {
            const { name, context } = base(m)
            return { name, module: m, context, model: primecamModel(context, m, night.readoutFirmware), createdAt }
          })
    drafts.push({
      scan: {
        id: demoId(scanName(night.date, sequence)),
        date: night.date,
        sequence,
        obsUnit: unit,
        start,
        end,
        status,
        metadata: {
          scan: { sequence, pattern: unit.pattern, instrument },
          telescope: { elevation_deg: round(position.elevationDeg, 2), azimuth_deg: round(position.azimuthDeg, 2) },
          weather: {
            pwv_mm: round(pwvMm, 3),
            ambient_temperature_c: round(conditions.ambientC, 1),
            wind_speed_ms: round(conditions.windMs, 1),
            relative_humidity_percent: round(conditions.humidityPercent, 1)
          }
        }
      },
      packages
    })
    const gap = rng.uniform(0.3, 1.7) * Math.max(2 * minute, fair - duration)
    t = end.getTime() + Math.round(gap / 1000) * 1000
  }
  const states = archiveStates(
    new Prng(`archive/${night.date}`),
    night,
    drafts.reduce((n, d) => n + d.packages.length, 0)
  )
  let k = 0
  return drafts.map(({ scan, packages }) => ({
    ...scan,
    packages: packages.map((p) => {
      const state = states[k++]!
      const archivedAt = state === "ARCHIVED" ? new Date(p.createdAt.getTime() + Math.round(rng.uniform(15, 180)) * minute) : null
      const metadata = p.model.kind === "chai" ? chaiMetadata(p.model) : primecamMetadata(p.model)
      return {
        id: demoId(`package/${p.name}`),
        name: p.name,
        module: p.module,
        state,
        createdAt: p.createdAt,
        archivedAt,
        context: p.context,
        model: p.model,
        metadata
      }
    })
  }))
}

/** The archive state of each of the night's packages, in the order they were written. */
const archiveStates = (rng: Prng, night: NightSpec, count: number): Array<PackageState> =>
  Array.from({ length: count }, (_, i): PackageState => {
    if (night.archive === "all-archived") return "ARCHIVED"
    const f = i / count
    // The newest packages of the latest night are still on their way from Chile.
    if (night.archive === "in-transit" && f > 0.9) return "WAITING"
    if (night.archive === "in-transit" && f > 0.75) return "TRANSFERRING"
    return rng.chance(0.025) ? "FAILED" : "ARCHIVED"
  })
