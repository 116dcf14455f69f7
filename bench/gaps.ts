/*
 * Trigger pass benchmark (the gap evaluation of src/runtime/gaps/). For each archive size it
 * creates a fresh database on the real PostgreSQL server, migrates it, seeds N synthetic raw
 * packages with set-based SQL (two CHAI packages, LFA and HFA, per scan), applies a 3-step
 * standing pipeline (calibrate and baseline per scan, map per source and line) and times
 * `evaluatePass()`:
 *
 *   - first pass: the one that creates a run for every scan (once);
 *   - full pass: a pass with nothing new to do, after every run has completed with one SCIENCE
 *     product (the collect loop simulated in SQL) and passes have settled; 5 runs, median;
 *   - incremental pass: 1k new packages (500 scans) arrive in a settled archive, and the next
 *     pass creates their runs; 5 times with fresh packages, median;
 *   - plan preview: then, 5 more times, 1k new packages and `ccat plan`'s preview from the
 *     trigger loop's memory (rolled back), before the loop's pass; median;
 *   - peak memory of the process (sampled RSS and heap, and the OS's maxRSS), to show that
 *     memory does not grow with the archive.
 *
 *   npm run bench:gaps                             # bundles it like dist/ccat.mjs, then runs it
 *   npm run bench:gaps -- --sizes 10k,100k         # or CCAT_BENCH_SIZES=10000,100000
 *   npx tsx bench/gaps.ts --sizes 10k              # the same under tsx
 *
 * Each size runs in its own child process (so maxRSS is per size) against its own database
 * `ccat_bench_<random>`, dropped at the end even when the run fails or is interrupted (unless
 * `--keep`). `--resume <database>` times a database kept that way again, without seeding it or
 * its first pass: it is migrated, settled, then timed (a few minutes at 1M instead of about 15).
 * `--explain-ms <ms>` loads auto_explain in the bench database: the plans (with
 * ANALYZE) of statements slower than that go to the server log. The server is
 * CCAT_BENCH_POSTGRES_URL, else CCAT_TEST_POSTGRES_URL, else postgres://postgres@127.0.0.1:5432/postgres.
 *
 * Goals (issue): 1M packages, full pass < 5 s, incremental pass < 300 ms, memory flat in the
 * archive size. Nothing is asserted; the numbers are printed for people to compare.
 */
import { PgClient } from "@effect/sql-pg"
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Redacted } from "effect"
import { fork } from "node:child_process"
import { fileURLToPath } from "node:url"
import { optionsOrExit } from "./command-line.ts"
import { benchDatabase, withAdmin } from "./gaps/database.ts"
import { measureSize, RUNS, type SizeResult } from "./gaps/measure.ts"
import { adminUrl, parseOptions, type Options } from "./gaps/options.ts"
import { memory } from "./gaps/memory.ts"
import { fmt, log, median, mib, ms, runLabel, sizeLabel } from "./gaps/report.ts"

const GOAL_FULL_MS = 5_000
const GOAL_INCREMENTAL_MS = 300

const CHILD_ENV = "CCAT_BENCH_GAPS_CHILD"
const OPTIONS_ENV = "CCAT_BENCH_GAPS_OPTIONS"

// Captured before anything runs: bench/bundled.mjs sets CCAT_BENCH before importing the bundle.
const runMain = process.argv[1]?.endsWith("gaps.ts") === true || process.env.CCAT_BENCH === "1"

const runSize = (size: number, options: Options): Effect.Effect<SizeResult, unknown> =>
  Effect.scoped(
    Effect.gen(function* () {
      const label = runLabel(size, options)
      const startRss = process.memoryUsage().rss
      const sampler = setInterval(() => memory.sample(), 20)
      sampler.unref()
      yield* Effect.addFinalizer(() => Effect.sync(() => clearInterval(sampler)))
      const db = yield* benchDatabase(label, options)
      const stepNames = { current: [] as ReadonlyArray<string> }
      const measured = yield* measureSize(size, label, stepNames, options.resume !== null).pipe(
        Effect.provide(PgClient.layer({ url: Redacted.make(db.url), maxConnections: 4, applicationName: "ccat-bench-gaps" }))
      )
      memory.sample()
      const result: SizeResult = {
        size,
        label: options.resume === null ? label : sizeLabel(measured.packages),
        ...measured,
        startRss,
        peakRss: memory.peakRss,
        peakHeap: memory.peakHeap,
        maxRss: process.resourceUsage().maxRSS * 1024
      }
      log(
        label,
        `memory: rss at start ${mib(startRss)}, peak rss ${mib(result.peakRss)} (sampled), maxRSS ${mib(result.maxRss)}, peak heap ${mib(result.peakHeap)}; database ${mib(result.databaseBytes)}, ${fmt(result.runs)} runs`
      )
      return result
    })
  )

const childMain = (size: number, options: Options): void => {
  // The IPC channel must not keep this process alive once the run is over.
  process.channel?.unref()
  const program = runSize(size, options).pipe(
    Effect.flatMap((result) =>
      Effect.async<void>((resume) => {
        if (process.send === undefined) return resume(Effect.void)
        process.send(result, undefined, {}, () => resume(Effect.void))
      })
    )
  )
  NodeRuntime.runMain(program)
}

// ---------------------------------------------------------------------------------------------
// The parent: one child process per size, then the table.
// ---------------------------------------------------------------------------------------------

const runChild = (size: number, options: Options): Promise<SizeResult | null> =>
  new Promise((resolve) => {
    const child = fork(fileURLToPath(import.meta.url), [], {
      env: { ...process.env, CCAT_BENCH: "1", [CHILD_ENV]: String(size), [OPTIONS_ENV]: JSON.stringify(options) }
    })
    let result: SizeResult | null = null
    child.on("message", (message) => {
      result = message as SizeResult
    })
    child.on("exit", (code, signal) => {
      if (code !== 0) console.error(`bench/gaps: the ${runLabel(size, options)} run ended with ${signal ?? `exit code ${code}`}`)
      resolve(result)
    })
  })

const printTable = (results: ReadonlyArray<{ size: number; result: SizeResult | null; interrupted: boolean }>, options: Options): void => {
  const header = [
    "size",
    "seed",
    "first pass",
    "full pass median",
    "full/5 s",
    "incremental median",
    "incr/300 ms",
    "plan (memory)",
    "peak RSS",
    "maxRSS",
    "peak heap"
  ]
  const body = results.map(({ size, result: r, interrupted }) => {
    if (r === null) return [runLabel(size, options), interrupted ? "interrupted" : "failed", "", "", "", "", "", "", "", "", ""]
    const full = median(r.fullPassMs)
    const inc = median(r.incrementalMs)
    return [
      r.label,
      r.seedMs === null ? "—" : ms(r.seedMs),
      r.firstPassMs === null ? "—" : ms(r.firstPassMs),
      `${ms(full)} (${ms(Math.min(...r.fullPassMs))}–${ms(Math.max(...r.fullPassMs))})`,
      `${fmt(full / GOAL_FULL_MS, 2)}x`,
      `${ms(inc)} (${ms(Math.min(...r.incrementalMs))}–${ms(Math.max(...r.incrementalMs))})`,
      `${fmt(inc / GOAL_INCREMENTAL_MS, 2)}x`,
      ms(median(r.previewMs)),
      mib(r.peakRss),
      mib(r.maxRss),
      mib(r.peakHeap)
    ]
  })
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)))
  const line = (cells: ReadonlyArray<string>): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")
  console.log(line(header))
  console.log(widths.map((w) => "-".repeat(w)).join("  "))
  for (const row of body) console.log(line(row))
}

const parentMain = async (options: Options): Promise<void> => {
  const versions = await Effect.runPromise(
    withAdmin((sql) => sql<{ v: string }>`SELECT current_setting('server_version') AS v`).pipe(Effect.map((rows) => rows[0]?.v ?? "?"))
  )
  if (options.resume !== null) {
    const kept = await Effect.runPromise(
      withAdmin(
        (sql) => sql<{ name: string }>`SELECT datname AS name FROM pg_database WHERE datname LIKE 'ccat\_bench\_%' ORDER BY datname`
      )
    )
    if (!kept.some((d) => d.name === options.resume)) {
      const list = kept.length === 0 ? "there is none (keep one with --keep)" : `kept ones: ${kept.map((d) => d.name).join(", ")}`
      console.error(`bench/gaps: --resume ${options.resume}: no such database on ${new URL(adminUrl).host}; ${list}`)
      process.exitCode = 2
      return
    }
  }
  const what = options.resume === null ? `sizes ${options.sizes.map(sizeLabel).join(", ")} packages` : `kept database ${options.resume}`
  console.log(`bench/gaps: ${what}; ${RUNS} timed passes each; PostgreSQL ${versions}; node ${process.version}`)
  let interrupted = false
  // Ctrl-C reaches the child too, which drops its database; wait for it instead of exiting.
  process.on("SIGINT", () => {
    interrupted = true
  })
  const results: Array<{ size: number; result: SizeResult | null; interrupted: boolean }> = []
  for (const size of options.sizes) {
    if (interrupted) break
    const result = await runChild(size, options)
    results.push({ size, result, interrupted })
  }
  console.log()
  console.log(
    `Trigger pass over the 3-step standing pipeline (calibrate, baseline per scan; map per source and line); ${RUNS} runs per measure; node ${process.version}`
  )
  console.log(
    `Goals (1M packages): full pass < ${ms(GOAL_FULL_MS)}, incremental pass (+1k packages) < ${GOAL_INCREMENTAL_MS} ms, memory flat in the archive size. Ratios are median / goal.`
  )
  printTable(results, options)
  if (results.some((r) => r.result === null)) process.exitCode = 1
}

if (runMain) {
  const childSize = process.env[CHILD_ENV]
  if (childSize !== undefined) {
    childMain(Number(childSize), JSON.parse(process.env[OPTIONS_ENV] ?? "{}") as Options)
  } else {
    parentMain(optionsOrExit(parseOptions)).catch((error: unknown) => {
      console.error(error)
      process.exit(1)
    })
  }
}
