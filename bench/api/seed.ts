import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { performance } from "node:perf_hooks"
import { migrate } from "../../src/db/migrate.ts"
import { obsUnitCount, seedCatalog, seedScans } from "../gaps/archive.ts"
import { SEED_VERSION, seedTable } from "./database.ts"
import { applyPipelines, benchSteps } from "./pipelines.ts"

// ---------------------------------------------------------------------------------------------
// The seed: what an ops-db looks like after a long time of processing, written with set-based
// SQL (generate_series), a batch of runs per statement.
//
// - The CHAI archive of bench/gaps: K scans (one per 40 runs, at least 20), two raw packages each.
// - Run r (1..N) goes to step (r - 1) % 4 of bench/api/pipelines.ts, created 30 s after run r - 1;
//   but the preview runs among the oldest 2% went to chai_reprocess.rebaseline, a step whose few
//   runs and products are all far back: a filter on it is where walking ids from the newest
//   would pass nearly every row first. A run's sub-group is a scan (calibrate, baseline, preview,
//   rebaseline: K keys) or a source and line (map: 80 keys), dealt in turn, so each sub-group of
//   a step has a run every 4K (or 320) runs. The newest run of
//   each sub-group is in any of the eight statuses (about 7% of the runs: PENDING to CANCELLED,
//   one in flight per sub-group at most, as the trigger allows); older ones COMPLETED, but for
//   one in 23 FAILED and one in 97 CANCELLED. Reasons: 70% NEW_DATA, then UPSTREAM_CHANGED
//   (downstream steps), CONFIG_CHANGED, SOFTWARE_CHANGED, DEFINITION_CHANGED, MANUAL, and one in
//   1000 INPUT_PURGED.
// - P products per run, of every type (SCIENCE first, then QA_METRIC, PLOT, STATISTICS, LOG,
//   then INTERMEDIATE), so N x P in all: a run in flight has products too, which changes no
//   index's shape and keeps the count what was asked.
// - Lineage of each run's SCIENCE product, and the run's inputs, as the collect loop records
//   them: calibrate and preview read their scan's two raw packages, baseline the calibrate
//   product of its scan, map eight baseline products; a map product's graph has 17 products, 17
//   runs and 16 packages.
// - Each run's events: created (PENDING), begun, and for a run that ended, its end.
//
// Ids are given, not drawn from the sequences (set afterwards), so that product (r - 1) x P + 1
// is run r's SCIENCE product and the lineage is arithmetic. As a superuser the seed writes with
// session_replication_role = replica: no foreign-key checks and no triggers, which would only
// check what the arithmetic already makes right and take longer than the inserts themselves;
// the product's step, which migration 14's trigger sets, is written directly.
// ---------------------------------------------------------------------------------------------

const BATCH_RUNS = 100_000
const statuses = ["PENDING", "STAGING_DATA", "SUBMITTED", "RUNNING", "COLLECTING_RESULTS", "COMPLETED", "FAILED", "CANCELLED"]
const productTypes = ["SCIENCE", "QA_METRIC", "PLOT", "STATISTICS", "LOG", "INTERMEDIATE"]

export interface SeedSize {
  readonly runs: number
  readonly productsPerRun: number
}

/** Scans in the archive: one sub-group of a per-scan step has about ten runs. */
export const scanCount = (runs: number): number => Math.max(20, Math.ceil(runs / 40))

const textArray = (values: ReadonlyArray<string>) => `ARRAY[${values.map((v) => `'${v}'`).join(", ")}]`

/** The run ranges [from, to] of the batches. */
const batches = (runs: number): ReadonlyArray<readonly [number, number]> => {
  const out: Array<readonly [number, number]> = []
  for (let from = 1; from <= runs; from += BATCH_RUNS) out.push([from, Math.min(runs, from + BATCH_RUNS - 1)])
  return out
}

export const seed = (size: SeedSize, log: (line: string) => void) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const started = performance.now()
    const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`
    const N = size.runs
    const P = size.productsPerRun
    const K = scanCount(N)

    yield* migrate
    yield* sql`CREATE TABLE ${sql(seedTable)} (
      version integer NOT NULL, runs bigint NOT NULL, products_per_run integer NOT NULL, scans integer NOT NULL,
      finished boolean NOT NULL DEFAULT false, seed_seconds double precision, seeded_at timestamptz)`
    yield* sql`INSERT INTO ${sql(seedTable)} (version, runs, products_per_run, scans) VALUES (${SEED_VERSION}, ${N}, ${P}, ${K})`
    yield* seedCatalog
    yield* seedScans(0, K)
    const steps = yield* applyPipelines
    log(`archive of ${K} scans (${2 * K} raw packages) and ${steps.length} steps in ${seconds(started)}`)

    const [role] = yield* sql<{ super: boolean }>`SELECT rolsuper AS super FROM pg_roles WHERE rolname = current_user`
    const bulk = <A, E, R>(statement: Effect.Effect<A, E, R>) =>
      role?.super === true ? sql.withTransaction(Effect.zipRight(sql`SET LOCAL session_replication_role = replica`, statement)) : statement
    if (role?.super !== true) log("not a superuser: seeding with foreign-key checks and triggers (slower)")

    const rare = `((r - 1) % 4 = 3 AND r <= ${Math.ceil(N / 50)})`
    const dealt = `(CASE WHEN ${rare} THEN 5 ELSE ((r - 1) % 4) + 1 END)`
    const stepOf = `(ARRAY[${steps.join(", ")}]::bigint[])[${dealt}]`
    const versions = textArray(benchSteps.map((s) => s.version))
    const at = `(timestamptz '2025-01-01 00:00:00+00' + r * interval '30 seconds')`
    const scanKey = `md5('ccat-bench/scan/' || (((r - 1) / 4) % ${K}))::uuid::text`
    const keys = `(CASE WHEN (r - 1) % 4 = 2 THEN ${obsUnitCount} ELSE ${K} END)`
    const status = `CASE WHEN r + 4 * ${keys} > ${N} THEN (${textArray(statuses)})[(((r - 1) / 4) % 8) + 1]
      WHEN r % 23 = 0 THEN 'FAILED' WHEN r % 97 = 0 THEN 'CANCELLED' ELSE 'COMPLETED' END`
    const reason = `CASE WHEN h < 700 THEN 'NEW_DATA'
      WHEN h < 850 THEN CASE WHEN (r - 1) % 4 IN (1, 2) THEN 'UPSTREAM_CHANGED' ELSE 'NEW_DATA' END
      WHEN h < 900 THEN 'CONFIG_CHANGED' WHEN h < 940 THEN 'SOFTWARE_CHANGED' WHEN h < 970 THEN 'DEFINITION_CHANGED'
      WHEN h < 999 THEN 'MANUAL' ELSE 'INPUT_PURGED' END`
    const inFlight = `status IN ('PENDING', 'STAGING_DATA', 'SUBMITTED', 'RUNNING', 'COLLECTING_RESULTS')`
    const named = `status NOT IN ('PENDING', 'STAGING_DATA')`

    const insertRuns = (from: number, to: number) =>
      sql.unsafe(`
        WITH map_keys AS (
          -- The map's sub-group keys (source, line), numbered 0..79 as the seed deals them.
          SELECT (row_number() OVER (ORDER BY s.name, u.line_id) - 1)::int AS m, ccat_sub_group_key(ARRAY[s.name, u.line_id]) AS key
          FROM obs_unit u JOIN source s ON s.id = u.source_id
        ),
        g AS (
          SELECT r, ${stepOf} AS step_id, (${versions})[${dealt}] AS version, ${at} AS at, (r * 7919) % 1000 AS h,
            CASE WHEN (r - 1) % 4 = 2 THEN mk.key ELSE ${scanKey} END AS key, ${status} AS status
          FROM generate_series(${from}::bigint, ${to}::bigint) AS r
          LEFT JOIN map_keys mk ON (r - 1) % 4 = 2 AND mk.m = ((r - 1) / 4) % ${obsUnitCount}
        )
        INSERT INTO executed_reduction_step (id, step_id, sub_group_key, input_identity, fingerprint, status, reason, software_version,
          image, config, job_name, backend_job_id, backend, run_dir, attempt, failure_reason, exit_code, wall_seconds, cpu_hours,
          peak_memory_bytes, created_at, updated_at, submitted_at, finished_at)
        SELECT r, step_id, key, md5('ccat-bench/run/' || r), 'bench', status, ${reason}, version,
          'docker://ghcr.io/ccatobs/bench:' || version, jsonb_build_object('order', 3, 'kernel', 'gauss_bessel'),
          CASE WHEN ${named} THEN 'ccat-bench-run-' || r || '-a1' END,
          CASE WHEN ${named} THEN (1000000 + r)::text END,
          CASE WHEN ${named} THEN 'local' END,
          CASE WHEN status <> 'PENDING' THEN '.ccat/runs/run-' || r || '/attempt-1' END,
          CASE WHEN status = 'PENDING' THEN 0 ELSE 1 END,
          CASE WHEN status = 'FAILED' THEN 'EXIT_CODE: the program exited with code 1' END,
          CASE WHEN status = 'COMPLETED' THEN 0 WHEN status = 'FAILED' THEN 1 END,
          CASE WHEN NOT ${inFlight} THEN 540 + r % 120 END,
          CASE WHEN NOT ${inFlight} THEN 0.15 END,
          CASE WHEN NOT ${inFlight} THEN 2000000000 + r % 1000000 END,
          at,
          CASE WHEN ${inFlight} THEN at ELSE at + interval '10 minutes' END,
          CASE WHEN ${named} THEN at + interval '1 minute' END,
          CASE WHEN NOT ${inFlight} THEN at + interval '10 minutes' END
        FROM g
        ORDER BY r`)

    const insertProducts = (from: number, to: number) =>
      sql.unsafe(`
        INSERT INTO data_product (id, run_id, step_id, product_type, relative_path, size_bytes, checksum, created_at)
        SELECT (r - 1) * ${P} + j + 1, r, ${stepOf}, t.type,
          'products/' || lower(t.type) || '/' || j || '.fits', 100000 + (r * 7 + j * 131) % 50000000,
          md5('ccat-bench/product/' || r || '/' || j), ${at} + interval '10 minutes'
        FROM generate_series(${from}::bigint, ${to}::bigint) AS r
        CROSS JOIN generate_series(0, ${P - 1}) AS j
        JOIN (SELECT (ordinality - 1)::int AS n, type FROM unnest(${textArray(productTypes)}) WITH ORDINALITY AS u (type, ordinality)) t
          ON t.n = least(j, ${productTypes.length - 1})
        ORDER BY 1`)

    // What each run read: (run, raw package, parent product); its SCIENCE product's lineage is the same edges.
    const edges = (from: number, to: number) => `
      SELECT r, md5('ccat-bench/package/' || (((r - 1) / 4) % ${K}) || '/' || v.module)::uuid AS package_id, NULL::bigint AS parent
      FROM generate_series(${from}::bigint, ${to}::bigint) AS r CROSS JOIN (VALUES ('LFA'), ('HFA')) AS v (module)
      WHERE (r - 1) % 4 IN (0, 3)
      UNION ALL
      SELECT r, NULL, (r - 2) * ${P} + 1 FROM generate_series(${from}::bigint, ${to}::bigint) AS r WHERE (r - 1) % 4 = 1 AND r > 1
      UNION ALL
      SELECT r, NULL, (r - 2 - 4 * k) * ${P} + 1
      FROM generate_series(${from}::bigint, ${to}::bigint) AS r CROSS JOIN generate_series(0, 7) AS k
      WHERE (r - 1) % 4 = 2 AND r - 1 - 4 * k >= 1`

    const insertLineage = (from: number, to: number) =>
      sql.unsafe(`
        INSERT INTO data_product_lineage (product_id, parent_product_id, raw_data_package_id)
        SELECT (r - 1) * ${P} + 1, parent, package_id FROM (${edges(from, to)}) e ORDER BY 1, 2, 3`)

    const insertInputs = (from: number, to: number) =>
      sql.unsafe(`
        INSERT INTO run_input (run_id, raw_data_package_id, data_product_id, checksum)
        SELECT r, package_id, parent, md5('ccat-bench/input/' || coalesce(package_id::text, parent::text)) FROM (${edges(from, to)}) e ORDER BY 1`)

    const insertEvents = (from: number, to: number) =>
      sql.unsafe(`
        INSERT INTO run_event (run_id, at, actor, from_status, to_status, reason)
        SELECT r.id, e.at, e.actor, e.from_status, e.to_status, e.reason
        FROM executed_reduction_step r
        CROSS JOIN LATERAL (VALUES
          (r.created_at, 'trigger', NULL, 'PENDING', r.reason, true),
          (r.created_at + interval '1 minute', 'submit', 'PENDING',
            CASE WHEN r.status IN ('STAGING_DATA', 'SUBMITTED', 'RUNNING', 'COLLECTING_RESULTS') THEN r.status ELSE 'RUNNING' END,
            'staged and submitted', r.status <> 'PENDING'),
          (r.finished_at, 'collect', 'RUNNING', r.status, coalesce(r.failure_reason, 'collected'), r.finished_at IS NOT NULL)
        ) AS e (at, actor, from_status, to_status, reason, present)
        WHERE r.id BETWEEN ${from} AND ${to} AND e.present
        ORDER BY r.id, e.at`)

    const phase = (name: string, insert: (from: number, to: number) => Effect.Effect<unknown, unknown>) =>
      Effect.gen(function* () {
        const start = performance.now()
        // Two batches at a time: the machine has two cores and each batch is one backend's work.
        yield* Effect.forEach(batches(N), ([from, to]) => bulk(insert(from, to)), { concurrency: 2, discard: true })
        log(`  ${name} in ${seconds(start)}`)
      })

    yield* phase(`${N} runs`, insertRuns)
    yield* phase(`${N * P} products`, insertProducts)
    yield* phase("lineage of the SCIENCE products", insertLineage)
    yield* phase("run inputs", insertInputs)
    yield* phase("run events", insertEvents)
    yield* sql`SELECT setval('executed_reduction_step_id_seq', ${N})`
    yield* sql`SELECT setval('data_product_id_seq', ${N * P})`
    const vacuumStart = performance.now()
    yield* sql.unsafe("VACUUM ANALYZE")
    log(`  VACUUM ANALYZE in ${seconds(vacuumStart)}`)
    const seedSeconds = (performance.now() - started) / 1000
    yield* sql`UPDATE ${sql(seedTable)} SET finished = true, seed_seconds = ${seedSeconds}, seeded_at = now()`
    log(`seeded in ${seedSeconds.toFixed(1)} s`)
    return seedSeconds
  })
