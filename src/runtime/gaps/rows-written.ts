import type { SqlError, Statement } from "@effect/sql"
import { Effect } from "effect"

/**
 * The rows a CREATE TABLE AS or INSERT wrote, read from its command tag, so that knowing how
 * big a temporary table came out costs no `count(*)` round trip. When the driver does not say,
 * the answer is "many" (Infinity): callers then do what a large table needs.
 */
export const rowsWritten = (statement: Statement.Statement<unknown>): Effect.Effect<number, SqlError.SqlError> =>
  Effect.map(statement.raw, (result) => {
    const rowCount = (result as { readonly rowCount?: number | null } | null)?.rowCount
    return typeof rowCount === "number" ? rowCount : Number.POSITIVE_INFINITY
  })
