/*
 * Text helpers of the operator commands: aligned tables and UTC times.
 */

export type Align = "left" | "right"

/**
 * Columns separated by two spaces, each as wide as its widest cell; numbers right-aligned when
 * asked. Trailing blanks are trimmed, so rows compare exactly in tests and diffs.
 */
export const renderTable = (
  header: ReadonlyArray<string>,
  rows: ReadonlyArray<ReadonlyArray<string>>,
  align: ReadonlyArray<Align> = []
): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells
      .map((c, i) => (align[i] === "right" ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd()
  return [line(header), ...rows.map(line)].join("\n")
}

/** `2026-06-13T04:12:33Z`: ISO 8601 in UTC to the second, one token. */
export const utcSeconds = (d: Date | null): string => (d === null ? "-" : `${d.toISOString().slice(0, 19)}Z`)

export { utcMinutes } from "../time-format.ts"

/** `3d 4h`, `5h 12m`, `7m`, `<1m`: how long ago, roughly. */
export const age = (from: Date, now: Date): string => {
  const minutes = Math.floor((now.getTime() - from.getTime()) / 60_000)
  if (minutes < 1) return "<1m"
  const d = Math.floor(minutes / 1440)
  const h = Math.floor((minutes % 1440) / 60)
  const m = minutes % 60
  if (d > 0) return h > 0 ? `${d}d ${h}h` : `${d}d`
  if (h > 0) return m > 0 ? `${h}h ${m}m` : `${h}h`
  return `${m}m`
}

/** A database timestamp (a Date from the driver, or text from JSON) as a Date. */
export const toDate = (value: Date | string | null | undefined): Date | null =>
  value === null || value === undefined ? null : value instanceof Date ? value : new Date(value)
