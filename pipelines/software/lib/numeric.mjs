/*
 * Small numerical helpers: order statistics, robust scatter, least-squares polynomial fits.
 * Everything is plain double arithmetic in a fixed order, so results are reproducible bit for bit.
 */

/** Median of the finite values; NaN when there are none. */
export const median = (values) => {
  const v = []
  for (const x of values) if (Number.isFinite(x)) v.push(x)
  if (v.length === 0) return NaN
  v.sort((a, b) => a - b)
  const h = v.length >> 1
  return v.length % 2 === 1 ? v[h] : (v[h - 1] + v[h]) / 2
}

export const mean = (values) => {
  let s = 0
  let n = 0
  for (const x of values) {
    if (!Number.isFinite(x)) continue
    s += x
    n++
  }
  return n === 0 ? NaN : s / n
}

/** Root mean square about the mean, of the finite values. */
export const rms = (values) => {
  const m = mean(values)
  if (!Number.isFinite(m)) return NaN
  let s = 0
  let n = 0
  for (const x of values) {
    if (!Number.isFinite(x)) continue
    s += (x - m) * (x - m)
    n++
  }
  return Math.sqrt(s / n)
}

/** 1.4826 × median absolute deviation: the standard deviation for Gaussian noise, robust to outliers. */
export const robustSigma = (values) => {
  const m = median(values)
  if (!Number.isFinite(m)) return NaN
  return 1.4826 * median(Array.from(values, (x) => Math.abs(x - m)))
}

/** Noise from channel-to-channel differences: insensitive to smooth baselines and broad lines. */
export const differenceNoise = (values) => {
  const d = []
  for (let i = 1; i < values.length; i++)
    if (Number.isFinite(values[i]) && Number.isFinite(values[i - 1])) d.push(values[i] - values[i - 1])
  return robustSigma(d) / Math.SQRT2
}

/** Legendre polynomials P_0..P_order at x in [-1, 1]. */
const legendre = (x, order, out) => {
  out[0] = 1
  if (order >= 1) out[1] = x
  for (let n = 2; n <= order; n++) out[n] = ((2 * n - 1) * x * out[n - 1] - (n - 1) * out[n - 2]) / n
  return out
}

/**
 * Least-squares polynomial of `order` through (i, y[i]) for the channels with use[i], channel
 * index mapped to [-1, 1] and a Legendre basis (well conditioned). Returns the fitted curve at
 * every channel, or null when fewer than order + 1 channels are usable.
 */
export const polyfit = (y, use, order) => {
  const n = y.length
  const k = order + 1
  const ata = new Float64Array(k * k)
  const atb = new Float64Array(k)
  const p = new Float64Array(k)
  let used = 0
  const xOf = (i) => (n === 1 ? 0 : (2 * i) / (n - 1) - 1)
  for (let i = 0; i < n; i++) {
    if (!use[i] || !Number.isFinite(y[i])) continue
    used++
    legendre(xOf(i), order, p)
    for (let a = 0; a < k; a++) {
      atb[a] += p[a] * y[i]
      for (let b = 0; b < k; b++) ata[a * k + b] += p[a] * p[b]
    }
  }
  if (used < k) return null
  const c = solve(ata, atb, k)
  if (c === null) return null
  const fit = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    legendre(xOf(i), order, p)
    let s = 0
    for (let a = 0; a < k; a++) s += c[a] * p[a]
    fit[i] = s
  }
  return fit
}

/** Gaussian elimination with partial pivoting; null when singular. */
const solve = (matrix, rhs, k) => {
  const a = Float64Array.from(matrix)
  const b = Float64Array.from(rhs)
  for (let col = 0; col < k; col++) {
    let pivot = col
    for (let r = col + 1; r < k; r++) if (Math.abs(a[r * k + col]) > Math.abs(a[pivot * k + col])) pivot = r
    if (Math.abs(a[pivot * k + col]) < 1e-12) return null
    if (pivot !== col) {
      for (let j = 0; j < k; j++) [a[col * k + j], a[pivot * k + j]] = [a[pivot * k + j], a[col * k + j]]
      ;[b[col], b[pivot]] = [b[pivot], b[col]]
    }
    for (let r = col + 1; r < k; r++) {
      const f = a[r * k + col] / a[col * k + col]
      if (f === 0) continue
      for (let j = col; j < k; j++) a[r * k + j] -= f * a[col * k + j]
      b[r] -= f * b[col]
    }
  }
  const x = new Float64Array(k)
  for (let r = k - 1; r >= 0; r--) {
    let s = b[r]
    for (let j = r + 1; j < k; j++) s -= a[r * k + j] * x[j]
    x[r] = s / a[r * k + r]
  }
  return x
}

/** Bessel function of the first kind, order 1 (Numerical Recipes' rational approximations, ~1e-8). */
export const besselJ1 = (x) => {
  const ax = Math.abs(x)
  if (ax < 8) {
    const y = x * x
    const n1 = x * (72362614232.0 + y * (-7895059235.0 + y * (242396853.1 + y * (-2972611.439 + y * (15704.4826 + y * -30.16036606)))))
    const d1 = 144725228442.0 + y * (2300535178.0 + y * (18583304.74 + y * (99447.43394 + y * (376.9991397 + y))))
    return n1 / d1
  }
  const z = 8 / ax
  const y = z * z
  const xx = ax - 2.356194491
  const p = 1 + y * (0.183105e-2 + y * (-0.3516396496e-4 + y * (0.2457520174e-5 + y * -0.240337019e-6)))
  const q = 0.04687499995 + y * (-0.2002690873e-3 + y * (0.8449199096e-5 + y * (-0.88228987e-6 + y * 0.105787412e-6)))
  const r = Math.sqrt(0.636619772 / ax) * (Math.cos(xx) * p - z * Math.sin(xx) * q)
  return x < 0 ? -r : r
}
