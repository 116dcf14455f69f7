import { SqlClient, type SqlError } from "@effect/sql"
import { Effect } from "effect"

/*
 * The live progress of `ccat serve --progress`: runs by status per step. On a terminal the
 * table is redrawn in place; otherwise a line is printed whenever the counts change.
 */

const columns = ["PENDING", "STAGING_DATA", "SUBMITTED", "RUNNING", "COLLECTING_RESULTS", "COMPLETED", "FAILED", "CANCELLED"] as const
const headings = ["pending", "staging", "submitted", "running", "collecting", "completed", "failed", "cancelled"]

interface Row {
  readonly pipeline: string
  readonly step: string
  readonly status: string
  readonly n: number
}

export const progressRows = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  return yield* sql<Row>`
    SELECT p.name AS pipeline, s.name AS step, r.status, count(*)::int AS n
    FROM executed_reduction_step r JOIN reduction_step s ON s.id = r.step_id JOIN pipeline p ON p.id = s.pipeline_id
    GROUP BY p.name, s.name, s.id, r.status ORDER BY p.name, s.id, r.status`
})

export const renderProgress = (rows: ReadonlyArray<Row>): string => {
  const steps = [...new Set(rows.map((r) => `${r.pipeline}.${r.step}`))]
  if (steps.length === 0) return "no runs yet"
  const width = Math.max(...steps.map((s) => s.length), 4)
  const count = (step: string, status: string) => rows.find((r) => `${r.pipeline}.${r.step}` === step && r.status === status)?.n ?? 0
  const header = `${"step".padEnd(width)}  ${headings.map((h) => h.padStart(10)).join("")}`
  const lines = steps.map((step) => `${step.padEnd(width)}  ${columns.map((c) => String(count(step, c)).padStart(10)).join("")}`)
  return [header, ...lines].join("\n")
}

/** A progress printer: call it as often as you like; it prints at most every `everyMs`. */
export const makeProgressPrinter = (stream: NodeJS.WriteStream, everyMs = 1000) => {
  let last = ""
  let lastAt = 0
  let drawnLines = 0
  return (force = false): Effect.Effect<void, SqlError.SqlError, SqlClient.SqlClient> =>
    Effect.gen(function* () {
      const now = Date.now()
      if (!force && now - lastAt < everyMs) return
      lastAt = now
      const text = renderProgress(yield* progressRows)
      if (text === last && !force) return
      last = text
      yield* Effect.sync(() => {
        if (stream.isTTY === true) {
          if (drawnLines > 0) stream.write(`\u001b[${drawnLines}A\u001b[J`)
          stream.write(text + "\n")
          drawnLines = text.split("\n").length
        } else {
          stream.write(text + "\n\n")
        }
      })
    })
}
