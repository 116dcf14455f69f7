// The bench's command line: sizes, --keep, --resume, --explain-ms, and the server to use.

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

const argValue = (flag: string): string | undefined => {
  const argv = process.argv
  for (let i = 2; i < argv.length; i++) {
    if (argv[i] === flag) return argv[i + 1]
    if (argv[i]!.startsWith(`${flag}=`)) return argv[i]!.slice(flag.length + 1)
  }
  return undefined
}

/** A bad option: its message is all a person needs, so it is printed without a stack (exit 2). */
export class UsageError extends Error {}

/** `10000`, `10k`, `1M`, `1_000_000`: a package count, rounded up to an even number (2 per scan). */
const parseCount = (text: string): number => {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text.trim().replace(/_/g, ""))
  if (m === null) throw new UsageError(`bench/gaps: not a package count: ${JSON.stringify(text)} (use e.g. 10000, 100k or 1M)`)
  const unit = m[2]!.toLowerCase()
  const n = Math.round(Number(m[1]) * (unit === "k" ? 1_000 : unit === "m" ? 1_000_000 : 1))
  if (n < 2) throw new UsageError(`bench/gaps: a size needs at least 2 packages, got ${text}`)
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
          .map(parseCount)
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
