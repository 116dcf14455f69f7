/* How times, durations and sizes read on the dashboard. */

const units: ReadonlyArray<readonly [number, string]> = [
  [60, "s"],
  [60, "min"],
  [24, "h"],
  [30, "d"],
  [12, "mo"],
  [Number.POSITIVE_INFINITY, "y"]
]

/** "3 min ago", "in 2 h", "just now". */
export const relativeTime = (iso: string, now: number): string => {
  const at = Date.parse(iso)
  if (Number.isNaN(at)) return iso
  const seconds = Math.round((now - at) / 1000)
  if (Math.abs(seconds) < 10) return "just now"
  let value = Math.abs(seconds)
  for (const [size, unit] of units) {
    if (value < size) {
      const amount = Math.floor(value)
      return seconds > 0 ? `${amount} ${unit} ago` : `in ${amount} ${unit}`
    }
    value /= size
  }
  return iso
}

/** "45 s", "3 min 20 s", "2 h 5 min", "3 d 4 h". */
export const duration = (seconds: number): string => {
  if (!Number.isFinite(seconds)) return "–"
  if (seconds < 60) return `${seconds < 1 ? seconds.toFixed(2) : seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes} min ${Math.round(seconds - minutes * 60)} s`
  const hours = Math.floor(minutes / 60)
  if (hours < 24) return `${hours} h ${minutes - hours * 60} min`
  const days = Math.floor(hours / 24)
  return `${days} d ${hours - days * 24} h`
}

export const runSeconds = (createdAt: string, finishedAt: string | null): number | null =>
  finishedAt === null ? null : (Date.parse(finishedAt) - Date.parse(createdAt)) / 1000

export const bytes = (n: number): string => {
  if (n < 1024) return `${n} B`
  const names = ["KiB", "MiB", "GiB", "TiB", "PiB"]
  let value = n / 1024
  let index = 0
  while (value >= 1024 && index < names.length - 1) {
    value /= 1024
    index += 1
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${names[index]}`
}

const compactNumber = new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 1 })

/** 12, 1.2K, 100K: a count that fits in a step's box. */
export const count = (n: number): string => (n < 1000 ? String(n) : compactNumber.format(n))

const settingText = (value: unknown): string =>
  typeof value === "string" ? value : typeof value === "object" && value !== null ? JSON.stringify(value) : String(value)

/** A short, one-line summary of a run's config: its first few settings. */
export const configSummary = (config: unknown, max = 3): string => {
  if (config === null || config === undefined) return ""
  if (typeof config !== "object") return settingText(config)
  const entries = Object.entries(config as Record<string, unknown>)
  const shown = entries.slice(0, max).map(([key, value]) => `${key}=${settingText(value)}`)
  return shown.join(" ") + (entries.length > max ? ` +${entries.length - max}` : "")
}

export const basename = (path: string): string => path.slice(path.lastIndexOf("/") + 1)
