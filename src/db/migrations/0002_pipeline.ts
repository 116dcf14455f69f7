import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/*
 * The pipeline side: applied definitions (docs/design/runtime.md §1.1; tables: docs/design/domain.md §4.2), runs and their inputs, the run event
 * log, products with lineage, and trigger requests. Definitions are never deleted: a
 * definition that leaves the files is retired (`retired_generation` set) and keeps its history.
 * Each definition row also stores its IR entity (`definition`) and content `hash`, so a plan is a
 * comparison of IR with IR.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE definitions_generation (
      id bigserial PRIMARY KEY,
      created_at timestamptz NOT NULL DEFAULT now(),
      created_by text NOT NULL,
      ir_version integer NOT NULL,
      ir_hash text NOT NULL,
      summary jsonb NOT NULL,
      ir jsonb NOT NULL
    )`
  const lifecycle = sql.literal(`
      definition jsonb NOT NULL,
      hash text NOT NULL,
      created_generation bigint NOT NULL REFERENCES definitions_generation (id),
      updated_generation bigint NOT NULL REFERENCES definitions_generation (id),
      retired_generation bigint REFERENCES definitions_generation (id)`)
  yield* sql`
    CREATE TABLE location (
      id bigserial PRIMARY KEY,
      name text NOT NULL UNIQUE,
      site text,
      backend text NOT NULL,
      ${lifecycle}
    )`
  yield* sql`
    CREATE TABLE reduction_software (
      id bigserial PRIMARY KEY,
      name text NOT NULL UNIQUE,
      image text NOT NULL,
      command text NOT NULL,
      ${lifecycle}
    )`
  yield* sql`
    CREATE TABLE reduction_software_version (
      id bigserial PRIMARY KEY,
      software_id bigint NOT NULL REFERENCES reduction_software (id),
      version text NOT NULL,
      image text NOT NULL,
      registered_generation bigint NOT NULL REFERENCES definitions_generation (id),
      withdrawn_generation bigint REFERENCES definitions_generation (id),
      UNIQUE (software_id, version)
    )`
  yield* sql`
    CREATE TABLE data_grouping (
      id bigserial PRIMARY KEY,
      name text NOT NULL UNIQUE,
      ${lifecycle}
    )`
  yield* sql`
    CREATE TABLE pipeline (
      id bigserial PRIMARY KEY,
      name text NOT NULL UNIQUE,
      data_grouping_id bigint NOT NULL REFERENCES data_grouping (id),
      location_id bigint NOT NULL REFERENCES location (id),
      trigger_mode text NOT NULL CHECK (trigger_mode IN ('CONTINUOUS', 'CRON', 'MANUAL')),
      cron text,
      timezone text,
      priority integer NOT NULL DEFAULT 0,
      enabled boolean NOT NULL DEFAULT true,
      ${lifecycle}
    )`
  yield* sql`
    CREATE TABLE reduction_step (
      id bigserial PRIMARY KEY,
      pipeline_id bigint NOT NULL REFERENCES pipeline (id),
      name text NOT NULL,
      software_id bigint NOT NULL REFERENCES reduction_software (id),
      version_range text NOT NULL,
      version_policy text NOT NULL CHECK (version_policy IN ('compatible', 'exact')),
      group_by text[] NOT NULL,
      cooldown_seconds double precision,
      retries integer NOT NULL DEFAULT 0,
      is_final boolean NOT NULL,
      fingerprint text NOT NULL,
      ${lifecycle},
      UNIQUE (pipeline_id, name)
    )`
  yield* sql`
    CREATE TABLE reduction_step_upstream (
      step_id bigint NOT NULL REFERENCES reduction_step (id),
      upstream_step_id bigint NOT NULL REFERENCES reduction_step (id),
      PRIMARY KEY (step_id, upstream_step_id)
    )`
  // A run. Its identity (step, sub-group, input identity) is unique: no race creates it twice.
  yield* sql`
    CREATE TABLE executed_reduction_step (
      id bigserial PRIMARY KEY,
      step_id bigint NOT NULL REFERENCES reduction_step (id),
      sub_group_key text NOT NULL,
      input_identity text NOT NULL,
      fingerprint text NOT NULL,
      status text NOT NULL CHECK (status IN ('PENDING', 'STAGING_DATA', 'SUBMITTED', 'RUNNING', 'COLLECTING_RESULTS', 'COMPLETED', 'FAILED', 'CANCELLED')),
      reason text NOT NULL,
      software_version text NOT NULL,
      image text NOT NULL,
      config jsonb NOT NULL,
      job_name text,
      backend_job_id text,
      retry_count integer NOT NULL DEFAULT 0,
      failure_reason text,
      exit_code integer,
      wall_seconds double precision,
      cpu_hours double precision,
      peak_memory_bytes bigint,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      submitted_at timestamptz,
      finished_at timestamptz,
      UNIQUE (step_id, sub_group_key, input_identity)
    )`
  yield* sql`CREATE INDEX run_status ON executed_reduction_step (status)`
  yield* sql`CREATE INDEX run_step_sub_group ON executed_reduction_step (step_id, sub_group_key, created_at)`
  yield* sql`
    CREATE TABLE data_product (
      id bigserial PRIMARY KEY,
      run_id bigint NOT NULL REFERENCES executed_reduction_step (id),
      product_type text NOT NULL CHECK (product_type IN ('SCIENCE', 'QA_METRIC', 'PLOT', 'STATISTICS', 'LOG', 'INTERMEDIATE')),
      relative_path text NOT NULL,
      size_bytes bigint NOT NULL,
      checksum text NOT NULL,
      quality jsonb NOT NULL DEFAULT '{}',
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (run_id, relative_path)
    )`
  yield* sql`CREATE INDEX data_product_run ON data_product (run_id)`
  // What a run read: raw packages or upstream products, with the checksum it saw.
  yield* sql`
    CREATE TABLE run_input (
      run_id bigint NOT NULL REFERENCES executed_reduction_step (id),
      raw_data_package_id uuid REFERENCES raw_data_package (id),
      data_product_id bigint REFERENCES data_product (id),
      checksum text,
      CHECK (num_nonnulls(raw_data_package_id, data_product_id) = 1)
    )`
  yield* sql`CREATE INDEX run_input_run ON run_input (run_id)`
  yield* sql`CREATE INDEX run_input_package ON run_input (raw_data_package_id)`
  yield* sql`CREATE INDEX run_input_product ON run_input (data_product_id)`
  // Provenance edges of each product, written in the same transaction as the product.
  yield* sql`
    CREATE TABLE data_product_lineage (
      product_id bigint NOT NULL REFERENCES data_product (id),
      parent_product_id bigint REFERENCES data_product (id),
      raw_data_package_id uuid REFERENCES raw_data_package (id),
      CHECK (num_nonnulls(parent_product_id, raw_data_package_id) = 1)
    )`
  yield* sql`CREATE INDEX lineage_product ON data_product_lineage (product_id)`
  yield* sql`
    CREATE TABLE run_event (
      id bigserial PRIMARY KEY,
      run_id bigint NOT NULL REFERENCES executed_reduction_step (id),
      at timestamptz NOT NULL DEFAULT now(),
      actor text NOT NULL,
      from_status text,
      to_status text NOT NULL,
      reason text NOT NULL
    )`
  yield* sql`CREATE INDEX run_event_run ON run_event (run_id, at)`
  yield* sql`
    CREATE TABLE trigger_request (
      id bigserial PRIMARY KEY,
      pipeline_id bigint NOT NULL REFERENCES pipeline (id),
      step_name text,
      force boolean NOT NULL DEFAULT false,
      requested_by text NOT NULL,
      requested_at timestamptz NOT NULL DEFAULT now(),
      consumed_at timestamptz
    )`
  yield* sql`ALTER TABLE physical_copy ADD COLUMN data_product_id bigint REFERENCES data_product (id)`
  yield* sql`
    ALTER TABLE physical_copy ADD CONSTRAINT physical_copy_one_subject
      CHECK (num_nonnulls(raw_data_package_id, raw_data_file_id, data_product_id) = 1)`
})
