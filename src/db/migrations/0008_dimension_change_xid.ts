import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/*
 * What the trigger loop needs to see corrections above the packages in its next pass
 * (src/runtime/gaps/dirty-sub-groups.ts) instead of leaving them to the periodic full evaluation:
 *
 * - `change_xid` on every table a selection or a `group_by` can read besides the packages (the
 *   schema registry's join tree): the transaction that last updated the row, as on
 *   raw_data_package (migration 5). A module renamed or a scan's metadata corrected can move the
 *   packages below the row in or out of a selection without touching one.
 * - `moved_xid` on those tables and on raw_data_package: the transaction that last changed a
 *   column a sub-group key is read through, its links up the tree or a dimension's key column
 *   (a source renamed, an obs unit moved to another line, a package moved to another scan).
 *   Packages can then change sub-group, and the sub-group they left cannot be found from the
 *   packages. Kept apart from `change_xid` because other updates are routine (a scan's status
 *   and end time): those must not cost a whole step's evaluation.
 *
 * Only updates set them. A row inserted has no packages below it yet (they reference it), and
 * packages inserted later are new packages, which the loop sees anyway: were inserts marked, each
 * new scan would look like a correction. Rows written before this migration keep NULL: no
 * snapshot a pass can remember from now on missed them. No defaults, so no table is rewritten.
 * An UPDATE that changes nothing moves nothing.
 */

/** Each table above the packages with the columns keys are read through: links to its parent, and dimension keys. */
const keyColumns: ReadonlyArray<readonly [table: string, columns: ReadonlyArray<string>]> = [
  ["executed_obs_unit", ["obs_unit_id", "start_time"]],
  ["obs_unit", ["source_id", "observing_program_id", "line_id"]],
  ["source", ["name"]],
  ["observing_program", ["short_name"]],
  ["instrument_module", ["instrument_id", "name"]],
  ["instrument", ["telescope_id", "name"]],
  ["telescope", ["observatory_id"]],
  ["observatory", []]
]

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  // The key columns come as trigger arguments, so one function serves every table.
  yield* sql.unsafe(`
    CREATE OR REPLACE FUNCTION ccat_touch_change_xid() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      before jsonb := to_jsonb(OLD);
      after jsonb := to_jsonb(NEW);
    BEGIN
      NEW.change_xid := pg_current_xact_id();
      FOR i IN 0 .. TG_NARGS - 1 LOOP
        IF after -> TG_ARGV[i] IS DISTINCT FROM before -> TG_ARGV[i] THEN
          NEW.moved_xid := pg_current_xact_id();
          EXIT;
        END IF;
      END LOOP;
      RETURN NEW;
    END $$`)
  for (const [table, columns] of keyColumns) {
    const args = columns.map((c) => `'${c}'`).join(", ")
    yield* sql.unsafe(`
      ALTER TABLE ${table} ADD COLUMN change_xid xid8, ADD COLUMN moved_xid xid8;
      CREATE INDEX ${table}_change_xid ON ${table} (change_xid);
      CREATE INDEX ${table}_moved_xid ON ${table} (moved_xid) WHERE moved_xid IS NOT NULL;
      CREATE TRIGGER ${table}_touch BEFORE UPDATE ON ${table}
        FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION ccat_touch_change_xid(${args})`)
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
