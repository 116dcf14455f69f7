import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/*
 * Purging never breaks later work (src/runtime/execution/purge.ts, reason INPUT_PURGED in
 * src/runtime/gaps/evaluate-step.ts):
 *
 * - `rebuild_request`: a downstream sub-group that would create a run, but reads products whose
 *   files were purged, waits (WAITING_UPSTREAM) and asks for each upstream run whose products
 *   are gone to be rebuilt: one row per such run, whoever asks and however often. The upstream
 *   sub-group then gets a run with reason INPUT_PURGED and request tag `rebuild-<run id>` (the
 *   run identity of migration 3 stays unique: one rebuild per purged run, however many passes
 *   or instances ask). A run created for the sub-group, for whatever reason, answers every
 *   request of it: the row is deleted in the same statement. `xid` is the transaction that asked,
 *   so that the trigger loop's next pass sees the upstream sub-group as dirty (migration 5).
 * - `physical_copy_gone`: the product copies that are no longer PRESENT (purged), for the
 *   check "does any input of this sub-group have its files purged?" made for every sub-group
 *   about to get a run; few rows next to the present ones, and looked up by product.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE rebuild_request (
      run_id bigint PRIMARY KEY REFERENCES executed_reduction_step (id),
      step_id bigint NOT NULL,
      sub_group_key text NOT NULL,
      requested_at timestamptz NOT NULL,
      requested_by text NOT NULL,
      xid xid8 NOT NULL DEFAULT pg_current_xact_id()
    )`
  yield* sql`CREATE INDEX rebuild_request_sub_group ON rebuild_request (step_id, sub_group_key)`
  yield* sql`CREATE INDEX rebuild_request_xid ON rebuild_request (xid)`
  yield* sql`
    CREATE INDEX physical_copy_gone ON physical_copy (data_product_id)
      WHERE data_product_id IS NOT NULL AND status <> 'PRESENT'`
})
