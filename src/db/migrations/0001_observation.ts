import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/*
 * The observation side of the ops-db (docs/design/domain.md §4.1): what the archive holds. Column names follow
 * the schema registry (src/compiler/schema-registry.ts), which the filter engine turns into SQL;
 * enums are text with CHECK constraints spelled as in docs/design/domain.md §2.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE observatory (
      id uuid PRIMARY KEY,
      name text NOT NULL UNIQUE
    )`
  yield* sql`
    CREATE TABLE telescope (
      id uuid PRIMARY KEY,
      observatory_id uuid NOT NULL REFERENCES observatory (id),
      name text NOT NULL UNIQUE
    )`
  yield* sql`
    CREATE TABLE instrument (
      id uuid PRIMARY KEY,
      telescope_id uuid NOT NULL REFERENCES telescope (id),
      name text NOT NULL UNIQUE
    )`
  yield* sql`
    CREATE TABLE instrument_module (
      id uuid PRIMARY KEY,
      instrument_id uuid NOT NULL REFERENCES instrument (id),
      name text NOT NULL,
      min_frequency_ghz double precision,
      max_frequency_ghz double precision,
      UNIQUE (instrument_id, name)
    )`
  yield* sql`
    CREATE TABLE observing_program (
      id uuid PRIMARY KEY,
      short_name text NOT NULL UNIQUE,
      name text NOT NULL
    )`
  yield* sql`
    CREATE TABLE source (
      id uuid PRIMARY KEY,
      name text NOT NULL UNIQUE,
      kind text NOT NULL CHECK (kind IN ('FIXED', 'SOLAR_SYSTEM', 'CONSTANT_ELEVATION')),
      ra_deg double precision,
      dec_deg double precision
    )`
  yield* sql`
    CREATE TABLE obs_unit (
      id uuid PRIMARY KEY,
      name text NOT NULL,
      line_id text NOT NULL,
      source_id uuid NOT NULL REFERENCES source (id),
      observing_program_id uuid NOT NULL REFERENCES observing_program (id)
    )`
  yield* sql`CREATE INDEX obs_unit_source ON obs_unit (source_id)`
  yield* sql`CREATE INDEX obs_unit_program ON obs_unit (observing_program_id)`
  yield* sql`CREATE INDEX obs_unit_line ON obs_unit (line_id)`
  yield* sql`
    CREATE TABLE executed_obs_unit (
      id uuid PRIMARY KEY,
      obs_unit_id uuid NOT NULL REFERENCES obs_unit (id),
      start_time timestamptz NOT NULL,
      end_time timestamptz,
      status text NOT NULL DEFAULT 'SUCCESS' CHECK (status IN ('SUCCESS', 'INTERRUPTED', 'FAILED')),
      metadata jsonb NOT NULL DEFAULT '{}'
    )`
  yield* sql`CREATE INDEX executed_obs_unit_obs_unit ON executed_obs_unit (obs_unit_id)`
  yield* sql`CREATE INDEX executed_obs_unit_start ON executed_obs_unit (start_time)`
  yield* sql`
    CREATE TABLE data_location (
      id uuid PRIMARY KEY,
      name text NOT NULL UNIQUE,
      location_type text NOT NULL CHECK (location_type IN ('SOURCE', 'BUFFER', 'LONG_TERM_ARCHIVE', 'PROCESSING')),
      storage_type text NOT NULL CHECK (storage_type IN ('DISK', 'S3', 'TAPE')),
      site text NOT NULL CHECK (site IN ('ccat', 'cologne', 'us')),
      root_path text NOT NULL
    )`
  yield* sql`
    CREATE TABLE raw_data_package (
      id uuid PRIMARY KEY,
      name text NOT NULL UNIQUE,
      executed_obs_unit_id uuid NOT NULL REFERENCES executed_obs_unit (id),
      instrument_module_id uuid NOT NULL REFERENCES instrument_module (id),
      state text NOT NULL CHECK (state IN ('WAITING', 'TRANSFERRING', 'ARCHIVED', 'FAILED')),
      checksum text,
      size_bytes bigint NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL DEFAULT now(),
      archived_at timestamptz,
      metadata jsonb NOT NULL DEFAULT '{}',
      UNIQUE (executed_obs_unit_id, instrument_module_id)
    )`
  yield* sql`CREATE INDEX raw_data_package_state ON raw_data_package (state)`
  yield* sql`CREATE INDEX raw_data_package_module ON raw_data_package (instrument_module_id)`
  yield* sql`CREATE INDEX raw_data_package_archived_at ON raw_data_package (archived_at)`
  yield* sql`
    CREATE TABLE raw_data_file (
      id uuid PRIMARY KEY,
      raw_data_package_id uuid NOT NULL REFERENCES raw_data_package (id),
      name text NOT NULL,
      relative_path text NOT NULL,
      size_bytes bigint NOT NULL,
      checksum text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`
  yield* sql`CREATE INDEX raw_data_file_package ON raw_data_file (raw_data_package_id)`
  // Which location holds which package or file; products are added by the pipeline migration.
  yield* sql`
    CREATE TABLE physical_copy (
      id bigserial PRIMARY KEY,
      data_location_id uuid NOT NULL REFERENCES data_location (id),
      raw_data_package_id uuid REFERENCES raw_data_package (id),
      raw_data_file_id uuid REFERENCES raw_data_file (id),
      path text NOT NULL,
      status text NOT NULL CHECK (status IN ('PRESENT', 'STAGED', 'DELETION_SCHEDULED', 'DELETION_IN_PROGRESS', 'DELETION_POSSIBLE', 'DELETED', 'DELETION_FAILED')),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`
  yield* sql`CREATE INDEX physical_copy_package ON physical_copy (raw_data_package_id)`
  yield* sql`CREATE INDEX physical_copy_location_status ON physical_copy (data_location_id, status)`
})
