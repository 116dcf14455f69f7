import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/*
 * A product's provenance and its copies are recorded once (the replicas issue: two serves on one
 * database collected the same run at once, and each wrote its lineage edges and physical copies):
 *
 * - `data_product_lineage_edge`: one row per edge (product, parent product or raw package). The
 *   parent columns are nullable (an edge has exactly one of them), so the index treats NULLs as
 *   equal (NULLS NOT DISTINCT, PostgreSQL 15 and PGlite). It leads with `product_id`, so the
 *   plain index on that column (migration 2) is dropped.
 * - `physical_copy_product_location`: one live copy (any status but DELETED) of a product per
 *   data location, as the collect loop always meant to write. Purged copies (DELETED) stay as
 *   history and are not held to it; raw package and file copies neither.
 *
 * Databases written before this may hold duplicates; they are removed first, keeping one row each:
 * - lineage: the rows of an edge are identical, so any one is kept (the first in the table);
 * - copies: the rows describe the same file; the one a purge has already begun on
 *   (DELETION_IN_PROGRESS and the like) is kept over a PRESENT twin, since its file may be gone
 *   (an unfinished purge finishes it at its next cycle), then the oldest.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    DELETE FROM data_product_lineage a USING data_product_lineage b
    WHERE a.product_id = b.product_id
      AND a.parent_product_id IS NOT DISTINCT FROM b.parent_product_id
      AND a.raw_data_package_id IS NOT DISTINCT FROM b.raw_data_package_id
      AND a.ctid > b.ctid`
  yield* sql`
    CREATE UNIQUE INDEX data_product_lineage_edge ON data_product_lineage (product_id, parent_product_id, raw_data_package_id) NULLS NOT DISTINCT`
  yield* sql`DROP INDEX lineage_product`
  yield* sql`
    DELETE FROM physical_copy WHERE id IN (
      SELECT id FROM (
        SELECT id, row_number() OVER (PARTITION BY data_product_id, data_location_id ORDER BY status = 'PRESENT', id) AS n
        FROM physical_copy WHERE data_product_id IS NOT NULL AND status <> 'DELETED'
      ) ranked
      WHERE n > 1)`
  yield* sql`
    CREATE UNIQUE INDEX physical_copy_product_location ON physical_copy (data_product_id, data_location_id)
      WHERE data_product_id IS NOT NULL AND status <> 'DELETED'`
})
