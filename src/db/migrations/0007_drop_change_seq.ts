import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/*
 * `raw_data_package.change_seq`, its index and its sequence: the counter the trigger loop read
 * before it remembered snapshots (migration 5: a counter cannot tell a transaction that commits
 * late). Nothing has read it since, yet every insert and update of a package still drew a
 * number and indexed it.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe(`
    CREATE OR REPLACE FUNCTION ccat_touch_raw_data_package() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.change_xid := pg_current_xact_id();
      NEW.created_xid := OLD.created_xid;
      RETURN NEW;
    END $$`)
  yield* sql`ALTER TABLE raw_data_package DROP COLUMN change_seq`
  yield* sql`DROP SEQUENCE raw_data_package_change_seq`
})
