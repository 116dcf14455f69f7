import { Prng } from "./prng.ts"

/*
 * The weather on Chajnantor over one day: a water-vapour column (pwv) that sets each night's
 * character and follows the Sun (driest before dawn, wettest in the afternoon), and the ground
 * readings of the weather station that go with it.
 */

/** Mean solar time at FYST's longitude, hours from UTC: the weather follows the Sun, not UTC. */
export const localHourOffset = -4.516

export interface NightWeather {
  readonly basePwvMm: number
  readonly trend: number
  readonly ambientOffsetC: number
  readonly windMs: number
}

export const nightWeather = (rng: Prng, date: string): NightWeather => ({
  // June is the heart of the dry season on Chajnantor; May is a little wetter.
  basePwvMm: (date.slice(5, 7) === "05" ? 1.0 : 0.75) * Math.exp(0.45 * rng.normal()),
  trend: rng.normal(0, 0.3),
  ambientOffsetC: rng.normal(0, 2),
  windMs: rng.uniform(3, 10)
})

export const pwvAt = (w: NightWeather, rng: Prng, dayFraction: number, localHours: number): number =>
  // Driest before dawn, wettest in the afternoon, plus a drift over the day and scan-to-scan jitter.
  w.basePwvMm * Math.exp(0.25 * Math.cos((2 * Math.PI * (localHours - 15)) / 24) + w.trend * (dayFraction - 0.5) + rng.normal(0, 0.04))

export const groundWeather = (w: NightWeather, rng: Prng, pwvMm: number, localHours: number) => ({
  ambientC: -9 + 4 * Math.cos((2 * Math.PI * (localHours - 14)) / 24) + w.ambientOffsetC,
  windMs: Math.max(0.3, w.windMs + rng.normal(0, 1.5)),
  humidityPercent: Math.min(95, Math.max(2, 10 + 25 * pwvMm + rng.normal(0, 3)))
})
