// bench/api's command line: the sizes, how many requests, where the numbers go, which database.

import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { argValue, parseCount, UsageError } from "../command-line.ts"

export const DEFAULT_RUNS = 1_000_000
export const DEFAULT_PRODUCTS_PER_RUN = 10
/** `--small`: a size that seeds in a second, to see that every endpoint answers. */
const SMALL_RUNS = 2_000
const SMALL_PRODUCTS_PER_RUN = 6
const DEFAULT_REQUESTS = 50
const DEFAULT_WARMUP = 5

export interface Options {
  readonly runs: number
  readonly productsPerRun: number
  /** Timed requests per endpoint, after `warmup` untimed ones. */
  readonly requests: number
  readonly warmup: number
  /** Where the JSON of the results goes. */
  readonly out: string
  /** The bench database (created when missing). */
  readonly databaseUrl: string
  /** A database of the same server to create and drop the bench database from. */
  readonly adminUrl: string
}

/** `--flag`'s count (`1000000`, `1M`, `100k`, `1_000_000`), or `fallback` when it is not given. */
const countOption = (flag: string, fallback: number, min: number): number => {
  const text = argValue(flag)
  if (text === undefined) return fallback
  return parseCount(text, {
    min,
    notACount: (given) => `bench/api: ${flag} takes a count (e.g. 1000000, 100k or 1M), got ${JSON.stringify(given)}`,
    tooSmall: (given) => `bench/api: ${flag} must be at least ${min}, got ${given}`
  })
}

/** bench/: bundled (bench/bundled.mjs), this module runs from a temporary file, so the bundler says where bench/ is. */
const benchFolder = (): string => process.env.CCAT_BENCH_DIR ?? dirname(dirname(fileURLToPath(import.meta.url)))

const serverUrl = process.env.CCAT_BENCH_POSTGRES_URL ?? process.env.CCAT_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"

const withDatabase = (url: string, name: string): string => {
  const u = new URL(url)
  u.pathname = `/${name}`
  return u.toString()
}

export const parseOptions = (): Options => {
  const small = process.argv.includes("--small")
  const runs = countOption("--runs", small ? SMALL_RUNS : DEFAULT_RUNS, 400)
  const productsPerRun = countOption("--products-per-run", small ? SMALL_PRODUCTS_PER_RUN : DEFAULT_PRODUCTS_PER_RUN, 3)
  if (productsPerRun > 1000) throw new UsageError(`bench/api: --products-per-run must be at most 1000, got ${productsPerRun}`)
  const requests = countOption("--requests", DEFAULT_REQUESTS, 1)
  const warmup = countOption("--warmup", DEFAULT_WARMUP, 0)
  const databaseUrl = process.env.CCAT_BENCH_DATABASE_URL ?? withDatabase(serverUrl, "ccat_bench_api")
  const name = new URL(databaseUrl).pathname.slice(1)
  if (!/^[a-z_][a-z0-9_]*$/.test(name))
    throw new UsageError(`bench/api: the bench database's name must be a plain lower-case identifier, got ${JSON.stringify(name)}`)
  return {
    runs,
    productsPerRun,
    requests,
    warmup,
    out: argValue("--out") ?? join(benchFolder(), "out", "api.json"),
    databaseUrl,
    adminUrl: withDatabase(databaseUrl, "postgres")
  }
}
