/*
 * chai-grid: baselined spectra of many scans of one source and line → a position-position-
 * velocity cube, by convolution with a gridding kernel on a regular map grid, after resampling
 * every spectrum onto a common velocity axis. README.md has the formulas and the cube format.
 */

import { endianness } from "node:os"
import { DataError, Outputs, UsageError, parseChoice, parseNumber, round, runProgram, safeName, shown } from "./common.mjs"
import { beamFwhmArcsec, checkProduct, spectrumOf } from "./chai.mjs"
import { loadManifest, outputDir, productPath, readJsonInput } from "./manifest.mjs"
import { besselJ1, median, robustSigma } from "./numeric.mjs"
import { Canvas, colors, imagePanel, linePanel } from "./plot.mjs"

const program = "chai-grid"
const usage = "chai-grid --pixel <arcsec> --kernel gauss|gauss_bessel --channel <km/s>"

export const cubeMagic = "CCATCUBE"
/** Refuse cubes above this many voxels (each costs 12 bytes while gridding, 4 on disk). */
export const maxVoxels = 64 * 1024 * 1024
/** Map pixels whose summed kernel weight is below this (in units of one median-weight spectrum at the kernel centre) stay blank. */
const minWeight = 0.01

/**
 * The gridding kernels of Mangum, Emerson & Greisen (2007, A&A 474, 679), in units of
 * u = θ_B / 3: Gaussian exp(-(r/u)^2) to 3u; Gaussian-tapered Bessel
 * 2 J1(π r / 1.55u) / (π r / 1.55u) · exp(-(r / 2.52u)^2) to its first zero (1.22 · 1.55u).
 */
export const kernelOf = (name, unit) => {
  if (name === "gauss") return { support: 3 * unit, weight: (r) => Math.exp(-((r / unit) ** 2)) }
  const a = 1.55 * unit
  const b = 2.52 * unit
  return {
    support: 1.2196698912665045 * a,
    weight: (r) => {
      const x = (Math.PI * r) / a
      const jinc = x < 1e-8 ? 1 : (2 * besselJ1(x)) / x
      return jinc * Math.exp(-((r / b) ** 2))
    }
  }
}

const isObject = (v) => typeof v === "object" && v !== null && !Array.isArray(v)

/** The optional config the command line does not carry: velocity_range_kms, weighting. */
const extraConfig = (config) => {
  let range = null
  if (config.velocity_range_kms !== undefined && config.velocity_range_kms !== null) {
    const r = config.velocity_range_kms
    if (!Array.isArray(r) || r.length !== 2 || !r.every((x) => typeof x === "number" && Number.isFinite(x)) || !(r[0] < r[1])) {
      throw new UsageError(`invalid config velocity_range_kms ${shown(JSON.stringify(r))}: expected [low, high] in km/s, low < high`)
    }
    range = r
  }
  let scheme = "tsys"
  let clip = null
  if (config.weighting !== undefined && config.weighting !== null) {
    const w = config.weighting
    if (!isObject(w)) throw new UsageError(`invalid config weighting ${shown(JSON.stringify(w))}: expected { scheme, clip_sigma }`)
    if (w.scheme !== undefined) scheme = parseChoice(w.scheme, "config weighting.scheme", ["tsys", "rms", "uniform"])
    if (w.clip_sigma !== undefined && w.clip_sigma !== null) {
      if (typeof w.clip_sigma !== "number" || !Number.isFinite(w.clip_sigma) || w.clip_sigma <= 0)
        throw new UsageError(`invalid config weighting.clip_sigma ${shown(JSON.stringify(w.clip_sigma))}: expected a positive number`)
      clip = w.clip_sigma
    }
  }
  return { range, scheme, clip }
}

/**
 * One spectrum on the output velocity axis (channel centres v0 + k dv): the overlap-weighted
 * mean of the input channels when the output channels are at least as wide (needs half the
 * output channel covered by finite input), linear interpolation between input channel centres
 * when they are narrower.
 */
export const resample = (values, first, step, v0, dv, nOut) => {
  const n = values.length
  const out = new Float64Array(nOut).fill(NaN)
  if (dv >= step) {
    for (let k = 0; k < nOut; k++) {
      const a = v0 + k * dv - dv / 2
      const b = a + dv
      const j0 = Math.max(0, Math.floor((a - first) / step + 0.5) - 1)
      const j1 = Math.min(n - 1, Math.ceil((b - first) / step + 0.5) + 1)
      let sum = 0
      let cover = 0
      for (let j = j0; j <= j1; j++) {
        const lo = first + j * step - step / 2
        const o = Math.min(b, lo + step) - Math.max(a, lo)
        if (o <= 0 || !Number.isFinite(values[j])) continue
        sum += o * values[j]
        cover += o
      }
      if (cover >= 0.5 * dv) out[k] = sum / cover
    }
  } else {
    for (let k = 0; k < nOut; k++) {
      const t = (v0 + k * dv - first) / step
      if (t < -0.5 || t > n - 0.5) continue
      if (t <= 0) out[k] = values[0]
      else if (t >= n - 1) out[k] = values[n - 1]
      else {
        const j = Math.floor(t)
        const f = t - j
        out[k] = values[j] * (1 - f) + values[j + 1] * f
      }
    }
  }
  return out
}

/** Grids one source/line. Returns the cube and everything the outputs report. */
export const gridGroup = ({ products, pixel, kernelName, channel, range, scheme, clip, log }) => {
  const first = products[0]
  const restGhz = first.rest_frequency_ghz
  let spectra = []
  for (const p of products) {
    if (Math.abs(p.rest_frequency_ghz - restGhz) > 1e-6 * restGhz)
      throw new DataError(`${p.package}: rest frequency ${p.rest_frequency_ghz} GHz differs from ${first.package}'s ${restGhz} GHz`)
    for (const px of p.pixels) {
      if (px.flagged || px.spectrum === null) continue
      spectra.push({
        product: p,
        px,
        x: px.offset_arcsec[0],
        y: px.offset_arcsec[1],
        values: spectrumOf(px.spectrum),
        tsys: px.tsys_k,
        rms: px.rms_k
      })
    }
  }
  const total = spectra.length
  if (total === 0) return null
  // Weights: radiometer (1/T_sys^2), measured noise (1/rms^2) or none.
  for (const s of spectra) {
    const basis = scheme === "tsys" ? s.tsys : scheme === "rms" ? s.rms : 1
    if (typeof basis !== "number" || !Number.isFinite(basis) || basis <= 0)
      throw new DataError(
        `${s.product.package} pixel ${s.px.pixel}: no usable ${scheme === "tsys" ? "tsys_k" : "rms_k"} for ${scheme} weighting`
      )
    s.weight = 1 / (basis * basis)
  }
  let clipped = 0
  if (clip !== null) {
    const noise = spectra.map((s) => s.rms).filter((r) => typeof r === "number" && Number.isFinite(r))
    const limit = median(noise) + clip * robustSigma(noise)
    const kept = spectra.filter((s) => !(typeof s.rms === "number" && s.rms > limit))
    clipped = spectra.length - kept.length
    spectra = kept
    log.info(`${program}: ${first.source} ${first.line_id}: ${clipped} of ${total} spectra clipped (rms above ${round(limit, 4)} K)`)
    if (spectra.length === 0) return null
  }
  const w0 = median(spectra.map((s) => s.weight))
  for (const s of spectra) s.weight /= w0

  const beam = beamFwhmArcsec(restGhz)
  const unit = beam / 3
  const kernel = kernelOf(kernelName, unit)
  const R = kernel.support

  // Spatial grid: centred on the source (offset 0, 0), covering every spectrum plus the kernel support.
  const xMax = spectra.reduce((m, s) => Math.max(m, Math.abs(s.x)), 0) + R
  const yMax = spectra.reduce((m, s) => Math.max(m, Math.abs(s.y)), 0) + R
  const hx = Math.ceil(xMax / pixel)
  const hy = Math.ceil(yMax / pixel)
  const nx = 2 * hx + 1
  const ny = 2 * hy + 1

  // Velocity axis: channel centres at integer multiples of the channel width, inside the data.
  let lo = Infinity
  let hi = -Infinity
  for (const p of products) {
    lo = Math.min(lo, p.axis.first_kms - p.axis.channel_kms / 2)
    hi = Math.max(hi, p.axis.first_kms + (p.axis.channels - 0.5) * p.axis.channel_kms)
  }
  const dataRange = [lo, hi]
  if (range !== null) {
    lo = Math.max(lo, range[0])
    hi = Math.min(hi, range[1])
  }
  const k0 = Math.ceil(lo / channel + 0.5 - 1e-9)
  const k1 = Math.floor(hi / channel - 0.5 + 1e-9)
  if (k1 < k0) {
    throw new DataError(
      `no ${channel} km/s channel fits in ${range === null ? "the data's" : "velocity_range_kms ∩ the data's"} range [${round(lo, 3)}, ${round(hi, 3)}] km/s (data: [${round(dataRange[0], 3)}, ${round(dataRange[1], 3)}])`
    )
  }
  const nc = k1 - k0 + 1
  const v0 = k0 * channel
  const voxels = nx * ny * nc
  if (voxels > maxVoxels)
    throw new DataError(
      `the cube would have ${nx} x ${ny} x ${nc} = ${voxels} voxels (limit ${maxVoxels}): use larger --pixel or --channel, or a velocity_range_kms`
    )
  log.info(
    `${program}: ${first.source} ${first.line_id}: ${spectra.length} spectra from ${products.length} package(s) onto ${nx} x ${ny} x ${nc} (pixel ${pixel}", channel ${channel} km/s, beam ${round(beam, 2)}", ${kernelName} kernel to ${round(R, 2)}")`
  )

  // Convolution: T(x, y, v) = Σ w_s K(r) T_s(v) / Σ w_s K(r), over the finite T_s(v).
  const num = new Float64Array(voxels)
  const den = new Float64Array(nx * ny)
  const missing = new Map()
  const resampled = channel >= first.axis.channel_kms ? "box average" : "linear interpolation"
  for (const s of spectra) {
    const t = resample(s.values, s.product.axis.first_kms, s.product.axis.channel_kms, v0, channel, nc)
    const ix0 = Math.max(0, Math.ceil((s.x - R) / pixel) + hx)
    const ix1 = Math.min(nx - 1, Math.floor((s.x + R) / pixel) + hx)
    const iy0 = Math.max(0, Math.ceil((s.y - R) / pixel) + hy)
    const iy1 = Math.min(ny - 1, Math.floor((s.y + R) / pixel) + hy)
    for (let iy = iy0; iy <= iy1; iy++) {
      const dy = (iy - hy) * pixel - s.y
      for (let ix = ix0; ix <= ix1; ix++) {
        const dx = (ix - hx) * pixel - s.x
        const r = Math.sqrt(dx * dx + dy * dy)
        if (r > R) continue
        const k = kernel.weight(r) * s.weight
        if (!(k > 0)) continue
        const cell = iy * nx + ix
        den[cell] += k
        const base = cell * nc
        for (let c = 0; c < nc; c++) {
          if (Number.isFinite(t[c])) num[base + c] += k * t[c]
          else missing.set(base + c, (missing.get(base + c) ?? 0) + k)
        }
      }
    }
  }
  // The cube in (velocity, y, x) order, x fastest.
  const cube = new Float32Array(voxels).fill(NaN)
  let filled = 0
  for (let cell = 0; cell < nx * ny; cell++) {
    if (den[cell] < minWeight) continue
    filled++
    const iy = Math.floor(cell / nx)
    const ix = cell % nx
    for (let c = 0; c < nc; c++) {
      const d = den[cell] - (missing.get(cell * nc + c) ?? 0)
      if (d >= minWeight) cube[(c * ny + iy) * nx + ix] = num[cell * nc + c] / d
    }
  }
  return { spectra, total, clipped, beam, unit, kernel, nx, ny, nc, hx, hy, v0, cube, filled, resampled, dataRange }
}

const body = async ({ values, log }) => {
  const manifest = loadManifest()
  const out = new Outputs(outputDir(manifest))
  const version = typeof manifest.software?.version === "string" ? manifest.software.version : null
  const { range, scheme, clip } = extraConfig(manifest.config)
  const { pixel, kernel: kernelName, channel } = values
  const inputs = manifest.inputs.products.filter((p) => p.path.endsWith(".base.json"))
  if (inputs.length === 0)
    throw new DataError(`no baselined spectra (*.base.json) among the ${manifest.inputs.products.length} input product(s)`)
  const products = inputs.map((p) => {
    const path = productPath(manifest, p)
    return checkProduct(readJsonInput(path), path, "ccat-chai-base/1")
  })
  products.sort((a, b) => (a.package < b.package ? -1 : a.package > b.package ? 1 : 0))
  const seen = new Set()
  for (const p of products) {
    if (seen.has(p.package)) throw new DataError(`package ${p.package} appears in more than one input product`)
    seen.add(p.package)
  }
  // One cube per source, line and receiver module among the inputs (a scan's partner-line
  // packages come along; continuum scans carry line CONT on both modules).
  const groups = new Map()
  const modulesOf = new Map()
  for (const p of products) {
    const key = `${p.source}\u0000${p.line_id}\u0000${p.module}`
    if (!groups.has(key)) groups.set(key, [])
    groups.get(key).push(p)
    const pair = `${p.source}\u0000${p.line_id}`
    modulesOf.set(pair, new Set([...(modulesOf.get(pair) ?? []), p.module]))
  }
  log.info(
    `${program}: pixel ${pixel}", kernel ${kernelName}, channel ${channel} km/s, ${scheme} weighting${clip === null ? "" : `, clip ${clip} sigma`}; ${products.length} product(s), ${groups.size} source/line group(s)`
  )
  let cubes = 0
  for (const group of groups.values()) {
    const { source, line_id: line, module } = group[0]
    const g = gridGroup({ products: group, pixel, kernelName, channel, range, scheme, clip, log })
    if (g === null) {
      log.info(`${program}: warning: ${source} ${line} (${module}): no usable spectra (every pixel flagged), no cube`)
      continue
    }
    cubes++
    // <source>__<line>, and __<module> when the line id comes from more than one module.
    const stem = `${safeName(source)}__${safeName(line)}${modulesOf.get(`${source}\u0000${line}`).size > 1 ? `__${safeName(module)}` : ""}`
    const { nx, ny, nc, hx, hy, v0, cube } = g
    const velocity = (c) => v0 + c * channel
    const xOf = (ix) => (ix - hx) * pixel
    const yOf = (iy) => (iy - hy) * pixel

    // Moment 0 over the union of the baseline steps' line windows.
    const windows = group.map((p) => p.baseline?.window_kms).filter((w) => Array.isArray(w) && w.length === 2)
    const window =
      windows.length > 0 ? [Math.min(...windows.map((w) => w[0])), Math.max(...windows.map((w) => w[1]))] : [velocity(0), velocity(nc - 1)]
    const inWindow = Array.from({ length: nc }, (_, c) => velocity(c) >= window[0] && velocity(c) <= window[1])
    const mom0 = new Float64Array(nx * ny).fill(NaN)
    for (let cell = 0; cell < nx * ny; cell++) {
      let sum = 0
      let any = false
      for (let c = 0; c < nc; c++) {
        const t = cube[c * nx * ny + cell]
        if (!inWindow[c] || !Number.isFinite(t)) continue
        sum += t * channel
        any = true
      }
      if (any) mom0[cell] = sum
    }
    // Peak voxel, line-free noise (a fixed, evenly spaced sample of at most 200 000 voxels), moment-0 peak and centroid.
    let peak = { value: -Infinity, ix: 0, iy: 0, c: 0 }
    for (let c = 0; c < nc; c++) {
      for (let cell = 0; cell < nx * ny; cell++) {
        const t = cube[c * nx * ny + cell]
        if (t > peak.value) peak = { value: t, ix: cell % nx, iy: Math.floor(cell / nx), c }
      }
    }
    const offLine = []
    const stride = Math.max(1, Math.floor(cube.length / 200_000))
    for (let i = 0; i < cube.length; i += stride) {
      const c = Math.floor(i / (nx * ny))
      if (!inWindow[c] && Number.isFinite(cube[i])) offLine.push(cube[i])
    }
    const noise = robustSigma(offLine)
    let m0 = { value: -Infinity, cell: 0 }
    for (let cell = 0; cell < nx * ny; cell++) if (mom0[cell] > m0.value) m0 = { value: mom0[cell], cell }
    let cw = 0
    let cx = 0
    let cy = 0
    for (let cell = 0; cell < nx * ny; cell++) {
      if (!(mom0[cell] >= 0.5 * m0.value)) continue
      cw += mom0[cell]
      cx += mom0[cell] * xOf(cell % nx)
      cy += mom0[cell] * yOf(Math.floor(cell / nx))
    }
    const packages = group.map((p) => p.package)
    const scans = [...new Set(group.map((p) => p.scan ?? p.package))].sort()

    // The cube file: magic, header length, JSON header (space-padded to 8 bytes), float32 data.
    const header = {
      format: "ccat-chai-cube/1",
      source,
      line_id: line,
      module,
      rest_frequency_ghz: group[0].rest_frequency_ghz,
      software: { program, version },
      units: "K, T_A*",
      data: {
        type: "float32",
        byte_order: "little-endian",
        order: "x fastest, then y, then velocity: index = (v * ny + y) * nx + x",
        offset_bytes: 0,
        blank: "NaN"
      },
      axes: {
        x: {
          n: nx,
          first_arcsec: round(xOf(0), 6),
          step_arcsec: pixel,
          reference: "offset from the source, as offset_arcsec[0] in the raw data"
        },
        y: {
          n: ny,
          first_arcsec: round(yOf(0), 6),
          step_arcsec: pixel,
          reference: "offset from the source, as offset_arcsec[1] in the raw data"
        },
        velocity: { n: nc, first_kms: round(v0, 6), step_kms: channel, frame: "LSR" }
      },
      gridding: {
        kernel: kernelName,
        beam_fwhm_arcsec: round(g.beam, 3),
        kernel_unit_arcsec: round(g.unit, 3),
        support_arcsec: round(g.kernel.support, 3),
        weighting: scheme,
        clip_sigma: clip,
        min_weight: minWeight,
        channel_resampling: g.resampled
      },
      inputs: { packages, scans, spectra: g.spectra.length, spectra_clipped: g.clipped }
    }
    const prefix = 8 + 4
    let headerText = JSON.stringify(header)
    const dataOffset = (h) => Math.ceil((prefix + Buffer.byteLength(h)) / 8) * 8
    // The offset is part of the header: settle it (its digits can change the length once).
    for (let i = 0; i < 3; i++) {
      header.data.offset_bytes = dataOffset(headerText)
      headerText = JSON.stringify(header)
    }
    const offset = dataOffset(headerText)
    if (offset !== header.data.offset_bytes) throw new Error("cube header offset did not settle")
    const file = Buffer.alloc(offset + cube.length * 4, 0x20)
    file.write(cubeMagic, 0, "ascii")
    file.writeUInt32LE(offset - prefix, 8)
    file.write(headerText, prefix, "utf8")
    if (endianness() === "LE") file.set(new Uint8Array(cube.buffer, cube.byteOffset, cube.byteLength), offset)
    else for (let i = 0; i < cube.length; i++) file.writeFloatLE(cube[i], offset + i * 4)
    out.add(`science/${stem}.cube`, file)

    out.json(`science/${stem}.mom0.json`, {
      format: "ccat-chai-mom0/1",
      source,
      line_id: line,
      units: "K km/s",
      window_kms: window.map((x) => round(x, 4)),
      axes: { x: header.axes.x, y: header.axes.y },
      order: "x fastest: index = y * nx + x",
      values: Array.from(mom0, (x) => round(x, 4))
    })
    const filledFraction = g.filled / (nx * ny)
    out.json(
      `statistics/${stem}.cube.stats.json`,
      {
        format: "ccat-chai-cube-stats/1",
        source,
        line_id: line,
        spectra: g.spectra.length,
        packages: packages.length,
        scans: scans.length,
        cube: { nx, ny, nchan: nc, filled_fraction: round(filledFraction, 4) },
        peak_k: {
          value: round(peak.value, 4),
          x_arcsec: round(xOf(peak.ix), 3),
          y_arcsec: round(yOf(peak.iy), 3),
          velocity_kms: round(velocity(peak.c), 4)
        },
        rms_k: round(noise, 5),
        peak_snr: round(peak.value / noise, 2),
        moment0: {
          window_kms: window.map((x) => round(x, 4)),
          peak_k_kms: round(m0.value, 3),
          x_arcsec: round(xOf(m0.cell % nx), 3),
          y_arcsec: round(yOf(Math.floor(m0.cell / nx)), 3),
          centroid_arcsec: cw > 0 ? [round(cx / cw, 3), round(cy / cw, 3)] : null
        }
      },
      { pretty: true }
    )
    const perPackage = group.map((p) => {
      const used = g.spectra.filter((s) => s.product === p)
      return {
        package: p.package,
        scan: p.scan ?? null,
        spectra_used: used.length,
        median_weight: round(median(used.map((s) => s.weight)), 4)
      }
    })
    out.json(
      `qa/${stem}.cube.qa.json`,
      {
        format: "ccat-chai-cube-qa/1",
        source,
        line_id: line,
        spectra_available: g.total,
        spectra_clipped: g.clipped,
        spectra_used: g.spectra.length,
        filled_pixels: g.filled,
        blank_pixels: nx * ny - g.filled,
        data_velocity_range_kms: g.dataRange.map((x) => round(x, 4)),
        gridding: header.gridding,
        inputs: perPackage
      },
      { pretty: true }
    )
    log.info(
      `${program}: ${source} ${line}: peak ${round(peak.value, 3)} K at (${round(xOf(peak.ix), 1)}", ${round(yOf(peak.iy), 1)}") ${round(velocity(peak.c), 2)} km/s, rms ${round(noise, 4)} K, ${round(100 * filledFraction, 1)} % of the map filled`
    )

    // The plot: moment-0 map (+y up, +x right; the source position marked), and the spectrum
    // at the moment-0 peak with the integration window shaded.
    const cell = Math.max(1, Math.min(16, Math.floor(360 / Math.max(nx, ny))))
    const width = 20 + nx * cell + 20 + 360 + 20
    const height = Math.max(ny * cell, 200) + 40
    const canvas = new Canvas(width, height)
    const finiteMom0 = Array.from(mom0).filter(Number.isFinite)
    imagePanel(canvas, 20, 20, {
      nx,
      ny,
      values: mom0,
      lo: finiteMom0.reduce((a, b) => Math.min(a, b), 0),
      hi: finiteMom0.reduce((a, b) => Math.max(a, b), -Infinity),
      cell
    })
    const sx = 20 + hx * cell + Math.floor(cell / 2)
    const sy = 20 + (ny - 1 - hy) * cell + Math.floor(cell / 2)
    const arm = Math.max(3, cell)
    canvas.line(sx - arm, sy, sx + arm, sy, colors.line)
    canvas.line(sx, sy - arm, sx, sy + arm, colors.line)
    const vAxis = Array.from({ length: nc }, (_, c) => velocity(c))
    const atPeak = vAxis.map((_, c) => cube[c * nx * ny + m0.cell])
    linePanel(canvas, 20 + nx * cell + 20, 20, 360, Math.max(ny * cell, 200), {
      x: vAxis,
      shade: window,
      series: [{ y: atPeak, color: colors.after }]
    })
    out.add(`plots/${stem}.mom0.png`, canvas.png())
  }
  if (cubes === 0) throw new DataError(`no usable spectra in ${products.length} input product(s): every pixel is flagged`)
  out.finish(program, log)
}

export const main = () =>
  runProgram({
    program,
    step: "grid",
    usage,
    options: {
      pixel: (raw, what) => parseNumber(raw, what, { min: 0.01, max: 3600 }),
      kernel: (raw, what) => parseChoice(raw, what, ["gauss", "gauss_bessel"]),
      channel: (raw, what) => parseNumber(raw, what, { min: 0.001, max: 10_000 })
    },
    body
  })
