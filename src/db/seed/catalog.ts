/*
 * The fixed part of the demo observatory: what exists before anyone observes. Names follow the
 * example pipelines in pipelines/ (instrument `CHAI` with `LFA`/`HFA`, `Prime-Cam` with
 * `280GHz`/`350GHz`/`850GHz`, line ids such as `CO43`), positions and velocities are the
 * published ones, rounded. Line strengths are rough antenna temperatures, for plausible spectra.
 */

export type InstrumentName = "CHAI" | "Prime-Cam"
export type SourceKind = "FIXED" | "SOLAR_SYSTEM" | "CONSTANT_ELEVATION"

export interface ModuleSpec {
  readonly instrument: InstrumentName
  readonly name: string
  readonly minGhz: number
  readonly maxGhz: number
}

export const observatoryName = "CCAT"
export const telescopeName = "FYST"

export const modules: ReadonlyArray<ModuleSpec> = [
  { instrument: "CHAI", name: "LFA", minGhz: 455, maxGhz: 495 },
  { instrument: "CHAI", name: "HFA", minGhz: 800, maxGhz: 820 },
  { instrument: "Prime-Cam", name: "280GHz", minGhz: 255, maxGhz: 305 },
  { instrument: "Prime-Cam", name: "350GHz", minGhz: 325, maxGhz: 375 },
  { instrument: "Prime-Cam", name: "850GHz", minGhz: 810, maxGhz: 890 },
  // In the same cryostat as the broadband modules, so it records every Prime-Cam scan too; the
  // Prime-Cam example grouping leaves it out by module name.
  { instrument: "Prime-Cam", name: "EoR-Spec", minGhz: 210, maxGhz: 420 }
]

export const programs: ReadonlyArray<{ readonly shortName: string; readonly name: string }> = [
  { shortName: "GEco", name: "Galactic Ecology" },
  { shortName: "NGAL", name: "Nearby Galaxies" },
  { shortName: "DSS", name: "Deep Spectroscopic Survey" },
  { shortName: "Cal", name: "Calibration" },
  { shortName: "ENG", name: "Engineering" }
]

export interface LineSpec {
  readonly id: string
  readonly restGhz: number
  readonly module: "LFA" | "HFA"
  /** The line the other CHAI module is tuned to while this one observes, if both run. */
  readonly partner: string
}

export const lines: ReadonlyArray<LineSpec> = [
  { id: "CO43", restGhz: 461.040768, module: "LFA", partner: "CO76" },
  { id: "CI10", restGhz: 492.160651, module: "LFA", partner: "CI21" },
  { id: "CO76", restGhz: 806.651806, module: "HFA", partner: "CO43" },
  { id: "CI21", restGhz: 809.34197, module: "HFA", partner: "CI10" }
]

/** Continuum obs units (calibrators, engineering scans, Prime-Cam fields) carry this line id. */
export const continuumLine = "CONT"

export interface SourceSpec {
  readonly name: string
  readonly kind: SourceKind
  /** J2000, degrees; `null` for sources whose position is not fixed. */
  readonly raDeg: number | null
  readonly decDeg: number | null
  readonly vlsrKms: number
  readonly fwhmKms: number
  /** Extent of the emission on the sky (Gaussian sigma), arcsec. */
  readonly extentArcsec: number
  /** Peak antenna temperature per line, K. */
  readonly peakK: Readonly<Record<string, number>>
  /** Continuum brightness in Prime-Cam's bands at 280 GHz, K (scaled by frequency for others). */
  readonly continuumK: number
}

export const sources: ReadonlyArray<SourceSpec> = [
  {
    name: "NGC253",
    kind: "FIXED",
    raDeg: 11.888,
    decDeg: -25.288,
    vlsrKms: 243,
    fwhmKms: 180,
    extentArcsec: 25,
    peakK: { CO43: 0.8, CI10: 0.35, CO76: 0.5 },
    continuumK: 0.05
  },
  {
    name: "NGC4945",
    kind: "FIXED",
    raDeg: 196.364,
    decDeg: -49.468,
    vlsrKms: 563,
    fwhmKms: 250,
    extentArcsec: 20,
    peakK: { CO43: 0.6 },
    continuumK: 0.04
  },
  {
    name: "NGC1068",
    kind: "FIXED",
    raDeg: 40.67,
    decDeg: -0.013,
    vlsrKms: 1137,
    fwhmKms: 230,
    extentArcsec: 15,
    peakK: { CO43: 0.25 },
    continuumK: 0.02
  },
  {
    name: "IRC+10216",
    kind: "FIXED",
    raDeg: 146.989,
    decDeg: 13.279,
    vlsrKms: -26.5,
    fwhmKms: 29,
    extentArcsec: 15,
    peakK: { CO43: 25, CO76: 20 },
    continuumK: 0.3
  },
  {
    name: "Orion-KL",
    kind: "FIXED",
    raDeg: 83.81,
    decDeg: -5.375,
    vlsrKms: 9,
    fwhmKms: 8,
    extentArcsec: 60,
    peakK: { CO43: 110, CI10: 18, CO76: 90, CI21: 25 },
    continuumK: 2
  },
  {
    name: "W43",
    kind: "FIXED",
    raDeg: 281.904,
    decDeg: -1.943,
    vlsrKms: 91,
    fwhmKms: 12,
    extentArcsec: 90,
    peakK: { CO43: 25, CI10: 8 },
    continuumK: 0.8
  },
  {
    name: "Sgr B2",
    kind: "FIXED",
    raDeg: 266.834,
    decDeg: -28.383,
    vlsrKms: 64,
    fwhmKms: 25,
    extentArcsec: 60,
    peakK: { CO43: 20, CI21: 6 },
    continuumK: 3
  },
  {
    name: "rho Oph",
    kind: "FIXED",
    raDeg: 246.612,
    decDeg: -24.399,
    vlsrKms: 3.5,
    fwhmKms: 2.5,
    extentArcsec: 120,
    peakK: { CO43: 30, CI10: 12 },
    continuumK: 0.4
  },
  {
    name: "W51",
    kind: "FIXED",
    raDeg: 290.924,
    decDeg: 14.514,
    vlsrKms: 57,
    fwhmKms: 12,
    extentArcsec: 60,
    peakK: { CO43: 30 },
    continuumK: 1
  },
  // Low from Chajnantor (it never rises above 25 degrees), so it is observed only near transit.
  {
    name: "DR21",
    kind: "FIXED",
    raDeg: 309.752,
    decDeg: 42.325,
    vlsrKms: -3,
    fwhmKms: 6,
    extentArcsec: 40,
    peakK: { CI10: 10 },
    continuumK: 0.6
  },
  { name: "E-CDFS", kind: "FIXED", raDeg: 53.117, decDeg: -27.808, vlsrKms: 0, fwhmKms: 1, extentArcsec: 0, peakK: {}, continuumK: 0.001 },
  { name: "COSMOS", kind: "FIXED", raDeg: 150.119, decDeg: 2.206, vlsrKms: 0, fwhmKms: 1, extentArcsec: 0, peakK: {}, continuumK: 0.001 },
  // Planets move: their position comes from an ephemeris at observing time, not from the table.
  { name: "Jupiter", kind: "SOLAR_SYSTEM", raDeg: null, decDeg: null, vlsrKms: 0, fwhmKms: 1, extentArcsec: 20, peakK: {}, continuumK: 60 },
  { name: "Mars", kind: "SOLAR_SYSTEM", raDeg: null, decDeg: null, vlsrKms: 0, fwhmKms: 1, extentArcsec: 4, peakK: {}, continuumK: 8 },
  // Constant-elevation scans for detector tuning and atmosphere studies: a direction, not an object.
  {
    name: "CE-45",
    kind: "CONSTANT_ELEVATION",
    raDeg: null,
    decDeg: null,
    vlsrKms: 0,
    fwhmKms: 1,
    extentArcsec: 0,
    peakK: {},
    continuumK: 0
  }
]

/** OTF maps for spectra, pong maps for the camera, cross and raster scans on calibrators, constant-elevation scans for engineering. */
export type ScanPattern = "OTF" | "raster" | "pong" | "cross" | "ces"

export interface ObsUnitSpec {
  readonly name: string
  readonly instrument: InstrumentName
  readonly source: string
  readonly line: string
  readonly program: string
  readonly pattern: ScanPattern
  /** How often the scheduler picks it when it can, relative to the others. */
  readonly weight: number
}

const chai = (source: string, line: string, program: string, weight: number): ObsUnitSpec => ({
  name: `CHAI_${source.replace(/ /g, "")}_${line}`,
  instrument: "CHAI",
  source,
  line,
  program,
  pattern: line === continuumLine ? (program === "ENG" ? "ces" : "cross") : "OTF",
  weight
})

const primecam = (source: string, program: string, weight: number): ObsUnitSpec => ({
  name: `PCAM_${source.replace(/ /g, "")}_${continuumLine}`,
  instrument: "Prime-Cam",
  source,
  line: continuumLine,
  program,
  pattern: program === "ENG" ? "ces" : program === "Cal" ? "raster" : "pong",
  weight
})

export const obsUnits: ReadonlyArray<ObsUnitSpec> = [
  chai("Orion-KL", "CO43", "GEco", 4),
  chai("Orion-KL", "CI10", "GEco", 2),
  chai("Orion-KL", "CO76", "GEco", 4),
  chai("W43", "CO43", "GEco", 3),
  chai("W43", "CI10", "GEco", 2),
  chai("Sgr B2", "CO43", "GEco", 3),
  chai("Sgr B2", "CI21", "GEco", 4),
  chai("rho Oph", "CO43", "GEco", 2),
  chai("rho Oph", "CI10", "GEco", 2),
  chai("W51", "CO43", "GEco", 2),
  chai("DR21", "CI10", "GEco", 3),
  chai("IRC+10216", "CO43", "GEco", 2),
  chai("IRC+10216", "CO76", "GEco", 3),
  chai("NGC253", "CO43", "NGAL", 5),
  chai("NGC253", "CI10", "NGAL", 2),
  chai("NGC253", "CO76", "NGAL", 3),
  chai("NGC4945", "CO43", "NGAL", 2),
  chai("NGC1068", "CO43", "NGAL", 2),
  chai("Jupiter", continuumLine, "Cal", 1),
  chai("Mars", continuumLine, "Cal", 1),
  chai("CE-45", continuumLine, "ENG", 1),
  primecam("W43", "GEco", 3),
  primecam("Sgr B2", "GEco", 3),
  primecam("rho Oph", "GEco", 3),
  primecam("IRC+10216", "GEco", 2),
  primecam("E-CDFS", "DSS", 4),
  primecam("COSMOS", "DSS", 3),
  primecam("Jupiter", "Cal", 1),
  primecam("Mars", "Cal", 1),
  primecam("CE-45", "ENG", 1)
]

/** The catalog refers to its own sources by name; a miss is a bug in this file, not bad input. */
export const findSource = (name: string): SourceSpec => {
  const source = sources.find((s) => s.name === name)
  if (source === undefined) throw new Error(`demo catalog: no source named ${name}`)
  return source
}
export const findLine = (id: string): LineSpec | undefined => lines.find((l) => l.id === id)
export const modulesOf = (instrument: InstrumentName): ReadonlyArray<ModuleSpec> => modules.filter((m) => m.instrument === instrument)
