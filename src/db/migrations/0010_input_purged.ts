import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/* Placeholder: filled in by the purge-rebuild work (INPUT_PURGED). */
export default Effect.gen(function* () {
  yield* SqlClient.SqlClient
})
