import { SqlClient, type SqlError } from "@effect/sql"
import { Clock, Effect } from "effect"
import type { IrPipeline } from "../../compiler/ir.ts"
import type { RunStatus } from "../execution/run-status.ts"
import { appliedIr, pipelinesToEvaluate, type AppliedDefinitionsError } from "../gaps/applied-definitions.ts"
import type { StoredDefinitionsError } from "../../definitions/stored.ts"
import { previewPass, previewPassWith } from "../gaps/preview.ts"
import { createReasons, gapHoldReasons, type ReasonCode } from "../gaps/reasons.ts"
import { toDate } from "./format.ts"
import { allStatuses } from "./run-row.ts"

/*
 * `ccat status`: for every enabled, applied step (upstream first; pipelines by priority, then
 * name), its runs by status, its gap and how long its oldest waiting input has waited.
 *
 * - **Gap**: the sub-groups that would get a run now, or will as soon as a cooldown or the run in
 *   flight allows: the create reasons plus COOLDOWN and AFTER_IN_FLIGHT of a read-only preview
 *   pass (previewPass: a real pass in a transaction that is rolled back, as `ccat plan` uses),
 *   which starts from the trigger loop's memory as the loop's next pass would (`fromMemory`).
 *   A cron or manual pipeline without an open request is not evaluated: its gap is `null`.
 * - **Oldest waiting input**: chosen here (docs/design/runtime.md §2.9), as the oldest input of
 *   a sub-group with a gap, read from the pass's own input tables (one more preview per step
 *   with a gap, evaluating that step alone; its temporary tables survive until the rollback).
 *   That preview too starts from the loop's memory, deciding again the sub-groups it remembers
 *   with a gap besides those that changed, so the tables hold every sub-group with a gap.
 *   For a root step it is the oldest `archived_at` of the raw packages in those sub-groups (the
 *   brief's definition; a config change makes all of them wait again). For a downstream step
 *   it is the oldest `created_at` of the upstream products in those sub-groups that no earlier
 *   run of the step has read: products new to the step. A downstream gap made only by a changed
 *   config or software has none. Evaluating one step alone, a downstream step does not see the
 *   upstream runs the same pass would create, so in rare cases it counts a sub-group that the
 *   full pass holds as WAITING_UPSTREAM; the gap counts themselves come from the full pass.
 */

export interface StepStatusReport {
  readonly pipeline: string
  readonly step: string
  readonly stepId: number
  /** The steps it reads from (`after`); empty for a root step. */
  readonly after: ReadonlyArray<string>
  readonly trigger: IrPipeline["trigger"]
  readonly priority: number
  readonly runs: Readonly<Record<RunStatus, number>>
  /** Sub-groups per gap reason; `null` when the preview did not evaluate the step. */
  readonly gap: number | null
  readonly gapByReason: Readonly<Partial<Record<ReasonCode, number>>>
  /** Why the preview did not evaluate it: a cron or manual pipeline without an open request. */
  readonly notTriggered: "no-request" | "outside-request" | null
  readonly oldestWaiting: { readonly at: Date; readonly kind: "raw_package.archived_at" | "data_product.created_at" } | null
}

export interface StatusReport {
  /** False before the first `ccat apply`. */
  readonly applied: boolean
  readonly at: Date
  readonly steps: ReadonlyArray<StepStatusReport>
}

const gapReasons: ReadonlyArray<ReasonCode> = [...createReasons, ...gapHoldReasons]

export const isGapReason = (r: string): boolean => (gapReasons as ReadonlyArray<string>).includes(r)

type StatusError = SqlError.SqlError | AppliedDefinitionsError | StoredDefinitionsError

/** The oldest waiting input of one step, from its own preview (see above). */
const oldestWaiting = (pipeline: string, step: string, stepId: number, root: boolean) =>
  // From the loop's memory, deciding again the sub-groups it remembers with a gap as well as
  // those that changed: the step's input tables then hold every sub-group with a gap.
  previewPassWith({ only: { pipeline, step }, fromMemory: true, alsoRemembered: gapReasons }, (summary) =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const outcome = summary.steps.find((s) => s.stepId === stepId)
      // Not evaluated after all (a request consumed meanwhile), or nothing to decide from memory
      // (the gap closed meanwhile): its input tables do not exist.
      if (outcome === undefined || outcome.status._tag !== "Evaluated" || outcome.decided === 0) return null
      const gap = sql`(d.creates OR d.reason IN ${sql.in(gapHoldReasons)})`
      if (root) {
        const [row] = yield* sql<{ oldest: Date | string | null }>`
          SELECT min(p.archived_at) AS oldest
          FROM ccat_decision d JOIN ccat_step_input i ON i.sub_group_key = d.sub_group_key
          JOIN raw_data_package p ON p.id = i.raw_id
          WHERE ${gap}`
        return toDate(row?.oldest)
      }
      // Runs this preview created read their inputs too: only runs from before it count.
      const [row] = yield* sql<{ oldest: Date | string | null }>`
        SELECT min(dp.created_at) AS oldest
        FROM ccat_decision d JOIN ccat_step_input i ON i.sub_group_key = d.sub_group_key
        JOIN data_product dp ON dp.id = i.product_id
        WHERE ${gap} AND NOT EXISTS (
          SELECT 1 FROM run_input ri JOIN executed_reduction_step r ON r.id = ri.run_id
          WHERE ri.data_product_id = i.product_id AND r.step_id = ${stepId} AND r.created_at < ${summary.at})`
      return toDate(row?.oldest)
    })
  ).pipe(
    Effect.map(([, at]) => at),
    // Nothing applied between the two previews cannot happen once applied; treat it as unknown.
    Effect.catchTag("NothingApplied", () => Effect.succeed(null))
  )

export const statusReport: Effect.Effect<StatusReport, StatusError, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const ir = yield* appliedIr
  const summary =
    ir === null ? null : yield* previewPass({ fromMemory: true }).pipe(Effect.catchTag("NothingApplied", () => Effect.succeed(null)))
  if (ir === null || summary === null) return { applied: false, at: new Date(yield* Clock.currentTimeMillis), steps: [] }
  const targets = yield* pipelinesToEvaluate(ir, null)
  const stepIds = targets.flatMap((t) => t.steps.map((s) => s.stepId))
  const counts =
    stepIds.length === 0
      ? []
      : yield* sql<{ step_id: string; status: RunStatus; n: number }>`
          SELECT step_id, status, count(*)::int AS n FROM executed_reduction_step
          WHERE step_id IN ${sql.in(stepIds)} GROUP BY step_id, status`
  const steps: Array<StepStatusReport> = []
  for (const target of targets) {
    for (const s of target.steps) {
      const runs = Object.fromEntries(allStatuses.map((st) => [st, 0])) as Record<RunStatus, number>
      for (const c of counts) if (Number(c.step_id) === s.stepId) runs[c.status] = c.n
      const outcome = summary.steps.find((o) => o.stepId === s.stepId)
      const evaluated = outcome?.status._tag === "Evaluated"
      const gapByReason = Object.fromEntries(Object.entries(outcome?.counts ?? {}).filter(([r]) => isGapReason(r))) as Partial<
        Record<ReasonCode, number>
      >
      const gap = evaluated ? Object.values(gapByReason).reduce((n: number, c) => n + (c ?? 0), 0) : null
      const root = s.upstreamIds.length === 0
      const oldest = gap !== null && gap > 0 ? yield* oldestWaiting(target.pipeline.name, s.step.name, s.stepId, root) : null
      steps.push({
        pipeline: target.pipeline.name,
        step: s.step.name,
        stepId: s.stepId,
        after: s.step.after,
        trigger: target.pipeline.trigger,
        priority: target.pipeline.priority,
        runs,
        gap,
        gapByReason,
        notTriggered: outcome?.status._tag === "NotTriggered" ? outcome.status.why : null,
        oldestWaiting: oldest === null ? null : { at: oldest, kind: root ? "raw_package.archived_at" : "data_product.created_at" }
      })
    }
  }
  return { applied: true, at: summary.at, steps }
})
