import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/*
 * `created_xid` on raw packages: the transaction that inserted the row, kept when it is updated
 * (`change_xid` moves with every update). It lets the trigger loop tell a package that is new
 * since a pass's snapshot from one that was changed: a run can cover a package only if the
 * transaction that created the run saw it, and for a package new since the snapshot that
 * transaction is new too, so its run event already marks the run's sub-group. Only changed
 * packages that existed before can sit in an older run's coverage (dirty-sub-groups.ts), and
 * the lookup of those, a random index probe per package, is skipped for the new ones.
 *
 * Rows inserted before this migration keep NULL: they existed before any snapshot a pass can
 * remember from now on. No default in ADD COLUMN, so the table is not rewritten.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE raw_data_package ADD COLUMN created_xid xid8`
  yield* sql`ALTER TABLE raw_data_package ALTER COLUMN created_xid SET DEFAULT pg_current_xact_id()`
  yield* sql.unsafe(`
    CREATE OR REPLACE FUNCTION ccat_touch_raw_data_package() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.change_seq := nextval('raw_data_package_change_seq');
      NEW.change_xid := pg_current_xact_id();
      NEW.created_xid := OLD.created_xid;
      RETURN NEW;
    END $$`)
})
