import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/*
 * Every list of the HTTP API is an index walk that stops after a page (issue 21: p95 under 50 ms
 * at 1M runs and 10M products; bench/api.ts measures it). A list is newest first and paged by id,
 * so each filter needs an index that ends in id: the walk goes backwards from the cursor and
 * stops after `limit + 1` rows, however many rows match further back.
 *
 * Runs (src/runtime/ops/list-runs.ts):
 * - `run_status_id (status, id)`: `?status=`. Replaces `run_status (status)`, which it covers.
 *   The partial `run_active (status, id)` of migration 4 stays: the loops claim from it, and it
 *   holds only the runs in flight.
 * - `run_step_id (step_id, id)`: `?pipeline=`, `?step=` (one walk per step, merged).
 * - `run_step_status_id (step_id, status, id)`: a step or pipeline with `?status=`.
 * - `run_sub_group_id (sub_group_key, id)`: `?subGroup=` without a step (with one,
 *   `run_step_sub_group (step_id, sub_group_key, id)` of migration 3 serves).
 * - `run_reason_id (reason, id)`: `?reason=`.
 * - `run_created_at (created_at)`: `?since=`/`?until=` windows far in the past, where walking
 *   ids back from the newest would pass every newer run first.
 *
 * Products (src/runtime/ops/products.ts):
 * - `step_id`: the step of the run that made the product. A step filter on the run's column had
 *   to join every product to its run, and walk products newest first until enough belonged to
 *   the step (1.5 s at 10M products for a step with few); on the product it is one index walk
 *   (0.4 ms). It is the run's and never changes, so a trigger sets it on insert from the run:
 *   no writer names it (the collect loop, the tests' helpers), and none can get it wrong.
 * - `data_product_step_id (step_id, id)`, `data_product_step_type_id (step_id, product_type, id)`
 *   and `data_product_type_id (product_type, id)`: `?step=`/`?pipeline=`, with `?type=`, and
 *   `?type=` alone. `?run=` has `data_product_run (run_id)`: a run has a handful of products.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE INDEX run_status_id ON executed_reduction_step (status, id)`
  yield* sql`DROP INDEX run_status`
  yield* sql`CREATE INDEX run_step_id ON executed_reduction_step (step_id, id)`
  yield* sql`CREATE INDEX run_step_status_id ON executed_reduction_step (step_id, status, id)`
  yield* sql`CREATE INDEX run_sub_group_id ON executed_reduction_step (sub_group_key, id)`
  yield* sql`CREATE INDEX run_reason_id ON executed_reduction_step (reason, id)`
  yield* sql`CREATE INDEX run_created_at ON executed_reduction_step (created_at)`

  yield* sql`ALTER TABLE data_product ADD COLUMN step_id bigint`
  yield* sql`UPDATE data_product p SET step_id = r.step_id FROM executed_reduction_step r WHERE r.id = p.run_id`
  yield* sql`ALTER TABLE data_product ALTER COLUMN step_id SET NOT NULL`
  yield* sql.unsafe(`
    CREATE FUNCTION ccat_product_step() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      SELECT step_id INTO NEW.step_id FROM executed_reduction_step WHERE id = NEW.run_id;
      RETURN NEW;
    END $$`)
  yield* sql`
    CREATE TRIGGER data_product_step BEFORE INSERT OR UPDATE OF run_id ON data_product
      FOR EACH ROW EXECUTE FUNCTION ccat_product_step()`
  yield* sql`CREATE INDEX data_product_step_id ON data_product (step_id, id)`
  yield* sql`CREATE INDEX data_product_step_type_id ON data_product (step_id, product_type, id)`
  yield* sql`CREATE INDEX data_product_type_id ON data_product (product_type, id)`
})
