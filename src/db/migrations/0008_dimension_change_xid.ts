import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/*
 * `change_xid` on every table a selection or a `group_by` can read besides the packages
 * (the schema registry's join tree: scans, obs units, sources, programs, modules, instruments,
 * telescopes, observatories): the transaction that last updated the row, as on
 * raw_data_package (migration 5). A source renamed, an obs unit moved to another line or a
 * scan's metadata corrected changes the sub-groups or the selection of the packages below the
 * row without touching a package; the trigger loop now sees it in its next pass
 * (dirty-sub-groups.ts) instead of leaving it to the periodic full evaluation.
 *
 * Only updates set it. A row inserted has no packages below it yet (they reference it), and
 * packages inserted later are new packages, which the loop sees anyway: were inserts marked, each
 * new scan would look like a scan moved to another obs unit. Rows written before this migration
 * keep NULL too: no snapshot a pass can remember from now on missed them. No default, so no
 * table is rewritten. An UPDATE that changes nothing moves nothing.
 *
 * And `moved_xid` on raw packages: the transaction that last moved the package to another scan
 * or module (its foreign keys; `change_xid` moves with any update, such as a state change). Such
 * a move changes the package's sub-group under most `group_by`s, like a source renamed above it.
 */
const dimensionTables = [
  "executed_obs_unit",
  "obs_unit",
  "source",
  "observing_program",
  "instrument_module",
  "instrument",
  "telescope",
  "observatory"
] as const

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe(`
    CREATE OR REPLACE FUNCTION ccat_touch_change_xid() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.change_xid := pg_current_xact_id();
      RETURN NEW;
    END $$`)
  for (const table of dimensionTables) {
    yield* sql.unsafe(`
      ALTER TABLE ${table} ADD COLUMN change_xid xid8;
      CREATE INDEX ${table}_change_xid ON ${table} (change_xid);
      CREATE TRIGGER ${table}_touch BEFORE UPDATE ON ${table}
        FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION ccat_touch_change_xid()`)
  }
  yield* sql.unsafe(`
    ALTER TABLE raw_data_package ADD COLUMN moved_xid xid8;
    CREATE INDEX raw_data_package_moved_xid ON raw_data_package (moved_xid) WHERE moved_xid IS NOT NULL;
    CREATE OR REPLACE FUNCTION ccat_touch_raw_data_package() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.change_xid := pg_current_xact_id();
      NEW.created_xid := OLD.created_xid;
      IF NEW.executed_obs_unit_id IS DISTINCT FROM OLD.executed_obs_unit_id
         OR NEW.instrument_module_id IS DISTINCT FROM OLD.instrument_module_id THEN
        NEW.moved_xid := pg_current_xact_id();
      END IF;
      RETURN NEW;
    END $$`)
})
