/*
 * chai-calibrate: chopper-wheel (hot/cold load) calibration of CHAI raw counts to antenna
 * temperature, per pixel and channel, with system temperatures and flags. README.md has the
 * formulas and the output formats.
 */

import { DataError, Outputs, parseChoice, parseNumber, round, runProgram, safeName } from "./common.mjs"
import { airmass, checkLoads, checkSky, scanOf, speedOfLightKms, velocities } from "./chai.mjs"
import { findPackageFile, loadManifest, outputDir, readJsonInput } from "./manifest.mjs"
import { differenceNoise, mean, median } from "./numeric.mjs"
import { Canvas, colors, imagePanel, linePanel } from "./plot.mjs"

const program = "chai-calibrate"
const usage = "chai-calibrate --mode hot_cold --tsys-max <kelvin>"

/**
 * Calibrates one package. Returns the product, its QA and statistics, and what the plot needs.
 */
export const calibratePackage = (sky, loadsByPixel, tHot, tCold, tsysMax) => {
  const n = sky.channels
  const am = airmass(sky.elevation_deg)
  const transmission = Math.exp(-sky.tau_zenith * am)
  const toAboveAtmosphere = 1 / transmission
  const dT = tHot - tCold
  const pixels = [...sky.pixels]
    .sort((a, b) => a.pixel - b.pixel)
    .map((p) => {
      const { hot, cold } = loadsByPixel.get(p.pixel)
      const tSky = new Float64Array(n)
      let dead = false
      let sumSky = 0
      let sumHot = 0
      let sumCold = 0
      for (let c = 0; c < n; c++) {
        const d = hot[c] - cold[c]
        if (!(d > 0)) dead = true
        tSky[c] = ((p.sky[c] - cold[c]) / d) * dT + tCold
        sumSky += p.sky[c]
        sumHot += hot[c]
        sumCold += cold[c]
      }
      const sumD = sumHot - sumCold
      // T_rx + T_sky = sky / (hot - cold) * (T_hot - T_cold), referred to above the atmosphere.
      const tsys = (sumSky / sumD) * dT * toAboveAtmosphere
      const trx = (tHot * sumCold - tCold * sumHot) / sumD
      if (!Number.isFinite(tsys) || tsys <= 0 || !Number.isFinite(trx) || trx <= 0) dead = true
      const flags = []
      if (dead) flags.push("dead")
      if (!dead && tsys > tsysMax) flags.push("tsys")
      return { pixel: p.pixel, offset: p.offset_arcsec, tSky, tsys, trx, dead, flags }
    })
  const working = pixels.filter((p) => !p.dead)
  if (working.length === 0)
    throw new DataError(`${sky.package}: no pixel can be calibrated (hot and cold loads do not differ in any pixel)`)
  // The atmosphere is the same for every pixel: its emission is the array median of the
  // per-pixel medians over the band (robust to the line, which fills a few channels, and to a
  // compact source, which fills a few pixels).
  const skyEmission = median(working.map((p) => median(p.tSky)))
  const channelHz = (sky.channel_kms / speedOfLightKms) * sky.rest_frequency_ghz * 1e9
  const rows = pixels.map((p) => {
    if (p.dead) return { ...p, ta: null, noise: NaN, expectedNoise: NaN }
    const ta = Float64Array.from(p.tSky, (t) => (t - skyEmission) * toAboveAtmosphere)
    // Noise from the outer quarter of the band on each side, where a line tuned to the band
    // centre does not reach (a bright line would inflate a whole-band estimate).
    const edge = Math.max(2, Math.floor(n / 4))
    const noise = Math.sqrt((differenceNoise(ta.subarray(0, edge)) ** 2 + differenceNoise(ta.subarray(n - edge)) ** 2) / 2)
    return { ...p, ta, noise, expectedNoise: p.tsys / Math.sqrt(channelHz * sky.integration_s) }
  })
  return { rows, airmass: am, transmission, skyEmission, channelHz }
}

const summary = (values) => {
  const v = values.filter(Number.isFinite)
  return v.length === 0
    ? { mean: null, median: null, min: null, max: null }
    : { mean: round(mean(v), 1), median: round(median(v), 1), min: round(Math.min(...v), 1), max: round(Math.max(...v), 1) }
}

const body = async ({ values, log }) => {
  const manifest = loadManifest()
  const out = new Outputs(outputDir(manifest))
  const version = typeof manifest.software?.version === "string" ? manifest.software.version : null
  const packages = [...manifest.inputs.packages].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  if (packages.length === 0) throw new DataError("the manifest lists no input packages")
  log.info(`${program}: mode ${values.mode}, T_sys limit ${values["tsys-max"]} K, ${packages.length} package(s)`)
  const byScan = new Map()
  for (const pkg of packages) {
    const skyPath = findPackageFile(manifest, pkg, "sky.json")
    const loadsPath = findPackageFile(manifest, pkg, "loads.json")
    if (skyPath === undefined) throw new DataError(`package ${pkg.name} has no sky.json`)
    if (loadsPath === undefined) throw new DataError(`package ${pkg.name} has no loads.json`)
    const sky = checkSky(readJsonInput(skyPath), skyPath)
    const loadsDoc = readJsonInput(loadsPath)
    const loads = checkLoads(loadsDoc, loadsPath, sky)
    const cal = calibratePackage(sky, loads, loadsDoc.t_hot_k, loadsDoc.t_cold_k, values["tsys-max"])
    const name = safeName(pkg.name)
    const scan = scanOf(sky.package)
    const v = velocities({ channels: sky.channels, first_kms: sky.first_channel_kms, channel_kms: sky.channel_kms })
    const vlsr = sky.first_channel_kms + (sky.channels / 2) * sky.channel_kms
    const flagged = cal.rows.filter((r) => r.flags.length > 0)
    const usable = cal.rows.filter((r) => r.flags.length === 0)
    out.json(`science/${name}.cal.json`, {
      format: "ccat-chai-cal/1",
      package: sky.package,
      scan: scan.id,
      module: sky.module,
      source: sky.source,
      line_id: sky.line_id,
      rest_frequency_ghz: sky.rest_frequency_ghz,
      software: { program, version },
      units: "K, T_A* (antenna temperature corrected for atmospheric attenuation)",
      calibration: {
        mode: values.mode,
        t_hot_k: loadsDoc.t_hot_k,
        t_cold_k: loadsDoc.t_cold_k,
        tau_zenith: sky.tau_zenith,
        elevation_deg: sky.elevation_deg,
        airmass: round(cal.airmass, 4),
        transmission: round(cal.transmission, 4),
        sky_emission_k: round(cal.skyEmission, 3),
        tsys_max_k: values["tsys-max"],
        integration_s: sky.integration_s
      },
      axis: {
        channels: sky.channels,
        first_kms: sky.first_channel_kms,
        channel_kms: sky.channel_kms,
        vlsr_kms: round(vlsr, 3),
        velocity_kms: v.map((x) => round(x, 4))
      },
      pixels: cal.rows.map((r) => ({
        pixel: r.pixel,
        offset_arcsec: r.offset,
        tsys_k: round(r.tsys, 1),
        flagged: r.flags.length > 0,
        flags: r.flags,
        spectrum: r.ta === null ? null : Array.from(r.ta, (t) => round(t, 4))
      }))
    })
    out.json(
      `qa/${name}.cal.qa.json`,
      {
        format: "ccat-chai-cal-qa/1",
        package: sky.package,
        scan: scan.id,
        module: sky.module,
        tsys_max_k: values["tsys-max"],
        flagged_pixels: flagged.map((r) => r.pixel),
        dead_pixels: cal.rows.filter((r) => r.dead).map((r) => r.pixel),
        high_tsys_pixels: cal.rows.filter((r) => r.flags.includes("tsys")).map((r) => r.pixel),
        pixels: cal.rows.map((r) => ({
          pixel: r.pixel,
          tsys_k: round(r.tsys, 1),
          trx_k: round(r.trx, 1),
          noise_k: round(r.noise, 4),
          flags: r.flags
        }))
      },
      { pretty: true }
    )
    // The peak of the usable spectra: where (and at which velocity) the line is brightest.
    let peak = { value: null, pixel: null, velocity_kms: null }
    for (const r of usable)
      for (let c = 0; c < sky.channels; c++)
        if (peak.value === null || r.ta[c] > peak.value) peak = { value: r.ta[c], pixel: r.pixel, velocity_kms: v[c] }
    out.json(
      `statistics/${name}.cal.stats.json`,
      {
        format: "ccat-chai-cal-stats/1",
        package: sky.package,
        scan: scan.id,
        module: sky.module,
        source: sky.source,
        line_id: sky.line_id,
        pixels: cal.rows.length,
        usable_pixels: usable.length,
        flagged_pixels: flagged.length,
        tsys_k: summary(usable.map((r) => r.tsys)),
        trx_k: summary(usable.map((r) => r.trx)),
        sky_emission_k: round(cal.skyEmission, 3),
        transmission: round(cal.transmission, 4),
        rms_k: {
          median: round(median(usable.map((r) => r.noise)), 4),
          radiometer_sky_only: round(median(usable.map((r) => r.expectedNoise)), 4)
        },
        peak_k: { value: round(peak.value, 3), pixel: peak.pixel, velocity_kms: round(peak.velocity_kms, 3) }
      },
      { pretty: true }
    )
    const dead = cal.rows.filter((r) => r.dead).map((r) => r.pixel)
    const hot = cal.rows.filter((r) => r.flags.includes("tsys")).map((r) => r.pixel)
    const list = (xs) => (xs.length <= 8 ? `[${xs.join(", ")}]` : `(${xs.length} pixels)`)
    log.info(
      `${program}: ${sky.package} (${sky.module} ${sky.source} ${sky.line_id}): median T_sys ${round(median(usable.map((r) => r.tsys)), 1) ?? "n/a"} K, ` +
        `${usable.length} of ${cal.rows.length} pixels usable; dead ${list(dead)}; T_sys over ${values["tsys-max"]} K ${list(hot)}`
    )
    if (usable.length === 0) log.info(`${program}: warning: ${sky.package} has no usable pixel (every pixel flagged)`)
    if (!byScan.has(scan.key)) byScan.set(scan.key, [])
    byScan.get(scan.key).push({ sky, cal, v, usable })
  }
  // One plot per scan, a row per package: T_sys per pixel (8 × 8 as on the sky; dead pixels
  // red, pixels over the T_sys limit framed in red), and the mean calibrated spectrum of the
  // usable pixels (of all working pixels when none is usable).
  for (const [key, rows] of byScan) {
    const rowH = 180
    const canvas = new Canvas(600, rows.length * rowH + 10)
    rows.forEach(({ cal, v, usable }, i) => {
      const y0 = 10 + i * rowH
      const side = Math.ceil(Math.sqrt(Math.max(...cal.rows.map((r) => r.pixel)) + 1))
      const grid = new Float64Array(side * side).fill(NaN)
      for (const r of cal.rows) grid[r.pixel] = r.tsys
      const working = cal.rows.filter((r) => !r.dead)
      const shown = usable.length > 0 ? usable : working
      const scale = working.map((r) => r.tsys)
      imagePanel(canvas, 10, y0, {
        nx: side,
        ny: side,
        values: grid,
        lo: Math.min(...scale),
        hi: Math.max(...scale),
        cell: Math.floor(160 / side),
        marked: new Set(cal.rows.filter((r) => r.dead).map((r) => r.pixel)),
        outlined: new Set(cal.rows.filter((r) => r.flags.includes("tsys")).map((r) => r.pixel))
      })
      const meanSpectrum = v.map((_, c) => mean(shown.map((r) => r.ta[c])))
      linePanel(canvas, 200, y0, 390, 160, { x: v, series: [{ y: meanSpectrum, color: colors.line }] })
    })
    out.add(`plots/${safeName(key)}.cal.png`, canvas.png())
  }
  out.finish(program, log)
}

export const main = () =>
  runProgram({
    program,
    step: "calibrate",
    usage,
    options: {
      mode: (raw, what) => parseChoice(raw, what, ["hot_cold"]),
      "tsys-max": (raw, what) => parseNumber(raw, what, { min: 0, exclusiveMin: true, max: 1e7 })
    },
    body
  })
