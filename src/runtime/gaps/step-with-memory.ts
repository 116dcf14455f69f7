import { SqlClient, type SqlError } from "@effect/sql"
import { Data, Duration, Effect } from "effect"
import { evaluateStep, type StepDecision, type StepOutcomeCounts } from "./evaluate-step.ts"
import type { ReasonCode } from "./reasons.ts"
import { definitionHash, lockStep, memoStill, memoUse, remember, type WorldSignals } from "./step-memo.ts"

/*
 * One step evaluated with the trigger loop's memory (step-memo.ts), in its two uses: the loop's
 * own pass, which reads and rewrites the memory under the step's lock (evaluateRemembering), and
 * a preview (`ccat plan`, `ccat status`, `ccat why <step> <key>`), which reads it without a lock
 * and writes nothing (evaluateFromMemory). evaluate-pass.ts chooses between them and the plain
 * full evaluation.
 */

export type RememberingResult =
  | { readonly use: "unchanged"; readonly counts: StepOutcomeCounts["counts"] }
  | (StepOutcomeCounts & { readonly use: "full" | "incremental"; readonly decisions: ReadonlyArray<StepDecision> | null })

/**
 * The trigger loop's evaluation of one step (inside its transaction): under the step's lock,
 * read what the last pass remembered, then skip the step, evaluate its dirty sub-groups, or
 * evaluate it in full; remember the outcome in the same transaction.
 */
export const evaluateRemembering = (
  evaluation: Parameters<typeof evaluateStep>[0],
  world: WorldSignals,
  fullEvery: Duration.Duration,
  mayReconcile: boolean
): Effect.Effect<RememberingResult, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const { target, selection, now } = evaluation
    const hash = definitionHash(target, selection)
    yield* lockStep(target.stepId)
    const use = yield* memoUse(target, hash, now, fullEvery, mayReconcile)
    if (use._tag === "Unchanged") return { use: "unchanged", counts: use.memo.counts }
    if (use._tag === "Full") {
      const result = yield* evaluateStep({ ...evaluation, memory: { mode: "full" } })
      yield* remember(target, hash, { snapshot: world.snapshot, fullAt: now, dueAt: result.dueAt, counts: result.counts }, now)
      return { ...result, use: "full" }
    }
    const { memo } = use
    const result = yield* evaluateStep({
      ...evaluation,
      memory: { mode: "incremental", scope: { since: memo.snapshot, cooldownsDue: use.cooldownsDue }, counts: memo.counts }
    })
    // Deciding the whole step was cheaper than its dirty sub-groups: that was its full evaluation.
    if (result.inFull) {
      yield* remember(target, hash, { snapshot: world.snapshot, fullAt: now, dueAt: result.dueAt, counts: result.counts }, now)
      return { ...result, use: "full" }
    }
    // Cooldowns of sub-groups left alone still end when the memory says, unless that moment has
    // passed: then every sub-group in cooldown was dirty and this evaluation saw them all.
    const kept = use.cooldownsDue ? null : memo.dueAt
    const dueAt = kept === null ? result.dueAt : result.dueAt === null || kept < result.dueAt ? kept : result.dueAt
    yield* remember(target, hash, { snapshot: world.snapshot, fullAt: memo.fullAt, dueAt, counts: result.counts }, now)
    return { ...result, use: "incremental" }
  })

/** The loop remembered the step again while a preview was reading its memory. */
class MemoMoved extends Data.TaggedError("MemoMoved")<{}> {}

/**
 * A preview's evaluation of one step from the loop's memory (`fromMemory`), each attempt in its
 * own transaction (a savepoint of the preview's). It takes no lock, so a loop pass is never held
 * up by a preview; instead it checks that the memory it read is still the loop's after reading
 * the per-sub-group decisions, and if the loop wrote meanwhile it evaluates the step in full.
 * No memory of the step (or of its current definition): in full, as the loop would.
 */
export const evaluateFromMemory = (
  evaluation: Parameters<typeof evaluateStep>[0],
  explain: { readonly subGroupKey: string } | undefined,
  alsoRemembered: ReadonlyArray<ReasonCode> | undefined
): Effect.Effect<RememberingResult, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const { target, selection, now } = evaluation
    const remembered = yield* sql
      .withTransaction(
        Effect.gen(function* () {
          const use = yield* memoUse(target, definitionHash(target, selection), now, Duration.infinity, false)
          if (use._tag === "Full") return null
          // A sub-group to explain is decided again even in a step nothing changed for.
          if (use._tag === "Unchanged" && explain === undefined && alsoRemembered === undefined)
            return { use: "unchanged", counts: use.memo.counts } as const
          const cooldownsDue = use._tag === "Incremental" && use.cooldownsDue
          const result = yield* evaluateStep(
            {
              ...evaluation,
              memory: {
                mode: "incremental",
                scope: { since: use.memo.snapshot, cooldownsDue, explained: explain?.subGroupKey, alsoRemembered },
                counts: use.memo.counts,
                readOnly: true
              }
            },
            explain
          )
          if (!(yield* memoStill(target.stepId, use.memo))) return yield* new MemoMoved()
          return { ...result, use: result.inFull ? ("full" as const) : ("incremental" as const) }
        })
      )
      .pipe(Effect.catchTag("MemoMoved", () => Effect.succeed(null)))
    if (remembered !== null) return remembered
    return yield* sql.withTransaction(evaluateStep(evaluation, explain)).pipe(Effect.map((r) => ({ ...r, use: "full" as const })))
  })
