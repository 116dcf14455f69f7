/*
 * HTTP API benchmark (issue 21: every list endpoint an indexed, paged query, p95 under 50 ms at
 * 1M runs and 10M products on the real PostgreSQL). It seeds a database (bench/api/seed.ts: runs
 * in every status over five steps of three pipelines, products of every type, lineage, inputs and
 * events), starts `ccat serve`'s HTTP server in this process on a free port and times each list
 * endpoint with each of its filters over HTTP, one request at a time (bench/api/endpoints.ts),
 * and then the endpoints that preview a trigger pass (`why`, the overview), which are no lists.
 *
 *   node bench/bundled.mjs api                         # 1M runs, 10M products (seeding: about 2-4 minutes)
 *   node bench/bundled.mjs api --runs 100k --products-per-run 10
 *   node bench/bundled.mjs api --small                 # 2000 runs: every endpoint answers
 *   npx tsx bench/api.ts --small                       # the same under tsx
 *
 * Options: --runs (default 1M), --products-per-run (10), --small, --requests per endpoint (50,
 * after --warmup 5), --out (bench/out/api.json). The database is CCAT_BENCH_DATABASE_URL, else
 * ccat_bench_api on CCAT_BENCH_POSTGRES_URL's server (else CCAT_TEST_POSTGRES_URL's, else
 * 127.0.0.1:5432), created when missing. It is kept: a later run with the same sizes times it
 * again without seeding (at 1M x 10 seeding takes minutes); with other sizes it is dropped and
 * seeded again. A database the bench did not seed is never touched.
 *
 * It prints p50, p95 and max per endpoint and whether the p95 meets the goal, and writes the
 * same as JSON. It fails (exit 1) only on a wrong answer (an HTTP error, an empty list, a row
 * that does not match the filter), never on a slow one.
 */
import { NodeRuntime } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"
import { httpServer } from "../src/api/http-server.ts"
import { ApiBackendAccess } from "../src/api/handlers/actions.ts"
import { migrate } from "../src/db/migrate.ts"
import { BackendCallsLive } from "../src/runtime/backends/backend-calls.ts"
import { noBackendAccess } from "../src/runtime/ops/cancel.ts"
import { ServeStateLive } from "../src/runtime/serve/serve-state.ts"
import { benchClient, NotABenchDatabase, prepareDatabase } from "./api/database.ts"
import { endpoints, previews, seededRandom, type Endpoint, type Size } from "./api/endpoints.ts"
import { parseOptions, type Options } from "./api/options.ts"
import { renderPreviews, renderTable, writeJson, type PreviewResult } from "./api/report.ts"
import { seed } from "./api/seed.ts"
import { GOAL_P95_MS, request, timeEndpoint, type Timed } from "./api/timing.ts"
import { optionsOrExit } from "./command-line.ts"

/** A request of a list endpoint that takes longer than this is a failure, not a number. */
const LIST_TIMEOUT_MS = 30_000
/** How long the one request of a preview may take. */
const PREVIEW_LIMIT_S = 60
/** A preview whose one request took less than this is timed like the lists. */
const PREVIEW_TIMED_BELOW_MS = 1_000

const log = (line: string) => console.log(`bench/api: ${line}`)

const mapKeys = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ key: string }>`
    SELECT ccat_sub_group_key(ARRAY[s.name, u.line_id]) AS key FROM obs_unit u JOIN source s ON s.id = u.source_id ORDER BY 1`
  return rows.map((r) => r.key)
})

const timePreview = async (baseUrl: string, endpoint: Endpoint, options: Options): Promise<PreviewResult> => {
  const random = seededRandom(7)
  const path = endpoint.path(random)
  const once = await request(baseUrl, path, endpoint, PREVIEW_LIMIT_S * 1000)
  const answered = once.problem === null || !once.problem.includes("aborted")
  const base = { name: endpoint.name, example: path, onceMs: answered ? once.ms : null, problem: answered ? once.problem : null }
  if (!answered || once.problem !== null || once.ms >= PREVIEW_TIMED_BELOW_MS) return { ...base, timed: null }
  const timed = await timeEndpoint(baseUrl, endpoint, random, { n: options.requests, warmup: options.warmup, timeoutMs: LIST_TIMEOUT_MS })
  return { ...base, timed, problem: timed.problem }
}

/** Seeds (or reuses) the prepared database, serves it and times the endpoints. */
const measure = (options: Options, db: { readonly name: string; readonly reuse: boolean }) =>
  Effect.gen(function* () {
    const products = options.runs * options.productsPerRun
    const sql = yield* SqlClient.SqlClient
    let seedSeconds: number
    if (db.reuse) {
      yield* migrate
      const [row] = yield* sql<{ seed_seconds: number }>`SELECT seed_seconds FROM ccat_bench_api_seed`
      seedSeconds = row?.seed_seconds ?? Number.NaN
    } else {
      log(`seeding ${db.name}`)
      seedSeconds = yield* seed(options, log)
    }
    const [version] = yield* sql<{ v: string }>`SELECT current_setting('server_version') AS v`
    const size: Size = { runs: options.runs, productsPerRun: options.productsPerRun, mapKeys: yield* mapKeys }

    const port = yield* httpServer({ host: "127.0.0.1", port: 0, readsNeedToken: false }).pipe(
      // Nothing here cancels a job: the bench only reads.
      Effect.provideService(ApiBackendAccess, noBackendAccess)
    )
    const baseUrl = `http://127.0.0.1:${port}`
    log(`serving on ${baseUrl}; ${options.requests} requests per endpoint after ${options.warmup} to warm up`)

    const lists: Array<Timed> = []
    for (const [i, endpoint] of endpoints(size).entries()) {
      const timed = yield* Effect.promise(() =>
        timeEndpoint(baseUrl, endpoint, seededRandom(1000 + i), { n: options.requests, warmup: options.warmup, timeoutMs: LIST_TIMEOUT_MS })
      )
      lists.push(timed)
    }
    console.log("")
    console.log(renderTable(lists))
    console.log("")

    // Last: a preview that takes long keeps the database busy after its request gave up.
    const previewResults: Array<PreviewResult> = []
    for (const endpoint of previews(size)) previewResults.push(yield* Effect.promise(() => timePreview(baseUrl, endpoint, options)))
    console.log(`Not list endpoints (each previews a trigger pass; timed ${options.requests} times when one request took under 1 s):`)
    console.log(renderPreviews(previewResults, PREVIEW_LIMIT_S))
    console.log("")

    const problems = [...lists.map((t) => t.problem), ...previewResults.map((p) => p.problem)].filter((p) => p !== null)
    for (const problem of problems) console.log(`error: ${problem}`)
    const listRows = lists.filter((t) => t.list)
    const missed = listRows.filter((t) => !(t.p95 < GOAL_P95_MS))
    log(
      missed.length === 0
        ? `every list endpoint met p95 < ${GOAL_P95_MS} ms (${listRows.length} timed)`
        : `${missed.length} of ${listRows.length} list endpoints missed p95 < ${GOAL_P95_MS} ms: ${missed.map((t) => t.name).join(", ")}`
    )
    writeJson(options.out, {
      runs: options.runs,
      products,
      productsPerRun: options.productsPerRun,
      database: db.name,
      reused: db.reuse,
      seedSeconds,
      postgres: version?.v ?? "",
      lists,
      previews: previewResults
    })
    log(`wrote ${options.out}`)
    if (problems.length > 0) process.exitCode = 1
  }).pipe(Effect.scoped, Effect.provide(Layer.mergeAll(benchClient(options), ServeStateLive, BackendCallsLive)))

const program = (options: Options) =>
  Effect.gen(function* () {
    log(`${options.runs} runs, ${options.runs * options.productsPerRun} products (${options.productsPerRun} per run)`)
    // First: the database's client connects as it is made.
    const db = yield* prepareDatabase(options, log)
    yield* measure(options, db)
  })

NodeRuntime.runMain(
  program(optionsOrExit(parseOptions)).pipe(
    Effect.catchIf(
      (e): e is NotABenchDatabase => e instanceof NotABenchDatabase,
      (e) =>
        Effect.sync(() => {
          console.error(e.message)
          process.exitCode = 2
        })
    )
  )
)
