import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * The raw packages the SCIENCE products of a step's runs derive from, found by walking the
 * recorded lineage (product → parent products → raw packages), sorted. Independent of
 * run_coverage, which the trigger writes: the two must agree.
 */
export const rawPackagesBehind = (step: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<{ packages: ReadonlyArray<string> | null }>`
      WITH RECURSIVE up(product_id) AS (
        SELECT p.id FROM data_product p JOIN executed_reduction_step r ON r.id = p.run_id JOIN reduction_step s ON s.id = r.step_id
        WHERE s.name = ${step} AND p.product_type = 'SCIENCE'
        UNION
        SELECT l.parent_product_id FROM data_product_lineage l JOIN up ON l.product_id = up.product_id WHERE l.parent_product_id IS NOT NULL
      )
      SELECT array_agg(DISTINCT l.raw_data_package_id::text ORDER BY l.raw_data_package_id::text) AS packages
      FROM data_product_lineage l JOIN up ON l.product_id = up.product_id WHERE l.raw_data_package_id IS NOT NULL`
    return row?.packages ?? []
  })
