import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/*
 * What the submit and collect loops (docs/design/runtime.md §3; columns: docs/design/domain.md §4.3) keep on a run:
 * - `run_dir`: the run's folder on the processing location, fixed when it is first staged;
 *   products are paths relative to it.
 * - `next_attempt_at`: a retried run waits for its backoff before it is claimed again.
 * - `lease_until`, `lease_owner` (`host:pid`): a run in STAGING_DATA or COLLECTING_RESULTS
 *   belongs to the instance whose lease has not run out; after a crash another instance takes it
 *   over when the lease ends, or at once when the owner is a dead process on the same host.
 * - `last_seen_at`: when the backend last reported the job; a job unknown to the backend for
 *   longer than the grace period is LOST.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE executed_reduction_step ADD COLUMN run_dir text`
  yield* sql`ALTER TABLE executed_reduction_step ADD COLUMN next_attempt_at timestamptz`
  yield* sql`ALTER TABLE executed_reduction_step ADD COLUMN lease_until timestamptz`
  yield* sql`ALTER TABLE executed_reduction_step ADD COLUMN lease_owner text`
  yield* sql`ALTER TABLE executed_reduction_step ADD COLUMN last_seen_at timestamptz`
  yield* sql`CREATE INDEX run_active ON executed_reduction_step (status, id)
    WHERE status IN ('PENDING', 'STAGING_DATA', 'SUBMITTED', 'RUNNING', 'COLLECTING_RESULTS')`
  yield* sql`CREATE INDEX run_job_name ON executed_reduction_step (job_name) WHERE job_name IS NOT NULL`
  yield* sql`CREATE INDEX physical_copy_product ON physical_copy (data_product_id)`
  yield* sql`CREATE INDEX lineage_parent ON data_product_lineage (parent_product_id)`
  yield* sql`CREATE INDEX lineage_package ON data_product_lineage (raw_data_package_id)`
  // What the trigger loop last decided per step, and from which state of the world: a step
  // whose definition, packages (change_seq) and runs (run_event ids) did not change, and whose
  // next cooldown is not due, need not be evaluated again (src/runtime/gaps/step-memo.ts).
  yield* sql`
    CREATE TABLE trigger_step_state (
      step_id bigint PRIMARY KEY REFERENCES reduction_step (id),
      definition_hash text NOT NULL,
      change_seq bigint NOT NULL,
      event_id bigint NOT NULL,
      evaluated_at timestamptz NOT NULL,
      due_at timestamptz,
      counts jsonb NOT NULL
    )`
})
