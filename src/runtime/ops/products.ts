import { SqlClient, type SqlError } from "@effect/sql"
import { Effect } from "effect"
import { UnknownProduct } from "./errors.ts"
import { toDate } from "./format.ts"

/*
 * Data products as the API and the dashboard list them: newest first, by run, type, pipeline or
 * step, paged by id (`before`: the products with smaller ids; `nextCursor` is the `before` of
 * the next page). Paging by id rather than by offset keeps every page an index range scan, and a
 * page stays the same while new products are written ahead of it.
 *
 * A pipeline or step filter is resolved to step ids first (a small table), then each step is
 * walked on the product's own `step_id` (migration 14: (step_id, id), (step_id, product_type, id))
 * newest first, a page at most per step, and the walks are merged: `step_id IN (…)` would have
 * the planner walk every product of the other steps too, or sort all of a pipeline's products.
 * The run, step and pipeline are joined only to the page's products.
 */

export interface ProductFilter {
  readonly runId: number | null
  readonly type: string | null
  readonly pipeline: string | null
  readonly step: string | null
  /** Only products with an id below this one: the `nextCursor` of the page before. */
  readonly before: number | null
  /** At most this many products; the caller bounds it. */
  readonly limit: number
}

export interface ProductSummary {
  readonly id: number
  readonly runId: number
  readonly pipeline: string
  readonly step: string
  readonly subGroupKey: string
  readonly type: string
  /** Relative to the run's folder. */
  readonly relativePath: string
  readonly sizeBytes: number
  readonly checksum: string
  readonly createdAt: Date
}

export interface ProductCopy {
  /** The data location's name, `processing:<location>` for the copies the collect loop records. */
  readonly location: string
  /** Relative to the data location's folder. */
  readonly path: string
  readonly status: string
}

export interface ProductDetail extends ProductSummary {
  readonly quality: unknown
  readonly copies: ReadonlyArray<ProductCopy>
  /** The software version of the run that made it. */
  readonly softwareVersion: string
}

export interface ProductPage {
  readonly products: ReadonlyArray<ProductSummary>
  /** The `before` of the next page; null on the last one. */
  readonly nextCursor: number | null
}

interface ProductRowDb {
  readonly id: string
  readonly run_id: string
  readonly pipeline: string
  readonly step: string
  readonly sub_group_key: string
  readonly product_type: string
  readonly relative_path: string
  readonly size_bytes: string | number
  readonly checksum: string
  readonly created_at: Date | string
}

const productColumns = (sql: SqlClient.SqlClient) =>
  sql.literal(`p.id, p.run_id, pl.name AS pipeline, s.name AS step, r.sub_group_key, p.product_type, p.relative_path,
    p.size_bytes, p.checksum, p.created_at`)

const productJoins = (sql: SqlClient.SqlClient) =>
  sql.literal(`data_product p JOIN executed_reduction_step r ON r.id = p.run_id
    JOIN reduction_step s ON s.id = r.step_id JOIN pipeline pl ON pl.id = s.pipeline_id`)

const toSummary = (row: ProductRowDb): ProductSummary => ({
  id: Number(row.id),
  runId: Number(row.run_id),
  pipeline: row.pipeline,
  step: row.step,
  subGroupKey: row.sub_group_key,
  type: row.product_type,
  relativePath: row.relative_path,
  sizeBytes: Number(row.size_bytes),
  checksum: row.checksum,
  createdAt: toDate(row.created_at)!
})

/** The ids of the steps a pipeline and/or step name names (retired ones too: their products are kept). */
const stepIds = (sql: SqlClient.SqlClient, pipeline: string | null, step: string | null) =>
  Effect.map(
    sql<{ id: string }>`
      SELECT s.id FROM reduction_step s JOIN pipeline pl ON pl.id = s.pipeline_id
      WHERE ${pipeline === null ? sql`TRUE` : sql`pl.name = ${pipeline}`} AND ${step === null ? sql`TRUE` : sql`s.name = ${step}`}`,
    (rows) => rows.map((r) => Number(r.id))
  )

/** One page of products, newest first. A pipeline or step that names nothing matches nothing. */
export const listProducts = (filter: ProductFilter): Effect.Effect<ProductPage, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    if (filter.limit <= 0) return { products: [], nextCursor: null }
    const steps = filter.pipeline === null && filter.step === null ? null : yield* stepIds(sql, filter.pipeline, filter.step)
    if (steps !== null && steps.length === 0) return { products: [], nextCursor: null }
    const conditions = [
      ...(filter.runId === null ? [] : [sql`p.run_id = ${filter.runId}`]),
      ...(filter.type === null ? [] : [sql`p.product_type = ${filter.type}`]),
      ...(filter.before === null ? [] : [sql`p.id < ${filter.before}`])
    ]
    // One more than asked: whether it comes back says whether there is a next page.
    const wanted = filter.limit + 1
    const rows =
      steps === null
        ? yield* sql<ProductRowDb>`
            SELECT ${productColumns(sql)} FROM ${productJoins(sql)}
            WHERE ${conditions.length === 0 ? sql`TRUE` : sql.and(conditions)}
            ORDER BY p.id DESC
            LIMIT ${wanted}`
        : yield* sql<ProductRowDb>`
            SELECT ${productColumns(sql)}
            FROM (
              SELECT page.id FROM reduction_step st CROSS JOIN LATERAL (
                SELECT p.id FROM data_product p WHERE ${sql.and([sql`p.step_id = st.id`, ...conditions])}
                ORDER BY p.id DESC LIMIT ${wanted}
              ) page
              WHERE st.id IN ${sql.in(steps)}
              ORDER BY page.id DESC LIMIT ${wanted}
            ) picked
            JOIN (${productJoins(sql)}) ON p.id = picked.id
            ORDER BY p.id DESC`
    const page = rows.slice(0, filter.limit).map(toSummary)
    return { products: page, nextCursor: rows.length > filter.limit ? page[page.length - 1]!.id : null }
  })

/** One product with its quality, its physical copies (every status, oldest first) and its run's software version. */
export const findProduct = (id: number): Effect.Effect<ProductDetail, UnknownProduct | SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<ProductRowDb & { readonly quality: unknown; readonly software_version: string }>`
      SELECT ${productColumns(sql)}, p.quality, r.software_version FROM ${productJoins(sql)} WHERE p.id = ${id}`
    if (row === undefined) return yield* new UnknownProduct({ what: String(id) })
    const copies = yield* sql<ProductCopy>`
      SELECT l.name AS location, c.path, c.status
      FROM physical_copy c JOIN data_location l ON l.id = c.data_location_id
      WHERE c.data_product_id = ${id}
      ORDER BY c.id`
    return {
      ...toSummary(row),
      quality: row.quality,
      copies: copies.map((c) => ({ location: c.location, path: c.path, status: c.status })),
      softwareVersion: row.software_version
    }
  })
