import { SqlClient, type SqlError } from "@effect/sql"
import { Effect } from "effect"
import { UnknownRun } from "./errors.ts"
import { toDate } from "./format.ts"
import { runColumns, runEvents, runJoins, toRunSummary, type RunEvent, type RunRowDb, type RunSummary } from "./run-row.ts"

/*
 * Everything about one run an operator looks at on its page: the run, its status history, what
 * it read, what it made, what its job cost, and where the job ran. Four statements whatever the
 * run's size (the run with its job and location, its events, its inputs, its products); none per
 * input or product.
 */

/** What the run read: a raw package, or a product of an upstream run; `checksum` as the run saw it. */
export type RunInput =
  | { readonly kind: "package"; readonly id: string; readonly name: string; readonly checksum: string | null }
  | {
      readonly kind: "product"
      readonly id: number
      readonly relativePath: string
      readonly type: string
      readonly runId: number
      readonly checksum: string | null
    }

export interface RunProduct {
  readonly id: number
  readonly type: string
  /** Relative to the run's folder. */
  readonly relativePath: string
  readonly sizeBytes: number
  readonly checksum: string
  readonly createdAt: Date
}

/** The last attempt's figures, as the collect loop recorded them; null until it did. */
export interface RunMetrics {
  readonly exitCode: number | null
  readonly wallSeconds: number | null
  readonly cpuHours: number | null
  readonly peakMemoryBytes: number | null
  readonly submittedAt: Date | null
}

export interface RunJob {
  /** The backend the last attempt went to (`local`, `slurm`); null before one was chosen. */
  readonly backend: string | null
  readonly name: string | null
  /** The backend's id of the job, once the submission was recorded. */
  readonly id: string | null
  /** The location the run's pipeline processes at. */
  readonly location: string
}

export interface RunDetail {
  readonly run: RunSummary
  /** The status history, oldest first. */
  readonly events: ReadonlyArray<RunEvent>
  /** Raw packages first (by name), then upstream products (by id). */
  readonly inputs: ReadonlyArray<RunInput>
  /** By id. */
  readonly products: ReadonlyArray<RunProduct>
  readonly metrics: RunMetrics
  readonly job: RunJob
  readonly image: string
  /** The step's config, frozen when the run was created. */
  readonly config: unknown
  /** Attempts begun (0 for a run never staged). */
  readonly attempts: number
}

/** The columns the run page shows beside RunRowDb's. */
interface DetailRowDb {
  readonly image: string
  readonly config: unknown
  readonly backend: string | null
  readonly location: string
  readonly exit_code: number | null
  readonly wall_seconds: number | null
  readonly cpu_hours: number | null
  readonly peak_memory_bytes: string | number | null
  readonly submitted_at: Date | string | null
}

interface InputRowDb {
  readonly package_id: string | null
  readonly package_name: string | null
  readonly product_id: string | null
  readonly relative_path: string | null
  readonly product_type: string | null
  readonly product_run_id: string | null
  readonly checksum: string | null
}

interface ProductRowDb {
  readonly id: string
  readonly product_type: string
  readonly relative_path: string
  readonly size_bytes: string | number
  readonly checksum: string
  readonly created_at: Date | string
}

const numberOrNull = (n: string | number | null): number | null => (n === null ? null : Number(n))

const toInput = (i: InputRowDb): RunInput =>
  i.package_id !== null
    ? { kind: "package", id: i.package_id, name: i.package_name ?? "", checksum: i.checksum }
    : {
        kind: "product",
        id: Number(i.product_id),
        relativePath: i.relative_path ?? "",
        type: i.product_type ?? "",
        runId: Number(i.product_run_id),
        checksum: i.checksum
      }

export const runDetail = (runId: number): Effect.Effect<RunDetail, UnknownRun | SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<RunRowDb & DetailRowDb>`
      SELECT ${runColumns(sql)}, r.image, r.config, r.backend, l.name AS location, r.exit_code,
        r.wall_seconds, r.cpu_hours, r.peak_memory_bytes, r.submitted_at
      FROM ${runJoins(sql)} JOIN location l ON l.id = p.location_id
      WHERE r.id = ${runId}`
    if (row === undefined) return yield* new UnknownRun({ runId })
    const run = toRunSummary(row)
    const events = yield* runEvents(runId)
    const inputs = yield* sql<InputRowDb>`
      SELECT i.raw_data_package_id AS package_id, k.name AS package_name, i.data_product_id AS product_id, d.relative_path,
        d.product_type, d.run_id AS product_run_id, i.checksum
      FROM run_input i LEFT JOIN raw_data_package k ON k.id = i.raw_data_package_id LEFT JOIN data_product d ON d.id = i.data_product_id
      WHERE i.run_id = ${runId}
      ORDER BY i.raw_data_package_id IS NULL, k.name, i.data_product_id`
    const products = yield* sql<ProductRowDb>`
      SELECT id, product_type, relative_path, size_bytes, checksum, created_at FROM data_product WHERE run_id = ${runId} ORDER BY id`
    return {
      run,
      events,
      inputs: inputs.map(toInput),
      products: products.map((p) => ({
        id: Number(p.id),
        type: p.product_type,
        relativePath: p.relative_path,
        sizeBytes: Number(p.size_bytes),
        checksum: p.checksum,
        createdAt: toDate(p.created_at)!
      })),
      metrics: {
        exitCode: row.exit_code,
        wallSeconds: row.wall_seconds,
        cpuHours: row.cpu_hours,
        peakMemoryBytes: numberOrNull(row.peak_memory_bytes),
        submittedAt: toDate(row.submitted_at)
      },
      job: { backend: row.backend, name: run.jobName, id: run.backendJobId, location: row.location },
      image: row.image,
      config: row.config,
      attempts: row.attempt
    }
  })
