/*
 * Just enough drawing for QA plots: an RGB canvas, filled rectangles, lines, a colour map, an
 * image panel of a 2-D array and a line-plot panel of spectra. No text (no fonts): the README
 * says what each plot shows and in which orientation.
 */

import { encodePng } from "./png.mjs"

export const colors = {
  background: [24, 24, 28],
  frame: [110, 110, 120],
  axis: [70, 70, 80],
  blank: [45, 45, 50],
  flagged: [220, 40, 40],
  window: [40, 48, 70],
  before: [130, 130, 140],
  after: [250, 210, 80],
  line: [120, 200, 255]
}

export class Canvas {
  constructor(width, height, background = colors.background) {
    this.width = width
    this.height = height
    this.pixels = new Uint8Array(width * height * 3)
    this.fill(0, 0, width, height, background)
  }
  set(x, y, rgb) {
    x = Math.round(x)
    y = Math.round(y)
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return
    const i = (y * this.width + x) * 3
    this.pixels[i] = rgb[0]
    this.pixels[i + 1] = rgb[1]
    this.pixels[i + 2] = rgb[2]
  }
  fill(x0, y0, w, h, rgb) {
    for (let y = Math.max(0, y0); y < Math.min(this.height, y0 + h); y++)
      for (let x = Math.max(0, x0); x < Math.min(this.width, x0 + w); x++) this.set(x, y, rgb)
  }
  frame(x0, y0, w, h, rgb = colors.frame) {
    for (let x = x0; x < x0 + w; x++) {
      this.set(x, y0, rgb)
      this.set(x, y0 + h - 1, rgb)
    }
    for (let y = y0; y < y0 + h; y++) {
      this.set(x0, y, rgb)
      this.set(x0 + w - 1, y, rgb)
    }
  }
  /** Bresenham, integer end points. */
  line(x0, y0, x1, y1, rgb) {
    x0 = Math.round(x0)
    y0 = Math.round(y0)
    x1 = Math.round(x1)
    y1 = Math.round(y1)
    const dx = Math.abs(x1 - x0)
    const dy = -Math.abs(y1 - y0)
    const sx = x0 < x1 ? 1 : -1
    const sy = y0 < y1 ? 1 : -1
    let err = dx + dy
    for (;;) {
      this.set(x0, y0, rgb)
      if (x0 === x1 && y0 === y1) break
      const e2 = 2 * err
      if (e2 >= dy) {
        err += dy
        x0 += sx
      }
      if (e2 <= dx) {
        err += dx
        y0 += sy
      }
    }
  }
  png() {
    return encodePng({ width: this.width, height: this.height, color: "rgb", pixels: this.pixels })
  }
}

// A perceptually ordered dark-blue → purple → orange → yellow map (inferno-like), 0..1.
const stops = [
  [0.0, [0, 0, 4]],
  [0.25, [87, 16, 110]],
  [0.5, [188, 55, 84]],
  [0.75, [249, 142, 9]],
  [1.0, [252, 255, 164]]
]

export const colormap = (t) => {
  if (!Number.isFinite(t)) return colors.blank
  const u = Math.min(1, Math.max(0, t))
  for (let i = 1; i < stops.length; i++) {
    const [t1, c1] = stops[i]
    const [t0, c0] = stops[i - 1]
    if (u <= t1) {
      const f = (u - t0) / (t1 - t0)
      return [0, 1, 2].map((k) => Math.round(c0[k] + f * (c1[k] - c0[k])))
    }
  }
  return stops[stops.length - 1][1]
}

/**
 * Draws `values` (nx × ny, index y * nx + x) with (0, 0) at the lower left, each cell `cell`
 * canvas pixels; NaN cells are `colors.blank`, cells in `marked` are filled with `markColor`,
 * cells in `outlined` keep their colour inside a `markColor` frame.
 */
export const imagePanel = (
  canvas,
  x0,
  y0,
  { nx, ny, values, lo, hi, cell, marked = new Set(), outlined = new Set(), markColor = colors.flagged }
) => {
  const span = hi > lo ? hi - lo : 1
  for (let y = 0; y < ny; y++) {
    for (let x = 0; x < nx; x++) {
      const k = y * nx + x
      const rgb = marked.has(k) ? markColor : colormap((values[k] - lo) / span)
      canvas.fill(x0 + x * cell, y0 + (ny - 1 - y) * cell, cell, cell, rgb)
      if (outlined.has(k) && cell >= 4) canvas.frame(x0 + x * cell + 1, y0 + (ny - 1 - y) * cell + 1, cell - 2, cell - 2, markColor)
    }
  }
  canvas.frame(x0 - 1, y0 - 1, nx * cell + 2, ny * cell + 2)
}

/**
 * Line plot of one or more series against a common x axis, in a w × h box. `shade` marks an
 * x interval (e.g. the line window); a zero line is drawn when 0 is in range.
 */
export const linePanel = (canvas, x0, y0, w, h, { x, series, shade }) => {
  const finite = series.flatMap((s) => Array.from(s.y).filter(Number.isFinite))
  let lo = Math.min(...finite)
  let hi = Math.max(...finite)
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    lo = -1
    hi = 1
  }
  if (hi - lo < 1e-9) {
    lo -= 1
    hi += 1
  }
  const pad = 0.05 * (hi - lo)
  lo -= pad
  hi += pad
  const xlo = x[0]
  const xhi = x[x.length - 1]
  const px = (v) => x0 + ((v - xlo) / (xhi - xlo || 1)) * (w - 1)
  const py = (v) => y0 + (h - 1) - ((v - lo) / (hi - lo)) * (h - 1)
  if (shade) {
    const a = Math.max(x0, Math.round(px(Math.max(shade[0], xlo))))
    const b = Math.min(x0 + w - 1, Math.round(px(Math.min(shade[1], xhi))))
    if (b > a) canvas.fill(a, y0, b - a + 1, h, colors.window)
  }
  if (lo < 0 && hi > 0) canvas.line(x0, py(0), x0 + w - 1, py(0), colors.axis)
  for (const s of series) {
    let prev = null
    for (let i = 0; i < x.length; i++) {
      const v = s.y[i]
      if (!Number.isFinite(v)) {
        prev = null
        continue
      }
      const p = [px(x[i]), py(v)]
      if (prev) canvas.line(prev[0], prev[1], p[0], p[1], s.color)
      else canvas.set(p[0], p[1], s.color)
      prev = p
    }
  }
  canvas.frame(x0 - 1, y0 - 1, w + 2, h + 2)
}
