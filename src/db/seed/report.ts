import type { SeedReport } from "./seed.ts"

const megabytes = (bytes: number): string => `${(bytes / 1_000_000).toFixed(1)} MB`

const countLines = (report: SeedReport): Array<string> => {
  const width = Math.max(...report.counts.map((c) => c.table.length))
  return report.counts.map((c) => `  ${c.table.padEnd(width)}  ${String(c.rows).padStart(6)}`)
}

/** The summary `ccat db seed --demo` prints: what happened, where the files are, rows per table. */
export const formatSeedReport = (report: SeedReport, elapsedMs: number): string => {
  const nights =
    report.nights.length === 1
      ? report.nights[0]!
      : `${report.nights.length} nights, ${report.nights[0]} to ${report.nights[report.nights.length - 1]}`
  const head =
    report.outcome === "already-seeded"
      ? ["the demo dataset is already seeded: nothing changed", `archive: ${report.archiveDir}`]
      : [
          report.outcome === "seeded"
            ? `seeded the demo observatory: ${report.scansAdded} scans over ${nights}`
            : `added the night of ${nights}: ${report.scansAdded} CHAI scans`,
          `archive: ${report.archiveDir} (${report.filesWritten} files, ${megabytes(report.bytesWritten)} written)`
        ]
  return [...head, "rows per table:", ...countLines(report), `done in ${(elapsedMs / 1000).toFixed(1)} s`].join("\n")
}
