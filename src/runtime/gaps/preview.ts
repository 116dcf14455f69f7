import { SqlClient, type SqlError } from "@effect/sql"
import { Clock, Data, Effect } from "effect"
import type { IrWorkspace } from "../../compiler/ir.ts"
import { DEFINITIONS_LOCK } from "../../definitions/apply.ts"
import { planChanges } from "../../definitions/diff.ts"
import { hasChanges } from "../../definitions/plan.ts"
import { readStoredDefinitions, type StoredDefinitionsError } from "../../definitions/stored.ts"
import { writePlan } from "../../definitions/write-definitions.ts"
import type { AppliedDefinitionsError } from "./applied-definitions.ts"
import { recordManualRequest } from "./trigger-requests.ts"
import { evaluatePass, type NothingApplied, type PassOptions, type PassSummary } from "./evaluate-pass.ts"

/*
 * "What would the trigger do now?" for `ccat plan` and `ccat why`, answered by doing it: one
 * transaction applies the new definitions (when given), runs a real pass, and rolls everything
 * back. So the preview uses exactly the code of the trigger loop, and sees what a pass right
 * after `ccat apply` would see, including a downstream step waiting for the runs its upstream
 * step creates in the same pass. Only sequences move (ids are skipped, never reused): the ids
 * of the runs a preview creates never exist, and what it shows must not name them
 * (createdInPreview).
 */

class Preview<A> extends Data.TaggedError("Preview")<{ readonly summary: PassSummary; readonly inspected: A }> {}

export interface PreviewOptions extends Omit<PassOptions, "ir"> {
  /** Apply these definitions first (inside the rolled-back transaction). */
  readonly ir?: IrWorkspace | undefined
  /** Pretend `ccat run <only.pipeline> [--step]` was just recorded. */
  readonly asIfRequested?: { readonly force: boolean } | undefined
}

type PreviewError = SqlError.SqlError | StoredDefinitionsError | AppliedDefinitionsError | NothingApplied

export const previewPass = (options: PreviewOptions): Effect.Effect<PassSummary, PreviewError, SqlClient.SqlClient> =>
  Effect.map(
    previewPassWith(options, () => Effect.void),
    ([summary]) => summary
  )

/**
 * As previewPass, and run `inspect` after the pass, before the rollback: it sees the pass's
 * runs, and the temporary tables of the last step evaluated (see evaluate-step.ts).
 */
export const previewPassWith = <A, E>(
  options: PreviewOptions,
  inspect: (summary: PassSummary) => Effect.Effect<A, E, SqlClient.SqlClient>
): Effect.Effect<readonly [PassSummary, A], PreviewError | E, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const inside = Effect.gen(function* () {
      // Every run this preview inserts takes a later id than any run committed before it began.
      const [newest] = yield* sql<{ id: string | null }>`SELECT max(id)::text AS id FROM executed_reduction_step`
      const lastExistingRunId = Number(newest?.id ?? 0)
      if (options.ir !== undefined) {
        // The same lock as apply: the preview sees either all of a concurrent apply or none.
        yield* sql`SELECT pg_advisory_xact_lock(${DEFINITIONS_LOCK}::bigint)`
        const stored = yield* readStoredDefinitions
        const plan = planChanges(stored, options.ir)
        // Planned a line above from these very rows: a plan that does not match them is a defect here.
        if (hasChanges(plan))
          yield* writePlan(plan, stored, "ccat plan (preview, rolled back)").pipe(
            Effect.catchTag("PlanDoesNotMatchDefinitions", Effect.die)
          )
      }
      if (options.asIfRequested !== undefined && options.only !== undefined) {
        const now = new Date(yield* Clock.currentTimeMillis)
        yield* recordManualRequest({
          pipeline: options.only.pipeline,
          step: options.only.step ?? null,
          force: options.asIfRequested.force,
          requestedBy: "preview",
          now
        }).pipe(Effect.catchTags({ UnknownPipeline: () => Effect.void, UnknownStep: () => Effect.void }))
      }
      const summary: PassSummary = { ...(yield* evaluatePass({ ...options, actor: "preview" })), lastExistingRunId }
      const inspected = yield* inspect(summary)
      return yield* new Preview({ summary, inspected })
    })
    return yield* sql.withTransaction(inside).pipe(
      Effect.catchIf(
        (e): e is Preview<A> => e instanceof Preview,
        (p) => Effect.succeed([p.summary, p.inspected] as const)
      )
    )
  })

/**
 * Whether a run id in a preview's decisions is one of the runs the preview itself created: those
 * are rolled back and never exist, so output names them as runs that would be created, never by
 * their id. False outside a preview.
 */
export const createdInPreview = (summary: PassSummary, runId: number): boolean =>
  summary.lastExistingRunId !== undefined && runId > summary.lastExistingRunId
