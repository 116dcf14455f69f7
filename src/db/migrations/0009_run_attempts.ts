import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/*
 * What makes a run's result exactly its own (the result-integrity issue):
 *
 * - `installation`: one row, this ops-db's id, made here once. It goes into every job's name and
 *   comment, so that a job another database submitted under the same run id (a staging
 *   instance, a colleague's test on the same cluster) is never taken for ours.
 * - `attempt` on a run: how many attempts were begun. Each attempt stages into a folder of its
 *   own (`run-<id>/attempt-<n>`) and submits a job named for it, so nothing an earlier attempt
 *   left behind (files, a job that still runs) can become this attempt's result. `retry_count`
 *   stays the number of failures retried, which the retry policy counts; an attempt begun again
 *   for a reason that is not the run's fault (no job found after a crash, a full disk) does not
 *   raise it.
 * - `marked_at`: when the current attempt's job name was committed, before the backend heard of
 *   it. A job found under that name is adopted only if it was submitted at or after this moment.
 * - `staged_inputs`: what staging placed for the current attempt (path, size, mtime and ctime of
 *   each input file), kept where the program cannot write, to tell after the job whether the
 *   program changed an input (INPUT_MODIFIED).
 *
 * Runs that exist already: their attempt count is what it was (retries + 1 once a job was named).
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE installation (
      id uuid PRIMARY KEY,
      created_at timestamptz NOT NULL DEFAULT now(),
      one_row boolean NOT NULL DEFAULT true UNIQUE CHECK (one_row)
    )`
  yield* sql`INSERT INTO installation (id) VALUES (gen_random_uuid())`
  yield* sql`ALTER TABLE executed_reduction_step ADD COLUMN attempt integer NOT NULL DEFAULT 0`
  yield* sql`ALTER TABLE executed_reduction_step ADD COLUMN marked_at timestamptz`
  yield* sql`ALTER TABLE executed_reduction_step ADD COLUMN staged_inputs jsonb`
  yield* sql`UPDATE executed_reduction_step SET attempt = retry_count + CASE WHEN job_name IS NULL THEN 0 ELSE 1 END`
})
