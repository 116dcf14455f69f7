import type { LineSpec } from "./catalog.ts"
import { ambientKelvin, atmosphereKelvin, type PackageContext } from "./conditions.ts"
import { jsonBytes, round, type JsonObject } from "./json.ts"
import { Prng } from "./prng.ts"
import { airmass, skyEmissionK, systemTemperatureK, zenithOpacity } from "./sky.ts"

/*
 * One CHAI package's raw data: for each of the 64 pixels, counts of the hot load, the cold load
 * and the sky per channel, as a chopper-wheel calibration needs them:
 *   T = (sky - cold) / (hot - cold) * (T_hot - T_cold) + T_cold
 * gives the sky brightness in K: atmosphere, a standing-wave ripple for the baseline step to
 * remove, and the source's line (a Gaussian at its velocity, attenuated by the atmosphere).
 * A few dead pixels answer with a flat offset, which calibration shows as an absurd T_sys.
 */

export const chaiPixels = 64
export const chaiChannels = 48
const pixelSpacingArcsec = 28
const speedOfLightKms = 299_792.458

/** Pixels known dead on each receiver: hardware, so the same in every scan. */
const deadPixels: Readonly<Record<"LFA" | "HFA", ReadonlyArray<number>>> = { LFA: [13, 42], HFA: [7] }

interface Pixel {
  readonly receiverK: number
  readonly gain: number
  readonly dead: boolean
  readonly xArcsec: number
  readonly yArcsec: number
}

export interface ChaiModel {
  readonly kind: "chai"
  readonly module: "LFA" | "HFA"
  /** The line the receiver is tuned to; `CONT` for continuum scans (tuned to its default line). */
  readonly lineId: string
  readonly restGhz: number
  readonly channelKms: number
  readonly firstChannelKms: number
  readonly integrationS: number
  readonly tHotK: number
  readonly tColdK: number
  readonly tauZenith: number
  readonly pixels: ReadonlyArray<Pixel>
  readonly tsysK: number
}

const threeDigits = (x: number): number => Number(x.toPrecision(3))

export const chaiModel = (ctx: PackageContext, module: "LFA" | "HFA", lineId: string, tuning: LineSpec): ChaiModel => {
  const rng = new Prng(`model/${ctx.packageName}`)
  const { conditions: c, source } = ctx
  const tauZenith = zenithOpacity(tuning.restGhz, c.pwvMm)
  // Ten line widths across the band: enough baseline on both sides for a polynomial fit.
  const channelKms = lineId === "CONT" ? 5 : threeDigits((source.fwhmKms * 10) / chaiChannels)
  const vlsr = lineId === "CONT" ? 0 : source.vlsrKms
  const flaky = rng.chance(0.05) ? rng.int(0, chaiPixels - 1) : -1
  const pixels: Array<Pixel> = []
  for (let p = 0; p < chaiPixels; p++) {
    const dead = deadPixels[module].includes(p) || p === flaky
    pixels.push({
      receiverK: module === "LFA" ? rng.uniform(100, 140) : rng.uniform(250, 350),
      gain: dead ? 0.3 : rng.normal(90, 8),
      dead,
      xArcsec: ((p % 8) - 3.5) * pixelSpacingArcsec,
      yArcsec: (Math.floor(p / 8) - 3.5) * pixelSpacingArcsec
    })
  }
  const live = pixels
    .filter((p) => !p.dead)
    .map((p) => systemTemperatureK(p.receiverK, tauZenith, c.elevationDeg, atmosphereKelvin(c)))
    .sort((a, b) => a - b)
  return {
    kind: "chai",
    module,
    lineId,
    restGhz: tuning.restGhz,
    channelKms,
    firstChannelKms: round(vlsr - (chaiChannels / 2) * channelKms, 3),
    integrationS: 2,
    tHotK: round(ambientKelvin(c) + 12 + rng.normal(0, 0.5), 2),
    tColdK: round(rng.uniform(78, 82), 2),
    tauZenith,
    pixels,
    tsysK: live[Math.floor(live.length / 2)] ?? 0
  }
}

export const chaiMetadata = (m: ChaiModel): JsonObject => ({
  observation: {
    frequency_ghz: m.restGhz,
    line_id: m.lineId,
    channels: chaiChannels,
    channel_kms: m.channelKms,
    first_channel_kms: m.firstChannelKms,
    integration_s: m.integrationS
  },
  receiver: {
    pixels: chaiPixels,
    live_pixels: m.pixels.filter((p) => !p.dead).length,
    tsys_k: round(m.tsysK, 1),
    t_hot_k: m.tHotK,
    t_cold_k: m.tColdK
  },
  atmosphere: { tau_zenith: round(m.tauZenith, 3) }
})

/** Counts of a load or the sky for one pixel: gain (with its ripple) times (T + T_rx), plus radiometer noise. */
const counts = (
  rng: Prng,
  pixel: Pixel,
  ripple: ReadonlyArray<number>,
  temperatureK: (channel: number) => number,
  channelHz: number,
  seconds: number
): Array<number> => {
  const out = new Array<number>(chaiChannels)
  const perKelvin = 1 / Math.sqrt(channelHz * seconds)
  for (let ch = 0; ch < chaiChannels; ch++) {
    if (pixel.dead) {
      out[ch] = Math.round(20_000 + 30 * rng.normal())
      continue
    }
    const total = temperatureK(ch) + pixel.receiverK
    out[ch] = Math.round(pixel.gain * ripple[ch]! * (total + total * perKelvin * rng.normal()))
  }
  return out
}

export const renderChaiFiles = (
  ctx: PackageContext,
  m: ChaiModel
): ReadonlyArray<{ readonly name: string; readonly bytes: Uint8Array }> => {
  const rng = new Prng(`data/${ctx.packageName}`)
  const { conditions: c, source } = ctx
  const channelHz = (m.channelKms / speedOfLightKms) * m.restGhz * 1e9
  const atmosphere = skyEmissionK(m.tauZenith, c.elevationDeg, atmosphereKelvin(c))
  const transmission = Math.exp(-m.tauZenith * airmass(c.elevationDeg))
  const peak = source.peakK[m.lineId] ?? 0
  const velocity = (ch: number): number => m.firstChannelKms + ch * m.channelKms
  const loads: Array<JsonObject> = []
  const skies: Array<JsonObject> = []
  // The standing wave is common to the whole array in one dump: one phase, one period.
  const wavePeriod = rng.uniform(90, 150)
  const wavePhase = rng.uniform(0, 2 * Math.PI)
  for (let p = 0; p < chaiPixels; p++) {
    const pixel = m.pixels[p]!
    const phase = rng.uniform(0, 2 * Math.PI)
    const slope = rng.normal(0, 0.05)
    const ripple = Array.from(
      { length: chaiChannels },
      (_, ch) => 1 + 0.06 * Math.sin((2 * Math.PI * ch) / 17 + phase) + slope * (ch / chaiChannels - 0.5)
    )
    const x = pixel.xArcsec + c.offsetArcsec[0]
    const y = pixel.yArcsec + c.offsetArcsec[1]
    // Beam (about 7 arcsec sigma at 461 GHz) convolved with the source's extent.
    const size2 = source.extentArcsec ** 2 + 49
    const amplitude = peak * Math.exp(-(x * x + y * y) / (2 * size2))
    const continuum = source.continuumK * Math.exp(-(x * x + y * y) / (2 * size2))
    // Rotation or a velocity gradient across the source: the line shifts with position.
    const shift = Math.max(-0.5, Math.min(0.5, (0.3 * x) / Math.max(source.extentArcsec, 1))) * source.fwhmKms
    const sigmaV = source.fwhmKms / 2.3548
    const sky = Array.from({ length: chaiChannels }, (_, ch) => {
      const dv = velocity(ch) - (source.vlsrKms + shift)
      const line = amplitude * Math.exp(-(dv * dv) / (2 * sigmaV * sigmaV))
      const wave = 0.002 * atmosphere * Math.sin((2 * Math.PI * ch) / wavePeriod + wavePhase)
      return atmosphere + wave + transmission * (line + continuum)
    })
    loads.push({
      pixel: p,
      hot: counts(rng, pixel, ripple, () => m.tHotK, channelHz, 1),
      cold: counts(rng, pixel, ripple, () => m.tColdK, channelHz, 1)
    })
    skies.push({
      pixel: p,
      offset_arcsec: [round(x, 1), round(y, 1)],
      sky: counts(rng, pixel, ripple, (ch) => sky[ch]!, channelHz, m.integrationS)
    })
  }
  const header = { package: ctx.packageName, module: m.module, source: source.name, line_id: m.lineId, channels: chaiChannels }
  return [
    {
      name: "loads.json",
      bytes: jsonBytes({ format: "ccat-chai-loads/1", ...header, t_hot_k: m.tHotK, t_cold_k: m.tColdK, integration_s: 1, pixels: loads })
    },
    {
      name: "sky.json",
      bytes: jsonBytes({
        format: "ccat-chai-sky/1",
        ...header,
        rest_frequency_ghz: m.restGhz,
        channel_kms: m.channelKms,
        first_channel_kms: m.firstChannelKms,
        integration_s: m.integrationS,
        elevation_deg: round(c.elevationDeg, 2),
        tau_zenith: round(m.tauZenith, 3),
        pixels: skies
      })
    }
  ]
}
