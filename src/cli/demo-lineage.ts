import { SqlClient, type SqlError } from "@effect/sql"
import { Effect } from "effect"
import { join } from "node:path"
import type { UnknownProduct } from "../runtime/ops/errors.ts"
import { lineageGraph, renderLineageTree } from "../runtime/ops/lineage.ts"

/** The lineage tree of a science product of the step's completed run with the fewest inputs (short enough to read), and that run's plot (for `ccat demo`). */
export const lineageLines = (
  pipeline: string,
  step: string
): Effect.Effect<{ readonly tree: string; readonly plot: string | null } | null, SqlError.SqlError | UnknownProduct, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [science] = yield* sql<{ id: string; run_id: string; run_dir: string }>`
      SELECT d.id, r.id AS run_id, r.run_dir FROM data_product d
      JOIN executed_reduction_step r ON r.id = d.run_id JOIN reduction_step s ON s.id = r.step_id JOIN pipeline p ON p.id = s.pipeline_id
      WHERE p.name = ${pipeline} AND s.name = ${step} AND r.status = 'COMPLETED' AND d.product_type = 'SCIENCE'
      ORDER BY (SELECT count(*) FROM run_input i WHERE i.run_id = r.id), r.id, d.relative_path LIMIT 1`
    if (science === undefined) return null
    const [plot] = yield* sql<{ relative_path: string }>`
      SELECT relative_path FROM data_product WHERE run_id = ${science.run_id} AND product_type = 'PLOT' ORDER BY relative_path LIMIT 1`
    const tree = renderLineageTree(yield* lineageGraph(Number(science.id)))
    return { tree, plot: plot === undefined ? null : join(science.run_dir, plot.relative_path) }
  })
