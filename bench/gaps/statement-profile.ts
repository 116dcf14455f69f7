import { Effect, Tracer } from "effect"
import { ms } from "./report.ts"

// ---------------------------------------------------------------------------------------------
// Statement profile: every statement @effect/sql runs is a `sql.execute` span; a tracer wrapping
// the current one records each statement's text and duration, so a pass can be split by step
// and statement without touching src/.
// ---------------------------------------------------------------------------------------------

export interface StatementTiming {
  readonly text: string
  readonly ms: number
}

export const profiled = <A, E, R>(effect: Effect.Effect<A, E, R>, into: Array<StatementTiming>): Effect.Effect<A, E, R> =>
  Effect.tracerWith((base) =>
    Effect.withTracer(
      effect,
      Tracer.make({
        span: (name, parent, context, links, startTime, kind, options) => {
          const span = base.span(name, parent, context, links, startTime, kind, options)
          if (name !== "sql.execute") return span
          const end = span.end.bind(span)
          span.end = (endTime, exit) => {
            const text = span.attributes.get("db.query.text")
            into.push({ text: typeof text === "string" ? text : "", ms: Number(endTime - startTime) / 1e6 })
            end(endTime, exit)
          }
          return span
        },
        context: (f, fiber) => base.context(f, fiber)
      })
    )
  )

const statementLabel = (text: string): string => {
  const temp = /CREATE TEMP TABLE (\w+)/.exec(text)
  if (temp !== null) return temp[1]!.replace(/^ccat_/, "")
  const insertTemp = /INSERT INTO (ccat_\w+)/.exec(text)
  if (insertTemp !== null) return `${insertTemp[1]!.replace(/^ccat_/, "")} (insert)`
  if (/DROP TABLE IF EXISTS pg_temp\./.test(text)) return "prepare"
  if (/SELECT reason, count\(\*\)/.test(text)) return "counts"
  if (/INSERT INTO executed_reduction_step/.test(text)) return "insert runs"
  return text.replace(/\s+/g, " ").trim().slice(0, 40)
}

/**
 * `calibrate 812 ms (step_input 310, decision 420, insert runs 60)`, one line per step, from the
 * statements of one pass. A step starts at its DROP of the temporary tables; statements before
 * the first step read the applied definitions. Time outside statements (BEGIN/COMMIT, the pool,
 * JavaScript) is reported as "outside SQL".
 */
export const breakdown = (
  timings: ReadonlyArray<StatementTiming>,
  stepNames: ReadonlyArray<string>,
  wallMs: number
): ReadonlyArray<string> => {
  const steps: Array<{ name: string; total: number; parts: Map<string, number> }> = [{ name: "definitions", total: 0, parts: new Map() }]
  for (const t of timings) {
    if (/DROP TABLE IF EXISTS pg_temp\.ccat_dirty/.test(t.text)) {
      steps.push({ name: stepNames[steps.length - 1] ?? `step ${steps.length}`, total: 0, parts: new Map() })
    }
    const step = steps[steps.length - 1]!
    const label = statementLabel(t.text)
    step.total += t.ms
    step.parts.set(label, (step.parts.get(label) ?? 0) + t.ms)
  }
  const inStatements = steps.reduce((n, s) => n + s.total, 0)
  const lines = steps.map((s, i) => {
    // The definitions' statements (applied IR, pipeline ids, open requests) are summed only.
    const parts = i === 0 ? [] : [...s.parts].filter(([, v]) => v >= Math.max(1, s.total * 0.03)).map(([k, v]) => `${k} ${ms(v)}`)
    return `${s.name.padEnd(12)} ${ms(s.total).padStart(9)}${parts.length > 0 ? `  (${parts.join(", ")})` : ""}`
  })
  lines.push(`${"outside SQL".padEnd(12)} ${ms(Math.max(0, wallMs - inStatements)).padStart(9)}  (BEGIN/COMMIT, pool, JavaScript)`)
  return lines
}
