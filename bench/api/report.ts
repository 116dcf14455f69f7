import { mkdirSync, writeFileSync } from "node:fs"
import { cpus } from "node:os"
import { dirname } from "node:path"
import { GOAL_P95_MS, type Timed } from "./timing.ts"

// ---------------------------------------------------------------------------------------------
// The table on stdout and the same numbers as JSON (bench/out/api.json unless --out).
// ---------------------------------------------------------------------------------------------

export interface PreviewResult {
  readonly name: string
  readonly example: string
  /** The one request timed first; null when it did not answer within the time allowed. */
  readonly onceMs: number | null
  /** Timed like the list endpoints when the one request was quick. */
  readonly timed: Timed | null
  readonly problem: string | null
}

export interface Results {
  readonly runs: number
  readonly products: number
  readonly productsPerRun: number
  readonly database: string
  readonly reused: boolean
  readonly seedSeconds: number
  readonly postgres: string
  readonly lists: ReadonlyArray<Timed>
  readonly previews: ReadonlyArray<PreviewResult>
}

const ms = (n: number): string => (Number.isNaN(n) ? "-" : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0))

const row = (cells: ReadonlyArray<string>, widths: ReadonlyArray<number>): string =>
  cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")

export const goalMet = (t: Timed): boolean => t.problem === null && t.p95 < GOAL_P95_MS

/** The table of timed endpoints, a line per endpoint. */
export const renderTable = (timed: ReadonlyArray<Timed>): string => {
  const header = ["endpoint", "p50 ms", "p95 ms", "max ms", "n", `p95 < ${GOAL_P95_MS} ms`]
  const rows = timed.map((t) => [
    t.name,
    ms(t.p50),
    ms(t.p95),
    ms(t.max),
    String(t.n),
    t.problem !== null ? "wrong answer" : !t.list ? (goalMet(t) ? "yes (not a list)" : "no (not a list)") : goalMet(t) ? "yes" : "NO"
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  return [row(header, widths), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map((r) => row(r, widths))].join("\n")
}

export const renderPreviews = (previews: ReadonlyArray<PreviewResult>, limitSeconds: number): string =>
  previews
    .map((p) => {
      if (p.timed !== null)
        return `${p.name}: first ${ms(p.onceMs ?? Number.NaN)} ms, then p50 ${ms(p.timed.p50)} ms, p95 ${ms(p.timed.p95)} ms over ${p.timed.n} requests`
      if (p.onceMs === null) return `${p.name}: no answer within ${limitSeconds} s`
      return `${p.name}: ${ms(p.onceMs)} ms (one request)`
    })
    .join("\n")

export const writeJson = (path: string, results: Results): void => {
  mkdirSync(dirname(path), { recursive: true })
  const json = {
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? "", node: process.version, postgres: results.postgres },
    goal: { p95Ms: GOAL_P95_MS },
    ...results,
    lists: results.lists.map((t) => ({ ...t, goalMet: goalMet(t) }))
  }
  writeFileSync(path, `${JSON.stringify(json, null, 2)}\n`)
}
