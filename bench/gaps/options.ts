// The bench's command line: sizes, --keep, --resume, --explain-ms, and the server to use.

import { argValue, parseCount, UsageError } from "../command-line.ts"

export const DEFAULT_SIZES: ReadonlyArray<number> = [10_000, 100_000, 1_000_000]

export const adminUrl =
  process.env.CCAT_BENCH_POSTGRES_URL ?? process.env.CCAT_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"

export interface Options {
  readonly sizes: ReadonlyArray<number>
  readonly explainMs: number | null
  readonly keep: boolean
  /** A database kept with `--keep` to time again, instead of a fresh one per size. */
  readonly resume: string | null
}

/** A package count, rounded up to an even number (2 per scan). */
const packageCount = (text: string): number => {
  const n = parseCount(text, {
    min: 2,
    notACount: (given) => `bench/gaps: not a package count: ${JSON.stringify(given)} (use e.g. 10000, 100k or 1M)`,
    tooSmall: (given) => `bench/gaps: a size needs at least 2 packages, got ${given}`
  })
  return n + (n % 2)
}

export const parseOptions = (): Options => {
  const sizesText = argValue("--sizes") ?? process.env.CCAT_BENCH_SIZES
  const sizes =
    sizesText === undefined || sizesText.trim() === ""
      ? DEFAULT_SIZES
      : sizesText
          .split(",")
          .filter((s) => s.trim() !== "")
          .map(packageCount)
  const explain = argValue("--explain-ms")
  const resume = argValue("--resume") ?? null
  if (resume !== null && !/^ccat_bench_[0-9a-f]+$/.test(resume)) {
    throw new UsageError(`bench/gaps: --resume takes a database kept by --keep (ccat_bench_<hex>), got ${JSON.stringify(resume)}`)
  }
  // A resumed database has the size it was seeded with; one child times it.
  return {
    sizes: resume === null ? sizes : [0],
    explainMs: explain === undefined ? null : Number(explain),
    keep: process.argv.includes("--keep"),
    resume
  }
}
