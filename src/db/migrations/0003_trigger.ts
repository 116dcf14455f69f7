import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/*
 * What the trigger side of the reconciler (docs/design/runtime.md §2; tables: docs/design/domain.md §4.5) needs beyond the pipeline tables:
 *
 * - `run_coverage`: every raw package a run's inputs derive from, transitively, written with the
 *   run. Downstream steps re-partition upstream products by it, and readiness ("no upstream run
 *   covering this sub-group's packages is in flight") is one indexed join on it.
 * - `request_tag` joins the run identity: '' for runs the trigger opened by itself,
 *   `request-<id>` for runs a manual request forced (`ccat run --force`, or re-opening a run
 *   that failed for good). So a request creates at most one run per sub-group, however many
 *   passes or instances honour it, and automatic runs stay unique per input identity.
 * - `run_one_in_flight`: at most one run of a (step, sub-group) is in flight, enforced by the
 *   database, so two trigger instances racing on different input identities cannot both win.
 * - `ccat_sub_group_key(values)`: the sub-group key in SQL, the same function as subGroupKey in
 *   src/runtime/selection/sub-group-key.ts (a test holds the two together), so partitioning and
 *   the anti-join against existing runs stay in the database.
 * - `change_seq` on raw packages, and NOTIFY on new data, new requests, new and finished runs:
 *   loops wake up early, but a pass never depends on a notification arriving.
 * - Cron ticks are trigger requests with their tick time: one per (pipeline, tick), so a missed
 *   tick is caught up once and never replayed.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE run_coverage (
      run_id bigint NOT NULL REFERENCES executed_reduction_step (id),
      raw_data_package_id uuid NOT NULL REFERENCES raw_data_package (id),
      PRIMARY KEY (run_id, raw_data_package_id)
    )`
  yield* sql`CREATE INDEX run_coverage_package ON run_coverage (raw_data_package_id)`

  yield* sql`ALTER TABLE executed_reduction_step ADD COLUMN request_tag text NOT NULL DEFAULT ''`
  // The old three-column constraint has a generated (and truncated) name: look it up.
  yield* sql.unsafe(`
    DO $$
    DECLARE c text;
    BEGIN
      SELECT conname INTO c FROM pg_constraint
        WHERE conrelid = 'executed_reduction_step'::regclass AND contype = 'u';
      EXECUTE format('ALTER TABLE executed_reduction_step DROP CONSTRAINT %I', c);
    END $$`)
  yield* sql`
    ALTER TABLE executed_reduction_step ADD CONSTRAINT run_identity
      UNIQUE (step_id, sub_group_key, input_identity, request_tag)`
  yield* sql`
    CREATE UNIQUE INDEX run_one_in_flight ON executed_reduction_step (step_id, sub_group_key)
      WHERE status IN ('PENDING', 'STAGING_DATA', 'SUBMITTED', 'RUNNING', 'COLLECTING_RESULTS')`
  yield* sql`DROP INDEX run_step_sub_group`
  yield* sql`CREATE INDEX run_step_sub_group ON executed_reduction_step (step_id, sub_group_key, id)`

  yield* sql`ALTER TABLE trigger_request ADD COLUMN kind text NOT NULL DEFAULT 'manual' CHECK (kind IN ('manual', 'cron'))`
  yield* sql`ALTER TABLE trigger_request ADD COLUMN tick_at timestamptz`
  yield* sql`ALTER TABLE trigger_request ADD CONSTRAINT trigger_request_tick UNIQUE (pipeline_id, tick_at)`
  yield* sql`CREATE INDEX trigger_request_open ON trigger_request (pipeline_id, id) WHERE consumed_at IS NULL`

  yield* sql`CREATE SEQUENCE raw_data_package_change_seq`
  yield* sql`ALTER TABLE raw_data_package ADD COLUMN change_seq bigint NOT NULL DEFAULT nextval('raw_data_package_change_seq')`
  yield* sql`CREATE INDEX raw_data_package_change ON raw_data_package (change_seq)`
  yield* sql.unsafe(`
    CREATE FUNCTION ccat_touch_raw_data_package() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.change_seq := nextval('raw_data_package_change_seq');
      RETURN NEW;
    END $$`)
  yield* sql`
    CREATE TRIGGER raw_data_package_touch BEFORE UPDATE ON raw_data_package
      FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION ccat_touch_raw_data_package()`
  // Statement-level triggers with transition tables: one NOTIFY per statement, and none for a
  // statement that changed nothing (an `INSERT ... ON CONFLICT DO NOTHING` that lost every
  // race must not wake the loops, or a pass would wake the next one forever).
  yield* sql.unsafe(`
    CREATE FUNCTION ccat_notify_new_data() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM new_rows) THEN
        PERFORM pg_notify('ccat_new_data', TG_TABLE_NAME);
      END IF;
      RETURN NULL;
    END $$`)
  for (const [table, event] of [
    ["raw_data_package", "INSERT"],
    ["raw_data_package", "UPDATE"],
    ["trigger_request", "INSERT"]
  ] as const) {
    yield* sql.unsafe(`
      CREATE TRIGGER ${table}_notify_${event.toLowerCase()} AFTER ${event} ON ${table}
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ccat_notify_new_data()`)
  }
  // New runs wake the submit loop; runs that reached an end wake the trigger (a downstream
  // step may be ready now).
  yield* sql.unsafe(`
    CREATE FUNCTION ccat_notify_runs_created() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM new_rows) THEN
        PERFORM pg_notify('ccat_runs_created', '');
      END IF;
      RETURN NULL;
    END $$`)
  yield* sql.unsafe(`
    CREATE TRIGGER run_notify_insert AFTER INSERT ON executed_reduction_step
      REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ccat_notify_runs_created()`)
  yield* sql.unsafe(`
    CREATE FUNCTION ccat_notify_runs_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM new_rows n JOIN old_rows o ON o.id = n.id
                 WHERE o.status IS DISTINCT FROM n.status AND n.status IN ('COMPLETED', 'FAILED', 'CANCELLED')) THEN
        PERFORM pg_notify('ccat_runs_finished', '');
      END IF;
      IF EXISTS (SELECT 1 FROM new_rows n JOIN old_rows o ON o.id = n.id
                 WHERE o.status IS DISTINCT FROM n.status AND n.status = 'PENDING') THEN
        PERFORM pg_notify('ccat_runs_created', '');
      END IF;
      RETURN NULL;
    END $$`)
  yield* sql.unsafe(`
    CREATE TRIGGER run_notify_update AFTER UPDATE ON executed_reduction_step
      REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ccat_notify_runs_changed()`)

  // The slow path of the key: escaping and shortening. Callers test the common case (plain
  // values, short keys) inline in SQL and call this only for the rest.
  yield* sql.unsafe(`
    CREATE FUNCTION ccat_sub_group_key(vals text[]) RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
    DECLARE
      tokens text[] := ARRAY[]::text[];
      v text;
      ch text;
      n integer;
      i integer;
      b bytea;
      j integer;
      lone boolean;
      k text;
      kept text := '';
      t text;
    BEGIN
      IF vals IS NULL OR cardinality(vals) = 0 THEN
        RETURN 'all';
      END IF;
      FOR n IN 1 .. cardinality(vals) LOOP
        IF n > 1 THEN
          tokens := tokens || '__'::text;
        END IF;
        v := vals[n];
        IF v IS NULL THEN
          tokens := tokens || '~null'::text;
        ELSIF v = '' THEN
          tokens := tokens || '~empty'::text;
        ELSE
          FOR i IN 1 .. length(v) LOOP
            ch := substr(v, i, 1);
            IF ch ~ '^[A-Za-z0-9-]$' THEN
              tokens := tokens || ch;
            ELSIF ch = '.' THEN
              tokens := tokens || (CASE WHEN i = 1 THEN '~2E' ELSE '.' END);
            ELSE
              lone := ch = '_' AND i > 1 AND i < length(v) AND substr(v, i - 1, 1) <> '_' AND substr(v, i + 1, 1) <> '_';
              IF lone THEN
                tokens := tokens || '_'::text;
              ELSE
                b := convert_to(ch, 'UTF8');
                t := '';
                FOR j IN 0 .. length(b) - 1 LOOP
                  t := t || '~' || upper(lpad(to_hex(get_byte(b, j)), 2, '0'));
                END LOOP;
                tokens := tokens || t;
              END IF;
            END IF;
          END LOOP;
        END IF;
      END LOOP;
      k := array_to_string(tokens, '');
      IF length(k) <= 200 THEN
        RETURN k;
      END IF;
      FOREACH t IN ARRAY tokens LOOP
        EXIT WHEN length(kept) + length(t) > 200 - 18;
        kept := kept || t;
      END LOOP;
      RETURN kept || '~h' || substr(encode(sha256(convert_to(k, 'UTF8')), 'hex'), 1, 16);
    END $$`)
})
