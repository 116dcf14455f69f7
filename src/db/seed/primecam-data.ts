import type { ModuleSpec } from "./catalog.ts"
import { atmosphereKelvin, type PackageContext } from "./conditions.ts"
import { jsonBytes, round, type JsonObject } from "./json.ts"
import { Prng } from "./prng.ts"
import { airmass, skyEmissionK, zenithOpacity } from "./sky.ts"

/*
 * One Prime-Cam package's raw data: a few seconds of timestream for a readout subset of
 * detectors (all of them would be gigabytes), and a housekeeping file. The timestream is what
 * the cleaning step works against: a per-detector baseline, the atmosphere as a drifting common
 * mode, the source as a beam-shaped bump where the scan crosses it, white noise, and the odd
 * cosmic-ray glitch. Dead detectors show noise only.
 */

export const storedDetectors = 24
const samples = 256
const sampleRateHz = 122
const housekeepingSamples = 120

/** Detectors per module (three wafers each) and the band centre. */
const moduleSetup: Readonly<Record<string, { readonly detectors: number; readonly bandGhz: number }>> = {
  "280GHz": { detectors: 10_368, bandGhz: 280 },
  "350GHz": { detectors: 10_368, bandGhz: 350 },
  "850GHz": { detectors: 18_432, bandGhz: 850 },
  "EoR-Spec": { detectors: 6_912, bandGhz: 315 }
}

export interface PrimecamModel {
  readonly kind: "primecam"
  readonly module: string
  readonly bandGhz: number
  readonly firmware: string
  /** Whether this firmware writes detector counts into the metadata (2.0 and later). */
  readonly recordsDetectorCounts: boolean
  readonly totalDetectors: number
  readonly liveDetectors: number
  readonly tauZenith: number
}

export const primecamModel = (ctx: PackageContext, module: ModuleSpec, firmware: string): PrimecamModel => {
  const rng = new Prng(`model/${ctx.packageName}`)
  const setup = moduleSetup[module.name] ?? { detectors: 10_368, bandGhz: (module.minGhz + module.maxGhz) / 2 }
  // Now and then a module comes up badly tuned, with most resonators lost.
  const live = rng.chance(0.04) ? rng.int(600, 980) : Math.round(setup.detectors * Math.min(0.95, rng.normal(0.86, 0.03)))
  return {
    kind: "primecam",
    module: module.name,
    bandGhz: setup.bandGhz,
    firmware,
    recordsDetectorCounts: !firmware.startsWith("1."),
    totalDetectors: setup.detectors,
    liveDetectors: live,
    tauZenith: zenithOpacity(setup.bandGhz, ctx.conditions.pwvMm)
  }
}

export const primecamMetadata = (m: PrimecamModel): JsonObject => ({
  observation: { frequency_ghz: m.bandGhz, sample_rate_hz: sampleRateHz },
  readout: m.recordsDetectorCounts
    ? { firmware: m.firmware, total_detectors: m.totalDetectors, live_detectors: m.liveDetectors, stored_detectors: storedDetectors }
    : { firmware: m.firmware, stored_detectors: storedDetectors },
  atmosphere: { tau_zenith: round(m.tauZenith, 3) }
})

export const renderPrimecamFiles = (
  ctx: PackageContext,
  m: PrimecamModel
): ReadonlyArray<{ readonly name: string; readonly bytes: Uint8Array }> => {
  const rng = new Prng(`data/${ctx.packageName}`)
  const { conditions: c, source } = ctx
  const skyK = skyEmissionK(m.tauZenith, c.elevationDeg, atmosphereKelvin(c))
  // Common mode: atmospheric fluctuations grow with water vapour and frequency.
  const common: Array<number> = []
  let drift = 0
  for (let i = 0; i < samples; i++) {
    drift = 0.97 * drift + rng.normal(0, 0.02 * c.pwvMm * (m.bandGhz / 280))
    common.push(drift)
  }
  const sourceK = source.continuumK * (m.bandGhz / 280) ** 2 * Math.exp(-m.tauZenith * airmass(c.elevationDeg))
  const crossing = rng.uniform(60, 200)
  const beamSamples = 2 + source.extentArcsec / 10
  const liveFraction = m.liveDetectors / m.totalDetectors
  const detectors: Array<JsonObject> = []
  for (let d = 0; d < storedDetectors; d++) {
    const wafer = 1 + (d % 3)
    const live = rng.chance(liveFraction)
    const baseline = rng.normal(20_000, 1_500)
    const responsivity = live ? rng.normal(40, 6) : 0
    const offset = rng.normal(0, 1.5)
    const glitchAt = rng.chance(0.25) ? rng.int(0, samples - 2) : -1
    const glitch = rng.uniform(300, 1500)
    const counts = Array.from({ length: samples }, (_, i) => {
      const bump = sourceK * Math.exp(-((i - crossing - offset) ** 2) / (2 * beamSamples * beamSamples))
      let value = baseline + responsivity * (skyK + common[i]! + bump) + rng.normal(0, 3)
      if (i === glitchAt) value += glitch
      if (i === glitchAt + 1) value += glitch * 0.3
      return Math.round(value)
    })
    // Spread over the wafer, and distinct: the subset is a fixed readout map, not a random draw.
    detectors.push({ id: `w${wafer}_${String(d * 137 + rng.int(0, 136)).padStart(4, "0")}`, wafer, live, counts })
  }
  const bath = Array.from({ length: housekeepingSamples }, () => round(rng.normal(100, 0.15), 3))
  const step = c.durationS / housekeepingSamples
  return [
    {
      name: "housekeeping.json",
      bytes: jsonBytes({
        format: "ccat-primecam-housekeeping/1",
        package: ctx.packageName,
        module: m.module,
        interval_s: round(step, 2),
        bath_temperature_mk: bath,
        elevation_deg: Array.from({ length: housekeepingSamples }, () => round(c.elevationDeg + rng.normal(0, 0.3), 2))
      })
    },
    {
      name: "timestreams.json",
      bytes: jsonBytes({
        format: "ccat-primecam-timestreams/1",
        package: ctx.packageName,
        module: m.module,
        source: source.name,
        band_ghz: m.bandGhz,
        sample_rate_hz: sampleRateHz,
        samples,
        detectors
      })
    }
  ]
}
