/*
 * CHAI data as the demo archive stores it (src/db/seed/chai-data.ts writes it): `sky.json`
 * (format ccat-chai-sky/1) and `loads.json` (ccat-chai-loads/1), and the product formats the
 * demo programs hand to each other (ccat-chai-cal/1, ccat-chai-base/1). Checking is strict:
 * anything unexpected is bad input data (exit 1), named by file and field.
 */

import { DataError } from "./common.mjs"

export const speedOfLightKms = 299_792.458
/** FYST's primary mirror, m: sets the beam. */
export const dishDiameterM = 6

const isObject = (v) => typeof v === "object" && v !== null && !Array.isArray(v)
const finite = (v) => typeof v === "number" && Number.isFinite(v)

const check = (cond, path, what) => {
  if (!cond) throw new DataError(`${path}: ${what}`)
}

const numberArray = (v, n, path, what) => {
  check(Array.isArray(v) && v.length === n, path, `${what} must be an array of ${n} numbers`)
  for (let i = 0; i < n; i++) check(finite(v[i]), path, `${what}[${i}] is not a finite number`)
  return v
}

/** Checks a sky.json; returns it. */
export const checkSky = (sky, path) => {
  check(isObject(sky), path, "not a JSON object")
  check(sky.format === "ccat-chai-sky/1", path, `format is ${JSON.stringify(sky.format)}, expected "ccat-chai-sky/1"`)
  for (const key of ["package", "module", "source", "line_id"])
    check(typeof sky[key] === "string" && sky[key] !== "", path, `${key} must be a non-empty string`)
  check(Number.isInteger(sky.channels) && sky.channels >= 4 && sky.channels <= 1_000_000, path, "channels must be an integer of at least 4")
  check(finite(sky.rest_frequency_ghz) && sky.rest_frequency_ghz > 0, path, "rest_frequency_ghz must be positive")
  check(finite(sky.channel_kms) && sky.channel_kms > 0, path, "channel_kms must be positive")
  check(finite(sky.first_channel_kms), path, "first_channel_kms must be a number")
  check(finite(sky.integration_s) && sky.integration_s > 0, path, "integration_s must be positive")
  check(finite(sky.elevation_deg) && sky.elevation_deg > 0 && sky.elevation_deg <= 90, path, "elevation_deg must be in (0, 90]")
  check(finite(sky.tau_zenith) && sky.tau_zenith >= 0 && sky.tau_zenith < 20, path, "tau_zenith must be in [0, 20)")
  check(Array.isArray(sky.pixels) && sky.pixels.length > 0, path, "pixels must be a non-empty array")
  const seen = new Set()
  for (const [i, p] of sky.pixels.entries()) {
    check(isObject(p) && Number.isInteger(p.pixel) && p.pixel >= 0, path, `pixels[${i}].pixel must be a non-negative integer`)
    check(!seen.has(p.pixel), path, `pixel ${p.pixel} appears twice`)
    seen.add(p.pixel)
    numberArray(p.offset_arcsec, 2, path, `pixels[${i}].offset_arcsec`)
    numberArray(p.sky, sky.channels, path, `pixels[${i}].sky`)
  }
  return sky
}

/** Checks a loads.json against its sky.json; returns the loads by pixel. */
export const checkLoads = (loads, path, sky) => {
  check(isObject(loads), path, "not a JSON object")
  check(loads.format === "ccat-chai-loads/1", path, `format is ${JSON.stringify(loads.format)}, expected "ccat-chai-loads/1"`)
  check(
    loads.package === sky.package,
    path,
    `package ${JSON.stringify(loads.package)} does not match sky.json's ${JSON.stringify(sky.package)}`
  )
  check(loads.channels === sky.channels, path, `channels ${loads.channels} does not match sky.json's ${sky.channels}`)
  check(
    finite(loads.t_hot_k) && finite(loads.t_cold_k) && loads.t_cold_k > 0 && loads.t_hot_k > loads.t_cold_k,
    path,
    "needs t_hot_k > t_cold_k > 0"
  )
  check(Array.isArray(loads.pixels), path, "pixels must be an array")
  const byPixel = new Map()
  for (const [i, p] of loads.pixels.entries()) {
    check(isObject(p) && Number.isInteger(p.pixel), path, `pixels[${i}].pixel must be an integer`)
    check(!byPixel.has(p.pixel), path, `pixel ${p.pixel} appears twice`)
    numberArray(p.hot, sky.channels, path, `pixels[${i}].hot`)
    numberArray(p.cold, sky.channels, path, `pixels[${i}].cold`)
    byPixel.set(p.pixel, p)
  }
  for (const p of sky.pixels) check(byPixel.has(p.pixel), path, `no loads for pixel ${p.pixel} of sky.json`)
  return byPixel
}

/**
 * The scan a package belongs to, from the archive's package naming
 * `<instrument>_<module>_<YYYYMMDD>_<sequence>`: `{ id: "2026-05-03/014", key: "chai_20260503_014" }`.
 * Other names are their own scan.
 */
export const scanOf = (packageName) => {
  const m = /^([a-z0-9]+)_[a-z0-9-]+_(\d{4})(\d{2})(\d{2})_(\d+)$/.exec(packageName)
  if (m === null) return { id: packageName, key: packageName }
  return { id: `${m[2]}-${m[3]}-${m[4]}/${m[5]}`, key: `${m[1]}_${m[2]}${m[3]}${m[4]}_${m[5]}` }
}

/** Airmass of a plane-parallel atmosphere, as the telescope reports it (clamped below 10 degrees). */
export const airmass = (elevationDeg) => 1 / Math.sin((Math.max(elevationDeg, 10) * Math.PI) / 180)

/** Beam FWHM, arcsec: 1.2 λ / D for the 6 m dish. */
export const beamFwhmArcsec = (restGhz) => ((1.2 * (speedOfLightKms * 1e3)) / (restGhz * 1e9) / dishDiameterM) * (180 / Math.PI) * 3600

/** The velocity axis of a product: { channels, first_kms, channel_kms }. */
export const velocities = (axis) => Array.from({ length: axis.channels }, (_, i) => axis.first_kms + i * axis.channel_kms)

/** Checks an upstream product (ccat-chai-cal/1 or ccat-chai-base/1) enough to use it. */
export const checkProduct = (p, path, format) => {
  check(isObject(p), path, "not a JSON object")
  check(p.format === format, path, `format is ${JSON.stringify(p.format)}, expected ${JSON.stringify(format)}`)
  for (const key of ["package", "module", "source", "line_id"])
    check(typeof p[key] === "string" && p[key] !== "", path, `${key} must be a non-empty string`)
  check(isObject(p.axis), path, "no axis")
  const a = p.axis
  check(Number.isInteger(a.channels) && a.channels >= 4, path, "axis.channels must be an integer of at least 4")
  check(finite(a.first_kms) && finite(a.channel_kms) && a.channel_kms > 0, path, "axis needs first_kms and a positive channel_kms")
  check(finite(a.vlsr_kms), path, "axis.vlsr_kms must be a number")
  check(finite(p.rest_frequency_ghz) && p.rest_frequency_ghz > 0, path, "rest_frequency_ghz must be positive")
  check(Array.isArray(p.pixels), path, "pixels must be an array")
  for (const [i, px] of p.pixels.entries()) {
    check(isObject(px) && Number.isInteger(px.pixel), path, `pixels[${i}].pixel must be an integer`)
    numberArray(px.offset_arcsec, 2, path, `pixels[${i}].offset_arcsec`)
    check(typeof px.flagged === "boolean", path, `pixels[${i}].flagged must be true or false`)
    check(
      px.spectrum === null || (Array.isArray(px.spectrum) && px.spectrum.length === a.channels),
      path,
      `pixels[${i}].spectrum must be null or ${a.channels} values`
    )
    if (px.spectrum !== null)
      for (const [j, v] of px.spectrum.entries())
        check(v === null || finite(v), path, `pixels[${i}].spectrum[${j}] is not a number or null`)
  }
  return p
}

/** A spectrum from a product: nulls (blanked channels) become NaN. */
export const spectrumOf = (values) => Float64Array.from(values, (v) => (v === null ? NaN : v))
