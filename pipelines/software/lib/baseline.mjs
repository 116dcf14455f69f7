/*
 * chai-baseline: per pixel spectrum, a least-squares polynomial fitted outside the line window
 * (iteratively sigma-clipping spikes) and subtracted. README.md has the details and formats.
 */

import { DataError, Outputs, UsageError, parseNumber, round, runProgram, safeName, shown } from "./common.mjs"
import { checkProduct, scanOf, spectrumOf, velocities } from "./chai.mjs"
import { loadManifest, outputDir, productPath, readJsonInput } from "./manifest.mjs"
import { mean, median, polyfit, rms, robustSigma } from "./numeric.mjs"
import { Canvas, colors, imagePanel, linePanel } from "./plot.mjs"

const program = "chai-baseline"
const usage = "chai-baseline --order <0-10> --despike <sigma, 0 = off>"

export const defaultWindowKms = [-50, 50]
/** At most this many clipping rounds; in practice two or three suffice. */
const maxIterations = 10

/** `window_kms` from the manifest config: two numbers, relative to the band's source velocity. */
const windowFromConfig = (config) => {
  const w = config.window_kms
  if (w === undefined || w === null) return null
  if (!Array.isArray(w) || w.length !== 2 || !w.every((x) => typeof x === "number" && Number.isFinite(x)) || !(w[0] < w[1])) {
    throw new UsageError(`invalid config window_kms ${shown(JSON.stringify(w))}: expected [low, high] in km/s, low < high`)
  }
  return w
}

/**
 * The line window in absolute velocity for one product: the configured (or default) window
 * around the band's source velocity, unless that leaves fewer than max(order + 2, channels / 4)
 * line-free channels; then the central 40 % of the band ("auto").
 */
export const lineWindow = (axis, relative, source, order) => {
  const v = velocities(axis)
  const abs = [axis.vlsr_kms + relative[0], axis.vlsr_kms + relative[1]]
  const free = v.filter((x) => x < abs[0] || x > abs[1]).length
  if (free >= Math.max(order + 2, Math.ceil(axis.channels / 4))) return { kms: abs, source }
  const half = 0.2 * axis.channels * axis.channel_kms
  return { kms: [axis.vlsr_kms - half, axis.vlsr_kms + half], source: "auto" }
}

/** Baselines one spectrum. Returns the subtracted spectrum (spikes blanked to NaN) and its metrics. */
export const baselineSpectrum = (y, lineFree, order, despike) => {
  const n = y.length
  let spikes = new Uint8Array(n)
  let fit = null
  for (let iteration = 0; iteration < maxIterations; iteration++) {
    const use = Uint8Array.from(lineFree, (f, c) => (f && !spikes[c] ? 1 : 0))
    fit = polyfit(y, use, order)
    if (fit === null) return null
    if (!(despike > 0)) break
    const residual = []
    for (let c = 0; c < n; c++) if (use[c]) residual.push(y[c] - fit[c])
    const sigma = robustSigma(residual)
    const next = new Uint8Array(n)
    let clipped = 0
    for (let c = 0; c < n; c++) {
      if (lineFree[c] && Number.isFinite(y[c]) && Math.abs(y[c] - fit[c]) > despike * sigma) {
        next[c] = 1
        clipped++
      }
    }
    // Never clip so much that the polynomial is no longer determined.
    const left = lineFree.reduce((s, f, c) => s + (f && !next[c] && Number.isFinite(y[c]) ? 1 : 0), 0)
    if (left < order + 2) break
    const same = next.every((s, c) => s === spikes[c])
    spikes = next
    if (same || clipped === 0) break
  }
  if (despike > 0) {
    // The last clipping round may have changed the spike set: fit once more without them.
    const use = Uint8Array.from(lineFree, (f, c) => (f && !spikes[c] ? 1 : 0))
    fit = polyfit(y, use, order) ?? fit
  }
  const out = Float64Array.from(y, (t, c) => (spikes[c] ? NaN : t - fit[c]))
  const before = []
  const after = []
  for (let c = 0; c < n; c++) {
    if (!lineFree[c]) continue
    before.push(y[c])
    if (!spikes[c]) after.push(out[c])
  }
  return { out, spikes: [...spikes.keys()].filter((c) => spikes[c]), rmsBefore: rms(before), rmsAfter: rms(after) }
}

const body = async ({ values, log }) => {
  const manifest = loadManifest()
  const out = new Outputs(outputDir(manifest))
  const version = typeof manifest.software?.version === "string" ? manifest.software.version : null
  const configured = windowFromConfig(manifest.config)
  const relative = configured ?? defaultWindowKms
  const windowSource = configured === null ? "default" : "config"
  const { order, despike } = values
  const inputs = manifest.inputs.products.filter((p) => p.path.endsWith(".cal.json"))
  if (inputs.length === 0)
    throw new DataError(`no calibrated spectra (*.cal.json) among the ${manifest.inputs.products.length} input product(s)`)
  const products = inputs.map((p) => {
    const path = productPath(manifest, p)
    return checkProduct(readJsonInput(path), path, "ccat-chai-cal/1")
  })
  products.sort((a, b) => (a.package < b.package ? -1 : a.package > b.package ? 1 : 0))
  log.info(
    `${program}: order ${order}, despike ${despike} sigma, window ${JSON.stringify(relative)} km/s (${windowSource}), ${products.length} product(s)`
  )
  const byScan = new Map()
  for (const cal of products) {
    const name = safeName(cal.package)
    const window = lineWindow(cal.axis, relative, windowSource, order)
    if (window.source === "auto")
      log.info(
        `${program}: ${cal.package}: the window leaves too few line-free channels in a band of ${round(cal.axis.channels * cal.axis.channel_kms, 2)} km/s; using the central 40 % instead`
      )
    const v = velocities(cal.axis)
    const lineFree = v.map((x) => x < window.kms[0] || x > window.kms[1])
    const rows = cal.pixels.map((px) => {
      if (px.spectrum === null) return { px, result: null, before: null }
      const before = spectrumOf(px.spectrum)
      const result = baselineSpectrum(before, lineFree, order, despike)
      if (result === null)
        throw new DataError(`${cal.package} pixel ${px.pixel}: too few line-free channels for an order-${order} baseline`)
      return { px, result, before }
    })
    const done = rows.filter((r) => r.result !== null)
    const usable = done.filter((r) => !r.px.flagged)
    const spikeCount = done.reduce((s, r) => s + r.result.spikes.length, 0)
    const { velocity_kms: _, ...axis } = cal.axis
    out.json(`science/${name}.base.json`, {
      format: "ccat-chai-base/1",
      package: cal.package,
      scan: cal.scan,
      module: cal.module,
      source: cal.source,
      line_id: cal.line_id,
      rest_frequency_ghz: cal.rest_frequency_ghz,
      software: { program, version, calibrated_by: cal.software ?? null },
      units: cal.units,
      calibration: cal.calibration,
      baseline: {
        order,
        despike_sigma: despike,
        window_kms: window.kms.map((x) => round(x, 4)),
        window_relative_kms: relative,
        window_source: window.source
      },
      axis: { ...axis, velocity_kms: v.map((x) => round(x, 4)) },
      pixels: rows.map(({ px, result }) => ({
        pixel: px.pixel,
        offset_arcsec: px.offset_arcsec,
        tsys_k: px.tsys_k ?? null,
        flagged: px.flagged,
        flags: px.flags ?? [],
        rms_k: result === null ? null : round(result.rmsAfter, 4),
        spectrum: result === null ? null : Array.from(result.out, (t) => round(t, 4))
      }))
    })
    const ratio = median(usable.map((r) => r.result.rmsAfter / r.result.rmsBefore))
    out.json(
      `qa/${name}.base.qa.json`,
      {
        format: "ccat-chai-base-qa/1",
        package: cal.package,
        scan: cal.scan,
        module: cal.module,
        window_kms: window.kms.map((x) => round(x, 4)),
        window_source: window.source,
        line_free_channels: lineFree.filter(Boolean).length,
        pixels: done.map(({ px, result }) => ({
          pixel: px.pixel,
          flagged: px.flagged,
          rms_before_k: round(result.rmsBefore, 4),
          rms_after_k: round(result.rmsAfter, 4),
          spikes: result.spikes
        }))
      },
      { pretty: true }
    )
    out.json(
      `statistics/${name}.base.stats.json`,
      {
        format: "ccat-chai-base-stats/1",
        package: cal.package,
        scan: cal.scan,
        module: cal.module,
        source: cal.source,
        line_id: cal.line_id,
        pixels_baselined: done.length,
        usable_pixels: usable.length,
        rms_before_k: {
          median: round(median(usable.map((r) => r.result.rmsBefore)), 4),
          mean: round(mean(usable.map((r) => r.result.rmsBefore)), 4)
        },
        rms_after_k: {
          median: round(median(usable.map((r) => r.result.rmsAfter)), 4),
          mean: round(mean(usable.map((r) => r.result.rmsAfter)), 4)
        },
        rms_ratio_median: round(ratio, 4),
        spikes_blanked: spikeCount
      },
      { pretty: true }
    )
    log.info(
      `${program}: ${cal.package}: ${done.length} spectra, line-free rms ${round(median(usable.map((r) => r.result.rmsBefore)), 4) ?? "n/a"} -> ${round(median(usable.map((r) => r.result.rmsAfter)), 4) ?? "n/a"} K (median), ${spikeCount} spike(s) blanked`
    )
    const key = scanOf(cal.package).key
    if (!byScan.has(key)) byScan.set(key, [])
    byScan.get(key).push({ cal, v, rows: done, usable, window })
  }
  // One plot per scan, a row per package: line-free rms after the baseline per pixel (8 × 8 as
  // on the sky; flagged pixels framed in red, pixels without a spectrum red), and the mean
  // spectrum of the usable pixels before (grey) and after (yellow), the line window shaded.
  for (const [key, entries] of byScan) {
    const rowH = 180
    const canvas = new Canvas(600, entries.length * rowH + 10)
    entries.forEach(({ cal, v, rows, usable, window }, i) => {
      const y0 = 10 + i * rowH
      const side = Math.ceil(Math.sqrt(Math.max(...cal.pixels.map((p) => p.pixel)) + 1))
      const grid = new Float64Array(side * side).fill(NaN)
      for (const r of rows) grid[r.px.pixel] = r.result.rmsAfter
      const shownRows = usable.length > 0 ? usable : rows
      const scale = shownRows.map((r) => r.result.rmsAfter)
      imagePanel(canvas, 10, y0, {
        nx: side,
        ny: side,
        values: grid,
        lo: scale.length > 0 ? Math.min(...scale) : 0,
        hi: scale.length > 0 ? Math.max(...scale) : 1,
        cell: Math.floor(160 / side),
        marked: new Set(cal.pixels.filter((p) => p.spectrum === null).map((p) => p.pixel)),
        outlined: new Set(rows.filter((r) => r.px.flagged).map((r) => r.px.pixel))
      })
      const meanOf = (pick) => v.map((_, c) => mean(shownRows.map((r) => pick(r)[c])))
      linePanel(canvas, 200, y0, 390, 160, {
        x: v,
        shade: window.kms,
        series: [
          { y: meanOf((r) => r.before), color: colors.before },
          { y: meanOf((r) => r.result.out), color: colors.after }
        ]
      })
    })
    out.add(`plots/${safeName(key)}.base.png`, canvas.png())
  }
  out.finish(program, log)
}

export const main = () =>
  runProgram({
    program,
    step: "baseline",
    usage,
    options: {
      order: (raw, what) => parseNumber(raw, what, { min: 0, max: 10, integer: true }),
      despike: (raw, what) => parseNumber(raw, what, { min: 0, max: 1000 })
    },
    body
  })
