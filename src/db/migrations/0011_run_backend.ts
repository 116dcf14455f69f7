import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/*
 * Operations that tell the truth (issue 19):
 *
 * - `backend` on a run: the kind of backend its current attempt was submitted to (`local`,
 *   `slurm`), recorded with the job's name. Commands that act on the job later (`ccat cancel`)
 *   use that backend, configured as the run's location declares it, never one chosen by the
 *   environment of the process that happens to run the command. NULL before a job was named, and
 *   for runs older than this migration (then the location's declared backend holds).
 * - `resources` on a run: what its current attempt asked of the backend, when a retry policy
 *   changed the step's own resources (`on OOM memory x2`); NULL means the step's. Each attempt's
 *   resources are also in the event that records its submission.
 * - `submit_deferrals`: how often in a row the backend turned the current attempt's submission
 *   away for now (controller busy, a submit limit): the wait before the next try doubles with it.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE executed_reduction_step ADD COLUMN backend text CHECK (backend IN ('local', 'slurm'))`
  yield* sql`ALTER TABLE executed_reduction_step ADD COLUMN resources jsonb`
  yield* sql`ALTER TABLE executed_reduction_step ADD COLUMN submit_deferrals integer NOT NULL DEFAULT 0`
})
