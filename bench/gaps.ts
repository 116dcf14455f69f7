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
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { NodeRuntime } from "@effect/platform-node"
import { Duration, Effect, Redacted, Tracer } from "effect"
import { fork } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { compileSources } from "../src/compiler/compile.ts"
import { migrate } from "../src/db/migrate.ts"
import { applyWorkspace } from "../src/definitions/apply.ts"
import { evaluatePass, passSummaryLine, type PassOptions, type PassSummary } from "../src/runtime/gaps/evaluate-pass.ts"
import { previewPass } from "../src/runtime/gaps/preview.ts"

const RUNS = 5
const INCREMENT_SCANS = 500 // two packages each: 1k new packages per incremental pass
const DEFAULT_SIZES: ReadonlyArray<number> = [10_000, 100_000, 1_000_000]
const GOAL_FULL_MS = 5_000
const GOAL_INCREMENTAL_MS = 300
const SCANS_PER_NIGHT = 40
const SCANS_PER_OBS_UNIT_BLOCK = 10
const MAX_SETTLE_PASSES = 10

const CHILD_ENV = "CCAT_BENCH_GAPS_CHILD"
const OPTIONS_ENV = "CCAT_BENCH_GAPS_OPTIONS"

const adminUrl = process.env.CCAT_BENCH_POSTGRES_URL ?? process.env.CCAT_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"

// Captured before anything runs: bench/bundled.mjs sets CCAT_BENCH before importing the bundle.
const runMain = process.argv[1]?.endsWith("gaps.ts") === true || process.env.CCAT_BENCH === "1"

// ---------------------------------------------------------------------------------------------
// Options.
// ---------------------------------------------------------------------------------------------

interface Options {
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

/** `10000`, `10k`, `1M`, `1_000_000`: a package count, rounded up to an even number (2 per scan). */
/** A bad option: its message is all a person needs, so it is printed without a stack (exit 2). */
class UsageError extends Error {}

const parseCount = (text: string): number => {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text.trim().replace(/_/g, ""))
  if (m === null) throw new UsageError(`bench/gaps: not a package count: ${JSON.stringify(text)} (use e.g. 10000, 100k or 1M)`)
  const unit = m[2]!.toLowerCase()
  const n = Math.round(Number(m[1]) * (unit === "k" ? 1_000 : unit === "m" ? 1_000_000 : 1))
  if (n < 2) throw new UsageError(`bench/gaps: a size needs at least 2 packages, got ${text}`)
  return n + (n % 2)
}

const parseOptions = (): Options => {
  const sizesText = argValue("--sizes") ?? process.env.CCAT_BENCH_SIZES
  const sizes = sizesText === undefined || sizesText.trim() === "" ? DEFAULT_SIZES : sizesText.split(",").filter((s) => s.trim() !== "").map(parseCount)
  const explain = argValue("--explain-ms")
  const resume = argValue("--resume") ?? null
  if (resume !== null && !/^ccat_bench_[0-9a-f]+$/.test(resume)) {
    throw new UsageError(`bench/gaps: --resume takes a database kept by --keep (ccat_bench_<hex>), got ${JSON.stringify(resume)}`)
  }
  // A resumed database has the size it was seeded with; one child times it.
  return { sizes: resume === null ? sizes : [0], explainMs: explain === undefined ? null : Number(explain), keep: process.argv.includes("--keep"), resume }
}

// ---------------------------------------------------------------------------------------------
// Output helpers.
// ---------------------------------------------------------------------------------------------

const fmt = (n: number, digits = 0): string => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
const ms = (n: number): string => (n >= 10_000 ? `${fmt(n / 1000, 1)} s` : n >= 100 ? `${fmt(n)} ms` : `${fmt(n, 1)} ms`)
const mib = (bytes: number): string => `${fmt(bytes / 1024 / 1024)} MiB`
/** What a run is called in the log and the table: its size, or `kept` for a resumed database. */
const runLabel = (size: number, options: { readonly resume: string | null }): string => (options.resume === null ? sizeLabel(size) : "kept")
const sizeLabel = (n: number): string => (n >= 1_000_000 && n % 1_000_000 === 0 ? `${n / 1_000_000}M` : n >= 1_000 && n % 1_000 === 0 ? `${n / 1_000}k` : String(n))

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** Index of the run whose time is the (lower) median, for its statement breakdown. */
const medianIndex = (xs: ReadonlyArray<number>): number => {
  const order = xs.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0])
  return order[Math.floor((order.length - 1) / 2)]![1]
}

const benchStart = performance.now()
const log = (label: string, text: string): void => {
  const t = (performance.now() - benchStart) / 1000
  console.log(`[${label} ${fmt(t, 1).padStart(6)}s] ${text}`)
}

// ---------------------------------------------------------------------------------------------
// Memory: RSS and heap sampled every 20 ms (the event loop is idle while PostgreSQL works), with
// a peak per phase and one for the whole size.
// ---------------------------------------------------------------------------------------------

const memory = {
  peakRss: 0,
  peakHeap: 0,
  phaseRss: 0,
  sample(): void {
    const m = process.memoryUsage()
    if (m.rss > this.peakRss) this.peakRss = m.rss
    if (m.heapUsed > this.peakHeap) this.peakHeap = m.heapUsed
    if (m.rss > this.phaseRss) this.phaseRss = m.rss
  },
  startPhase(): void {
    this.phaseRss = 0
    this.sample()
  },
  endPhase(): number {
    this.sample()
    return this.phaseRss
  }
}

// ---------------------------------------------------------------------------------------------
// Statement profile: every statement @effect/sql runs is a `sql.execute` span; a tracer wrapping
// the current one records each statement's text and duration, so a pass can be split by step
// and statement without touching src/.
// ---------------------------------------------------------------------------------------------

interface StatementTiming {
  readonly text: string
  readonly ms: number
}

const profiled = <A, E, R>(effect: Effect.Effect<A, E, R>, into: Array<StatementTiming>): Effect.Effect<A, E, R> =>
  Effect.tracerWith((base) =>
    Effect.withTracer(
      effect,
      Tracer.make({
        span: (name, parent, context, links, startTime, kind, options) => {
          const span = base.span(name, parent, context, links, startTime, kind, options)
          if (name !== "sql.execute") return span
          const end = span.end.bind(span)
          span.end = (endTime, exit) => {
            into.push({ text: String(span.attributes.get("db.query.text") ?? ""), ms: Number(endTime - startTime) / 1e6 })
            end(endTime, exit)
          }
          return span
        },
        context: (f, fiber) => base.context(f, fiber)
      })
    )
  )

const statementLabel = (text: string): string => {
  const temp = /CREATE TEMP TABLE (\w+)/.exec(text)
  if (temp !== null) return temp[1]!.replace(/^ccat_/, "")
  const insertTemp = /INSERT INTO (ccat_\w+)/.exec(text)
  if (insertTemp !== null) return `${insertTemp[1]!.replace(/^ccat_/, "")} (insert)`
  if (/DROP TABLE IF EXISTS pg_temp\./.test(text)) return "prepare"
  if (/SELECT reason, count\(\*\)/.test(text)) return "counts"
  if (/INSERT INTO executed_reduction_step/.test(text)) return "insert runs"
  return text.replace(/\s+/g, " ").trim().slice(0, 40)
}

/**
 * `calibrate 812 ms (step_input 310, decision 420, insert runs 60)`, one line per step, from the
 * statements of one pass. A step starts at its DROP of the temporary tables; statements before
 * the first step read the applied definitions. Time outside statements (BEGIN/COMMIT, the pool,
 * JavaScript) is reported as "outside SQL".
 */
const breakdown = (timings: ReadonlyArray<StatementTiming>, stepNames: ReadonlyArray<string>, wallMs: number): ReadonlyArray<string> => {
  const steps: Array<{ name: string; total: number; parts: Map<string, number> }> = [{ name: "definitions", total: 0, parts: new Map() }]
  for (const t of timings) {
    if (/DROP TABLE IF EXISTS pg_temp\.ccat_dirty/.test(t.text)) {
      steps.push({ name: stepNames[steps.length - 1] ?? `step ${steps.length}`, total: 0, parts: new Map() })
    }
    const step = steps[steps.length - 1]!
    const label = statementLabel(t.text)
    step.total += t.ms
    step.parts.set(label, (step.parts.get(label) ?? 0) + t.ms)
  }
  const inStatements = steps.reduce((n, s) => n + s.total, 0)
  const lines = steps.map((s, i) => {
    // The definitions' statements (applied IR, pipeline ids, open requests) are summed only.
    const parts = i === 0 ? [] : [...s.parts].filter(([, v]) => v >= Math.max(1, s.total * 0.03)).map(([k, v]) => `${k} ${ms(v)}`)
    return `${s.name.padEnd(12)} ${ms(s.total).padStart(9)}${parts.length > 0 ? `  (${parts.join(", ")})` : ""}`
  })
  lines.push(`${"outside SQL".padEnd(12)} ${ms(Math.max(0, wallMs - inStatements)).padStart(9)}  (BEGIN/COMMIT, pool, JavaScript)`)
  return lines
}

// ---------------------------------------------------------------------------------------------
// The database: a fresh one per size, created and dropped through an admin connection.
// ---------------------------------------------------------------------------------------------

const withAdmin = <A>(f: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return yield* f(sql)
  }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(adminUrl), maxConnections: 1, applicationName: "ccat-bench-gaps" })), Effect.scoped, Effect.orDie)

const databaseUrl = (name: string): string => {
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return url.toString()
}

/** Load auto_explain for the database's sessions (`--explain-ms`), or with `null` stop loading it. */
const configureExplain = (name: string, explainMs: number | null) =>
  withAdmin((sql) =>
    explainMs === null
      ? sql.unsafe(`ALTER DATABASE ${name} RESET ALL`)
      : Effect.all([
          sql.unsafe(`ALTER DATABASE ${name} SET session_preload_libraries = 'auto_explain'`),
          sql.unsafe(`ALTER DATABASE ${name} SET auto_explain.log_min_duration = '${Math.max(0, Math.round(explainMs))}ms'`),
          sql.unsafe(`ALTER DATABASE ${name} SET auto_explain.log_analyze = on`),
          sql.unsafe(`ALTER DATABASE ${name} SET auto_explain.log_buffers = on`)
        ])
  )

const benchDatabase = (label: string, options: Options) =>
  options.resume !== null
    ? Effect.gen(function* () {
        const name = options.resume!
        yield* configureExplain(name, options.explainMs)
        log(label, `resuming database ${name} (kept: drop it with DROP DATABASE ${name} WITH (FORCE))`)
        return { name, url: databaseUrl(name) }
      })
    : Effect.acquireRelease(
    Effect.gen(function* () {
      const name = `ccat_bench_${randomBytes(6).toString("hex")}`
      yield* withAdmin((sql) => sql.unsafe(`CREATE DATABASE ${name}`))
      if (options.explainMs !== null) yield* configureExplain(name, options.explainMs)
      log(label, `created database ${name}${options.explainMs !== null ? ` (auto_explain above ${options.explainMs} ms, plans in the server log)` : ""}`)
      return { name, url: databaseUrl(name) }
    }),
    ({ name }) =>
      options.keep
        ? Effect.sync(() => log(label, `kept database ${name} (--keep): drop it with DROP DATABASE ${name} WITH (FORCE)`))
        : withAdmin((sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).pipe(
            Effect.tap(() => Effect.sync(() => log(label, `dropped database ${name}`)))
          )
  )

// ---------------------------------------------------------------------------------------------
// Synthetic archive. One observatory, telescope and instrument (CHAI) with its two modules,
// 20 sources, an obs unit per source and line (80), scans spread over nights (40 a night,
// 10 consecutive scans per obs unit), and per scan one ARCHIVED package per module with a
// SHA-256 checksum. Ids are md5-based UUIDs of readable names, the same in SQL and JavaScript.
// ---------------------------------------------------------------------------------------------

const benchId = (name: string): string => createHash("md5").update(`ccat-bench/${name}`).digest("hex")

const sourceNames = [
  "NGC253", "IRC+10216", "Orion-KL", "W43", "Sgr B2", "rho Oph", "M82", "NGC1068", "W51", "DR21",
  "Cygnus X", "Orion Bar", "NGC6334", "G333", "Serpens South", "Carina", "M17", "W3(OH)", "Arp220", "30 Dor"
] as const
const lineIds = ["CO43", "CI10", "CO76", "CI21"] as const
const obsUnitCount = sourceNames.length * lineIds.length

const seedCatalog = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`INSERT INTO observatory ${sql.insert({ id: benchId("observatory"), name: "CCAT" })}`
  yield* sql`INSERT INTO telescope ${sql.insert({ id: benchId("telescope"), observatory_id: benchId("observatory"), name: "FYST" })}`
  yield* sql`INSERT INTO instrument ${sql.insert({ id: benchId("instrument/CHAI"), telescope_id: benchId("telescope"), name: "CHAI" })}`
  yield* sql`INSERT INTO instrument_module ${sql.insert([
    { id: benchId("module/LFA"), instrument_id: benchId("instrument/CHAI"), name: "LFA", min_frequency_ghz: 455, max_frequency_ghz: 495 },
    { id: benchId("module/HFA"), instrument_id: benchId("instrument/CHAI"), name: "HFA", min_frequency_ghz: 800, max_frequency_ghz: 820 }
  ])}`
  yield* sql`INSERT INTO observing_program ${sql.insert([
    { id: benchId("program/GEco"), short_name: "GEco", name: "Galactic Ecology" },
    { id: benchId("program/NGAL"), short_name: "NGAL", name: "Nearby Galaxies" }
  ])}`
  yield* sql`INSERT INTO source ${sql.insert(
    sourceNames.map((name, i) => ({ id: benchId(`source/${name}`), name, kind: "FIXED", ra_deg: (i * 17.3) % 360, dec_deg: -60 + ((i * 7.1) % 80) }))
  )}`
  yield* sql`INSERT INTO obs_unit ${sql.insert(
    sourceNames.flatMap((source, s) =>
      lineIds.map((line, l) => ({
        id: benchId(`obs-unit/${s * lineIds.length + l}`),
        name: `CHAI_${source.replace(/[^A-Za-z0-9+-]/g, "")}_${line}`,
        line_id: line,
        source_id: benchId(`source/${source}`),
        observing_program_id: benchId(s % 3 === 0 ? "program/NGAL" : "program/GEco")
      }))
    )
  )}`
})

/** Scans `from .. from+count-1` and their two packages each: two set-based statements. */
const seedScans = (from: number, count: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const last = from + count - 1
    const start = sql.literal(`(timestamptz '2026-05-01 22:00:00+00' + (i / ${SCANS_PER_NIGHT}) * interval '1 day' + (i % ${SCANS_PER_NIGHT}) * interval '10 minutes')`)
    const obsUnit = sql.literal(`md5('ccat-bench/obs-unit/' || ((i / ${SCANS_PER_OBS_UNIT_BLOCK}) % ${obsUnitCount}))::uuid`)
    yield* sql`
      INSERT INTO executed_obs_unit (id, obs_unit_id, start_time, end_time, status, metadata)
      SELECT md5('ccat-bench/scan/' || i)::uuid, ${obsUnit}, ${start}, ${start} + interval '8 minutes',
        CASE WHEN i % 53 = 52 THEN 'INTERRUPTED' ELSE 'SUCCESS' END,
        jsonb_build_object(
          'weather', jsonb_build_object('pwv_mm', round(0.3 + (i::bigint * 7919 % 1000) / 700.0, 2), 'ambient_c', -8 + (i % 11)),
          'scan', jsonb_build_object('pattern', 'OTF', 'number', i))
      FROM generate_series(${from}::int, ${last}::int) AS i`
    yield* sql`
      INSERT INTO raw_data_package (id, name, executed_obs_unit_id, instrument_module_id, state, checksum, size_bytes, created_at, archived_at, metadata)
      SELECT md5('ccat-bench/package/' || i || '/' || v.name)::uuid,
        'chai_' || lpad(i::text, 8, '0') || '_' || v.name,
        md5('ccat-bench/scan/' || i)::uuid, m.id, 'ARCHIVED',
        encode(sha256(convert_to('ccat-bench/checksum/' || i || '/' || v.name, 'UTF8')), 'hex'),
        180000000 + (i % 997) * 100000,
        ${start} + interval '9 minutes', ${start} + interval '40 minutes',
        jsonb_build_object('observation', jsonb_build_object('frequency_ghz', v.ghz, 'channels', 4096, 'pixels', 7))
      FROM generate_series(${from}::int, ${last}::int) AS i
      CROSS JOIN (VALUES ('LFA', 461.04), ('HFA', 806.65)) AS v (name, ghz)
      JOIN instrument_module m ON m.name = v.name
      ORDER BY i, v.name`
  })

// ---------------------------------------------------------------------------------------------
// The standing pipeline: chai_standing of pipelines/chai/standing.ccat at a local location.
// ---------------------------------------------------------------------------------------------

const pipelineText = `
grouping chai_archived {
  description "All archived CHAI data, both receivers"
  where Instrument.name == "CHAI"
    and InstrumentModule.name in ("LFA", "HFA")
    and RawDataPackage.state == "ARCHIVED"
}

location bench_local {
  description "The benchmark's machine"
  backend local { max_parallel 2 }
  container none
  base_dir ".ccat/runs"
}

software chai_calibration {
  description "Chopper-wheel calibration"
  image "docker://ghcr.io/ccatobs/chai-calibration:{version}"
  versions "2.3.1", "2.4.0", "2.4.2"
  command "chai-calibrate --mode {config.calibration_mode} --tsys-max {config.tsys_max_k}"
}

software chai_baseline {
  description "Polynomial baseline subtraction"
  image "docker://ghcr.io/ccatobs/chai-baseline:{version}"
  versions "1.0.0", "1.1.0", "1.2.3"
  command "chai-baseline --order {config.order} --despike {config.despike_sigma}"
}

software chai_gridding {
  description "Gridding into PPV cubes"
  image "docker://ghcr.io/ccatobs/chai-gridding:{version}"
  versions "0.9.1", "0.9.2", "0.10.0"
  command "chai-grid --pixel {config.pixel_arcsec} --kernel {config.kernel} --channel {config.channel_kms}"
}

pipeline chai_standing {
  description "Calibrated spectra per scan and PPV cubes per source and line"
  data chai_archived
  location bench_local
  trigger continuous
  priority 10

  step calibrate {
    run chai_calibration ^2.4
    group_by executed_obs_unit
    cooldown 60s
    config { calibration_mode = "hot_cold"  tsys_max_k = 4000 }
    retries 3
  }

  step baseline {
    after calibrate
    run chai_baseline ^1.2
    group_by executed_obs_unit
    cooldown 60s
    config { order = 3  despike_sigma = 5.0  window_kms = [-50, 50] }
    retries 2
  }

  step map {
    after baseline
    run chai_gridding ~0.10
    group_by source, line
    cooldown 1d
    config { pixel_arcsec = 6.5  kernel = "gauss_bessel"  channel_kms = 0.5 }
    version_policy exact
    retries 1
  }
}
`

const applyPipeline = Effect.gen(function* () {
  const compiled = compileSources([{ path: "bench.ccat", text: pipelineText }])
  const errors = compiled.diagnostics.filter((d) => d.severity === "error")
  if (errors.length > 0 || compiled.ir === undefined) {
    const shown = errors.map((d) => `bench.ccat:${d.span.startLine}:${d.span.startColumn}: ${d.code} ${d.message}`).join("\n")
    return yield* Effect.dieMessage(`bench/gaps: the bench pipeline does not compile:\n${shown}`)
  }
  const applied = yield* applyWorkspace(compiled.ir, { createdBy: "bench" })
  const steps = compiled.ir.pipelines.flatMap((p) => p.steps.map((s) => s.name))
  return { generation: applied.generation, steps }
})

// ---------------------------------------------------------------------------------------------
// Passes and the simulated collect loop.
// ---------------------------------------------------------------------------------------------

interface TimedPass {
  readonly summary: PassSummary
  readonly ms: number
  readonly timings: ReadonlyArray<StatementTiming>
}

const timed = (options: PassOptions): Effect.Effect<TimedPass, unknown, SqlClient.SqlClient> =>
  Effect.suspend(() => {
    const timings: Array<StatementTiming> = []
    const start = performance.now()
    return profiled(evaluatePass(options), timings).pipe(Effect.map((summary) => ({ summary, ms: performance.now() - start, timings })))
  })

/** A full evaluation of every step, as `ccat plan` and the periodic reconciliation do it. */
const timedPass = timed({ actor: "bench" })

/**
 * The trigger loop's pass: remembering, so it evaluates only the sub-groups that changed. The
 * full-pass interval is a day here so every timed pass is incremental; what the periodic full
 * evaluation costs is the full pass above.
 */
const timedLoopPass = timed({ actor: "bench", remember: true, fullEvery: Duration.hours(24) })

/**
 * `ccat plan`'s and `ccat status`'s preview (preview.ts): a pass from the loop's memory inside
 * a transaction that is rolled back, writing nothing to the memory.
 */
const timedPreview = Effect.suspend(() => {
  const timings: Array<StatementTiming> = []
  const start = performance.now()
  return profiled(previewPass({ actor: "bench", fromMemory: true }), timings).pipe(
    Effect.map((summary): TimedPass => ({ summary, ms: performance.now() - start, timings }))
  )
})

/** Every PENDING run completes with one SCIENCE product and an event, as the collect loop would. */
const completePending = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [row] = yield* sql<{ n: number }>`
    WITH done AS (
      UPDATE executed_reduction_step
      SET status = 'COMPLETED', updated_at = now(), submitted_at = now(), finished_at = now(), exit_code = 0, wall_seconds = 600
      WHERE status = 'PENDING'
      RETURNING id, step_id, sub_group_key
    ),
    products AS (
      INSERT INTO data_product (run_id, product_type, relative_path, size_bytes, checksum)
      SELECT id, 'SCIENCE', 'products/' || step_id || '/' || sub_group_key || '/' || id || '.fits', 50000000,
        encode(sha256(convert_to('ccat-bench/product/' || id, 'UTF8')), 'hex')
      FROM done
    ),
    events AS (
      INSERT INTO run_event (run_id, at, actor, from_status, to_status, reason)
      SELECT id, now(), 'bench', 'PENDING', 'COMPLETED', 'collected' FROM done
    )
    SELECT count(*)::int AS n FROM done`
  return row?.n ?? 0
})

/** Complete and pass until a pass creates nothing and nothing is pending; returns the passes run. */
const settle = (label: string, verbose: boolean, passOnce: Effect.Effect<TimedPass, unknown, SqlClient.SqlClient> = timedPass) =>
  Effect.gen(function* () {
    for (let i = 1; i <= MAX_SETTLE_PASSES; i++) {
      const completed = yield* completePending
      const pass = yield* passOnce
      if (verbose) log(label, `  settle ${i}: completed ${fmt(completed)} runs, then ${passSummaryLine(pass.summary)} (${ms(pass.ms)} wall)`)
      if (pass.summary.created === 0 && completed === 0) return i
      if (pass.summary.created === 0) {
        // Nothing created and nothing left pending: settled.
        const sql = yield* SqlClient.SqlClient
        const [pending] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM executed_reduction_step WHERE status = 'PENDING'`
        if ((pending?.n ?? 0) === 0) return i
      }
    }
    return yield* Effect.dieMessage(`bench/gaps: passes did not settle within ${MAX_SETTLE_PASSES} rounds`)
  })

const analyze = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe("VACUUM ANALYZE")
})

// ---------------------------------------------------------------------------------------------
// One size, in its own process.
// ---------------------------------------------------------------------------------------------

interface SizeResult {
  readonly size: number
  /** `1M`, or for a resumed database its package count when the timing began. */
  readonly label: string
  /** Null when resumed (`--resume`): the database was seeded and first passed by an earlier run. */
  readonly seedMs: number | null
  readonly firstPassMs: number | null
  readonly firstPassCreated: number | null
  readonly fullPassMs: ReadonlyArray<number>
  readonly incrementalMs: ReadonlyArray<number>
  readonly incrementalCreated: ReadonlyArray<number>
  /** `ccat plan`'s preview from the loop's memory, just before each incremental pass. */
  readonly previewMs: ReadonlyArray<number>
  readonly startRss: number
  readonly peakRss: number
  readonly peakHeap: number
  readonly maxRss: number
  readonly runs: number
  /** Packages when the timing began (a resumed database's own count). */
  readonly packages: number
  readonly databaseBytes: number
}

/** The archive of a fresh database: migrated, seeded, the pipeline applied and its first pass timed. */
const seedAndFirstPass = (size: number, label: string) =>
  Effect.gen(function* () {
    const scans = size / 2
    memory.startPhase()
    yield* migrate
    const seedStart = performance.now()
    yield* seedCatalog
    // In chunks of 250k scans, so a progress line shows up every half a million packages.
    const chunk = 250_000
    for (let from = 0; from < scans; from += chunk) {
      const count = Math.min(chunk, scans - from)
      yield* seedScans(from, count)
      log(label, `seeded ${fmt((from + count) * 2)} / ${fmt(size)} packages`)
    }
    yield* analyze
    const seedMs = performance.now() - seedStart
    log(label, `seed + VACUUM ANALYZE: ${ms(seedMs)} (${fmt(scans)} scans over ${fmt(Math.ceil(scans / SCANS_PER_NIGHT))} nights, ${obsUnitCount} obs units); rss peak ${mib(memory.endPhase())}`)

    const { generation, steps } = yield* applyPipeline
    log(label, `applied the pipeline (generation ${generation}; steps ${steps.join(" → ")})`)

    // 1. The first pass: a run for every scan.
    memory.startPhase()
    const first = yield* timedPass
    log(label, `first pass: ${ms(first.ms)} — ${passSummaryLine(first.summary)}; rss peak ${mib(memory.endPhase())}`)
    for (const line of breakdown(first.timings, steps, first.ms)) log(label, `    ${line}`)
    return { seedMs, firstPassMs: first.ms, firstPassCreated: first.summary.created, scans, packages: size, steps }
  })

/**
 * A database kept by an earlier run (`--resume`): migrated (new migrations apply), its scans
 * counted so new ones continue the numbering, and the loop's memory cleared, so the measures
 * below start where a fresh run's would.
 */
const resumeArchive = (label: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* migrate
    const [row] = yield* sql<{ scans: number; packages: number }>`
      SELECT (SELECT count(*)::int FROM executed_obs_unit) AS scans, (SELECT count(*)::int FROM raw_data_package) AS packages`
    yield* sql`DELETE FROM trigger_sub_group_state`
    yield* sql`DELETE FROM trigger_step_state`
    const steps = compileSources([{ path: "bench.ccat", text: pipelineText }]).ir?.pipelines.flatMap((p) => p.steps.map((s) => s.name)) ?? []
    log(label, `${fmt(row?.packages ?? 0)} packages, ${fmt(row?.scans ?? 0)} scans; migrated, loop memory cleared`)
    return { seedMs: null, firstPassMs: null, firstPassCreated: null, scans: row?.scans ?? 0, packages: row?.packages ?? 0, steps }
  })

const measureSize = (size: number, label: string, stepNames: { current: ReadonlyArray<string> }, resume: boolean) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const { seedMs, firstPassMs, firstPassCreated, scans, packages, steps } = resume ? yield* resumeArchive(label) : yield* seedAndFirstPass(size, label)
    stepNames.current = steps

    // 2. Settle (complete everything, pass until nothing changes), then time passes with
    // nothing to do.
    memory.startPhase()
    const settleStart = performance.now()
    const rounds = yield* settle(label, true)
    yield* analyze
    log(label, `settled in ${rounds} rounds, ${ms(performance.now() - settleStart)} (incl. VACUUM ANALYZE); rss peak ${mib(memory.endPhase())}`)
    memory.startPhase()
    const warm = yield* timedPass
    log(label, `full pass warm-up: ${ms(warm.ms)} — ${passSummaryLine(warm.summary)}`)
    const full: Array<TimedPass> = []
    for (let i = 0; i < RUNS; i++) {
      const pass = yield* timedPass
      full.push(pass)
      log(label, `full pass ${i + 1}/${RUNS}: ${ms(pass.ms)} — ${passSummaryLine(pass.summary)}`)
      if (pass.summary.created !== 0) log(label, `  warning: a pass in a settled archive created ${pass.summary.created} runs`)
    }
    const fullMs = full.map((p) => p.ms)
    const fullMedian = full[medianIndex(fullMs)]!
    log(label, `full pass median ${ms(median(fullMs))} (min ${ms(Math.min(...fullMs))}, max ${ms(Math.max(...fullMs))}); rss peak ${mib(memory.endPhase())}; median run by statement:`)
    for (const line of breakdown(fullMedian.timings, steps, fullMedian.ms)) log(label, `    ${line}`)

    // 2b. What the trigger loop actually does between changes: a remembering pass (step-memo.ts)
    // skips the steps nothing changed for. The first one evaluates and remembers.
    const firstLoop = yield* timedLoopPass
    log(label, `first loop pass (full, remembering every decision): ${ms(firstLoop.ms)} — ${passSummaryLine(firstLoop.summary)}`)
    for (const line of breakdown(firstLoop.timings, steps, firstLoop.ms)) log(label, `    ${line}`)
    const quiet: Array<number> = []
    for (let i = 0; i < RUNS; i++) {
      const start = performance.now()
      const { summary } = yield* timedLoopPass
      quiet.push(performance.now() - start)
      log(label, `unchanged pass ${i + 1}/${RUNS}: ${ms(quiet[i]!)} — ${passSummaryLine(summary)}`)
    }
    log(label, `unchanged pass (remembering) median ${ms(median(quiet))}`)

    // 3. Incremental: 1k new packages in a settled archive; time the trigger loop's pass that
    // creates their runs, then settle again (untimed, with the loop's passes, which keeps its
    // memory current) so every measured pass starts from the same state.
    memory.startPhase()
    const incremental: Array<TimedPass> = []
    for (let i = 0; i < RUNS; i++) {
      yield* seedScans(scans + i * INCREMENT_SCANS, INCREMENT_SCANS)
      const pass = yield* timedLoopPass
      incremental.push(pass)
      log(label, `incremental pass ${i + 1}/${RUNS} (+${fmt(INCREMENT_SCANS * 2)} packages): ${ms(pass.ms)} — ${passSummaryLine(pass.summary)}`)
      const settleStart = performance.now()
      const rounds = yield* settle(label, true, timedLoopPass)
      log(label, `  settled again in ${rounds} rounds, ${ms(performance.now() - settleStart)} (untimed)`)
    }
    const incMs = incremental.map((p) => p.ms)
    const incMedian = incremental[medianIndex(incMs)]!
    log(label, `incremental pass median ${ms(median(incMs))} (min ${ms(Math.min(...incMs))}, max ${ms(Math.max(...incMs))}); rss peak ${mib(memory.endPhase())}; median run by statement:`)
    for (const line of breakdown(incMedian.timings, steps, incMedian.ms)) log(label, `    ${line}`)

    // 4. `ccat plan` in the same situation: 1k new packages since the loop's last pass, previewed
    // from its memory (rolled back). Apart from the incremental passes: the preview reads and
    // writes the pages the pass then finds in memory (the pass ran 40% faster after it).
    const previews: Array<TimedPass> = []
    for (let i = 0; i < RUNS; i++) {
      yield* seedScans(scans + (RUNS + i) * INCREMENT_SCANS, INCREMENT_SCANS)
      const preview = yield* timedPreview
      previews.push(preview)
      log(label, `plan preview ${i + 1}/${RUNS} (from the loop's memory, +${fmt(INCREMENT_SCANS * 2)} packages since): ${ms(preview.ms)} — ${passSummaryLine(preview.summary)}`)
      const pass = yield* timedLoopPass
      if (pass.summary.created !== preview.summary.created) log(label, `  warning: the preview would create ${preview.summary.created} runs, the pass created ${pass.summary.created}`)
      yield* settle(label, true, timedLoopPass)
    }
    const previewMs = previews.map((p) => p.ms)
    log(label, `plan preview from the loop's memory median ${ms(median(previewMs))} (min ${ms(Math.min(...previewMs))}, max ${ms(Math.max(...previewMs))}); the full pass above is the preview without memory`)

    const [counts] = yield* sql<{ runs: number; bytes: string }>`
      SELECT (SELECT count(*)::int FROM executed_reduction_step) AS runs, pg_database_size(current_database())::text AS bytes`
    return {
      seedMs,
      firstPassMs,
      firstPassCreated,
      fullPassMs: fullMs,
      incrementalMs: incMs,
      incrementalCreated: incremental.map((p) => p.summary.created),
      previewMs,
      runs: counts?.runs ?? 0,
      packages,
      databaseBytes: Number(counts?.bytes ?? 0)
    }
  })

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
  const header = ["size", "seed", "first pass", "full pass median", "full/5 s", "incremental median", "incr/300 ms", "plan (memory)", "peak RSS", "maxRSS", "peak heap"]
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
  const line = (cells: ReadonlyArray<string>): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")
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
      withAdmin((sql) => sql<{ name: string }>`SELECT datname AS name FROM pg_database WHERE datname LIKE 'ccat\_bench\_%' ORDER BY datname`)
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
  console.log(`Trigger pass over the 3-step standing pipeline (calibrate, baseline per scan; map per source and line); ${RUNS} runs per measure; node ${process.version}`)
  console.log(`Goals (1M packages): full pass < ${ms(GOAL_FULL_MS)}, incremental pass (+1k packages) < ${GOAL_INCREMENTAL_MS} ms, memory flat in the archive size. Ratios are median / goal.`)
  printTable(results, options)
  if (results.some((r) => r.result === null)) process.exitCode = 1
}

if (runMain) {
  const childSize = process.env[CHILD_ENV]
  if (childSize !== undefined) {
    childMain(Number(childSize), JSON.parse(process.env[OPTIONS_ENV] ?? "{}") as Options)
  } else {
    let options: Options | undefined
    try {
      options = parseOptions()
    } catch (error) {
      if (!(error instanceof UsageError)) throw error
      console.error(error.message)
      process.exit(2)
    }
    parentMain(options).catch((error: unknown) => {
      console.error(error)
      process.exit(1)
    })
  }
}
