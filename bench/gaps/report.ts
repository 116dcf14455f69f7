import { performance } from "node:perf_hooks"

// Output helpers: number formats, medians, the progress log.

export const fmt = (n: number, digits = 0): string =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
export const ms = (n: number): string => (n >= 10_000 ? `${fmt(n / 1000, 1)} s` : n >= 100 ? `${fmt(n)} ms` : `${fmt(n, 1)} ms`)
export const mib = (bytes: number): string => `${fmt(bytes / 1024 / 1024)} MiB`
/** What a run is called in the log and the table: its size, or `kept` for a resumed database. */
export const runLabel = (size: number, options: { readonly resume: string | null }): string =>
  options.resume === null ? sizeLabel(size) : "kept"
export const sizeLabel = (n: number): string =>
  n >= 1_000_000 && n % 1_000_000 === 0 ? `${n / 1_000_000}M` : n >= 1_000 && n % 1_000 === 0 ? `${n / 1_000}k` : String(n)

export const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** Index of the run whose time is the (lower) median, for its statement breakdown. */
export const medianIndex = (xs: ReadonlyArray<number>): number => {
  const order = xs.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0])
  return order[Math.floor((order.length - 1) / 2)]![1]
}

const benchStart = performance.now()
export const log = (label: string, text: string): void => {
  const t = (performance.now() - benchStart) / 1000
  console.log(`[${label} ${fmt(t, 1).padStart(6)}s] ${text}`)
}
