/*
 * Just enough astronomy and atmosphere for plausible numbers: where a source stands in the sky
 * above FYST at a given time (so scans happen while it is up), and how opaque the sky is at a
 * frequency for a given water vapour column (so system temperatures and the drop in data
 * quality with weather look right). Approximations good to a degree and a few per cent.
 */

const fystLatitudeDeg = -22.9856
const fystLongitudeDeg = -67.7406
const rad = Math.PI / 180

/** Local sidereal time at FYST, hours in [0, 24). */
export const localSiderealHours = (time: Date): number => {
  const daysSinceJ2000 = (time.getTime() - Date.UTC(2000, 0, 1, 12)) / 86_400_000
  const gmst = 18.697374558 + 24.06570982441908 * daysSinceJ2000
  return (((gmst + fystLongitudeDeg / 15) % 24) + 24) % 24
}

export interface HorizontalPosition {
  readonly elevationDeg: number
  readonly azimuthDeg: number
}

/** Elevation and azimuth (from north through east) of a fixed J2000 position. */
export const horizontal = (raDeg: number, decDeg: number, time: Date): HorizontalPosition => {
  const hourAngle = (localSiderealHours(time) * 15 - raDeg) * rad
  const lat = fystLatitudeDeg * rad
  const dec = decDeg * rad
  const sinEl = Math.sin(lat) * Math.sin(dec) + Math.cos(lat) * Math.cos(dec) * Math.cos(hourAngle)
  const el = Math.asin(sinEl)
  const az = Math.atan2(
    -Math.cos(dec) * Math.sin(hourAngle),
    Math.sin(dec) * Math.cos(lat) - Math.cos(dec) * Math.sin(lat) * Math.cos(hourAngle)
  )
  return { elevationDeg: el / rad, azimuthDeg: (((az / rad) % 360) + 360) % 360 }
}

/*
 * Zenith opacity = dry + wet * pwv, interpolated in frequency between a few anchors read off
 * the Chajnantor transmission curves: 280 GHz is clear in almost any weather, 810 GHz needs
 * the best nights.
 */
const opacityAnchors: ReadonlyArray<readonly [ghz: number, dry: number, wet: number]> = [
  [210, 0.02, 0.05],
  [280, 0.025, 0.06],
  [350, 0.04, 0.16],
  [420, 0.07, 0.5],
  [461, 0.08, 0.75],
  [492, 0.1, 0.95],
  [810, 0.2, 1.7],
  [850, 0.2, 1.6],
  [890, 0.25, 1.9]
]

export const zenithOpacity = (ghz: number, pwvMm: number): number => {
  const first = opacityAnchors[0]!
  const last = opacityAnchors[opacityAnchors.length - 1]!
  if (ghz <= first[0]) return first[1] + first[2] * pwvMm
  for (let i = 1; i < opacityAnchors.length; i++) {
    const hi = opacityAnchors[i]!
    const lo = opacityAnchors[i - 1]!
    if (ghz <= hi[0]) {
      const f = (ghz - lo[0]) / (hi[0] - lo[0])
      return lo[1] + f * (hi[1] - lo[1]) + (lo[2] + f * (hi[2] - lo[2])) * pwvMm
    }
  }
  return last[1] + last[2] * pwvMm
}

export const airmass = (elevationDeg: number): number => 1 / Math.sin(Math.max(elevationDeg, 10) * rad)

/** Sky brightness seen through the atmosphere, K: T_atm (1 - e^-tau A). */
export const skyEmissionK = (tauZenith: number, elevationDeg: number, atmosphereK: number): number =>
  atmosphereK * (1 - Math.exp(-tauZenith * airmass(elevationDeg)))

/** The system temperature referred to above the atmosphere, K. */
export const systemTemperatureK = (receiverK: number, tauZenith: number, elevationDeg: number, atmosphereK: number): number =>
  (receiverK + skyEmissionK(tauZenith, elevationDeg, atmosphereK)) * Math.exp(tauZenith * airmass(elevationDeg))
