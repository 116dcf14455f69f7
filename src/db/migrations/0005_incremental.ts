import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/*
 * What the trigger loop needs to evaluate only the sub-groups that can have changed
 * (src/runtime/gaps/dirty-sub-groups.ts):
 *
 * - `change_xid` on raw packages and `xid` on run events: the transaction that wrote the row.
 *   A pass remembers the snapshot it started from (`pg_current_snapshot()`); the rows changed
 *   since are exactly those whose transaction that snapshot did not see. A sequence number
 *   cannot say this: a transaction that took number 100 may commit after another one that took
 *   101 was already seen, and a watermark on 101 would miss it for good.
 * - `trigger_step_state.snapshot` replaces the counters of migration 4, and `full_at` says when
 *   the step was last evaluated in full (the periodic reconciliation).
 * - `trigger_sub_group_state`: the last decision per sub-group, so that a pass over a few
 *   sub-groups can still report the step's counts exactly (old reasons out, new ones in).
 *
 * Both state tables are caches: emptying them only makes the next pass evaluate in full.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE raw_data_package ADD COLUMN change_xid xid8 NOT NULL DEFAULT pg_current_xact_id()`
  yield* sql`CREATE INDEX raw_data_package_change_xid ON raw_data_package (change_xid)`
  yield* sql.unsafe(`
    CREATE OR REPLACE FUNCTION ccat_touch_raw_data_package() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.change_seq := nextval('raw_data_package_change_seq');
      NEW.change_xid := pg_current_xact_id();
      RETURN NEW;
    END $$`)
  yield* sql`ALTER TABLE run_event ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id()`
  yield* sql`CREATE INDEX run_event_xid ON run_event (xid)`

  yield* sql`TRUNCATE trigger_step_state`
  yield* sql`ALTER TABLE trigger_step_state DROP COLUMN change_seq, DROP COLUMN event_id`
  yield* sql`ALTER TABLE trigger_step_state ADD COLUMN snapshot text NOT NULL, ADD COLUMN full_at timestamptz NOT NULL`
  yield* sql`
    CREATE TABLE trigger_sub_group_state (
      -- No foreign key: checking one per row doubled the cost of remembering a full pass, and a
      -- row of a step that no longer exists is never read.
      step_id bigint NOT NULL,
      sub_group_key text NOT NULL,
      reason text NOT NULL,
      PRIMARY KEY (step_id, sub_group_key)
    )`
})
