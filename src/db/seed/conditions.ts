import type { SourceSpec } from "./catalog.ts"

/** What the telescope and the weather station recorded for one scan. */
export interface ScanConditions {
  readonly pwvMm: number
  readonly ambientC: number
  readonly windMs: number
  readonly humidityPercent: number
  readonly elevationDeg: number
  readonly azimuthDeg: number
  /** Where the array centre pointed relative to the source during the dump stored in the files, arcsec. */
  readonly offsetArcsec: readonly [number, number]
  readonly durationS: number
}

/** The inputs every instrument's data model needs: which package, of what, under which sky. */
export interface PackageContext {
  readonly packageName: string
  readonly source: SourceSpec
  readonly conditions: ScanConditions
}

export const ambientKelvin = (c: ScanConditions): number => c.ambientC + 273.15

/** The atmosphere's effective emitting temperature: its water sits higher, and colder, than the ground. */
export const atmosphereKelvin = (c: ScanConditions): number => ambientKelvin(c) - 15
