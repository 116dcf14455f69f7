import { SqlClient, type SqlError } from "@effect/sql"
import { Config, Data, Effect } from "effect"
import { userInfo } from "node:os"
import type { IrWorkspace } from "../compiler/ir.ts"
import { busyRetirements, busyRetirementText, lockRetiredSteps, type BusyRetirement } from "./busy-retirements.ts"
import { planChanges } from "./diff.ts"
import { hasChanges, type EntityChange, type Plan } from "./plan.ts"
import type { PlanDoesNotMatchDefinitions } from "./plan-mismatch.ts"
import { changesMismatch } from "./plan-json.ts"
import { currentGeneration, readStoredDefinitions, type StoredDefinitionsError } from "./stored.ts"
import { verifyIr } from "./verify-ir.ts"
import { writePlan } from "./write-definitions.ts"

/*
 * `ccat apply`: the plan against the definitions as they are once the lock is held, carried out
 * in one transaction. Two applies at once serialise on the lock; the second then plans against
 * what the first wrote, so it finds nothing left to do (or, for a reviewed plan, that the plan
 * is stale): never half of one and half of the other. A plan that retires a pipeline still at
 * work is refused unless allowed, judged under the lock against the runs and products as they
 * are then, not as they were when the plan was made.
 */

/** The advisory lock key of definition changes: "ccat" in ASCII. Held until commit or rollback. */
export const DEFINITIONS_LOCK = 0x63636174

export class PlanStale extends Data.TaggedError("PlanStale")<{ readonly planned: number; readonly current: number }> {
  override get message(): string {
    return `plan is stale: definitions changed since it was made (planned against generation ${this.planned}, now ${this.current}); run \`ccat plan\` again`
  }
}

/**
 * The IR to apply is not what the compiler makes of its own fields (an edited IR): applying it
 * would store hashes or fingerprints its definitions do not produce.
 */
export class IrAltered extends Data.TaggedError("IrAltered")<{ readonly mismatches: ReadonlyArray<string> }> {
  override get message(): string {
    return `refused, nothing was applied: the IR is not what the compiler makes of its fields. What does not match: ${this.mismatches.join("; ")}`
  }
}

/** A reviewed plan lists other changes than its IR makes to the definitions it was made against. */
export class PlanChangesDiffer extends Data.TaggedError("PlanChangesDiffer")<{ readonly generation: number; readonly mismatch: string }> {
  override get message(): string {
    return `refused, nothing was applied: the plan does not match what its IR does to generation ${this.generation}. What does not match: ${this.mismatch}`
  }
}

/** The plan retires enabled pipelines with runs in flight or recent products, and that was not allowed. */
export class RetiresBusyPipelines extends Data.TaggedError("RetiresBusyPipelines")<{ readonly busy: ReadonlyArray<BusyRetirement> }> {
  override get message(): string {
    const them = this.busy.length === 1 ? "it" : "them"
    return `refused, nothing was applied: ${this.busy.map(busyRetirementText).join("; ")}. To retire ${them} anyway, apply with --allow-retire (runs in flight still finish; nothing is deleted)`
  }
}

export type ApplyResult =
  /** A new definitions generation was recorded. */
  | { readonly _tag: "Applied"; readonly plan: Plan; readonly generation: number }
  /** The definitions already matched; no generation was recorded. */
  | { readonly _tag: "NoChanges"; readonly plan: Plan; readonly generation: number }

export interface ApplyOptions {
  /** Who applies, recorded with the generation. */
  readonly createdBy: string
  /**
   * The generation a reviewed plan was made against (a saved plan, or one shown and
   * confirmed). Anything else in the database now makes the plan stale. Without it, the plan is
   * made under the lock and applied as it is.
   */
  readonly expectedGeneration?: number | undefined
  /**
   * The changes a person reviewed (a saved plan's list, or the plan shown before the question).
   * The plan made under the lock must be exactly these, or nothing is applied: what is applied
   * is what was reviewed.
   */
  readonly expectedChanges?: ReadonlyArray<EntityChange> | undefined
  /**
   * Retire enabled pipelines even when they have runs in flight or products from the last
   * week (`--allow-retire`). Otherwise such a plan is refused whole (`RetiresBusyPipelines`).
   */
  readonly allowRetire?: boolean | undefined
  /** Runs once when another apply holds the lock, before waiting for it. */
  readonly onLockWait?: Effect.Effect<void> | undefined
}

export const applyWorkspace = (
  ir: IrWorkspace,
  options: ApplyOptions
): Effect.Effect<
  ApplyResult,
  | PlanStale
  | PlanChangesDiffer
  | RetiresBusyPipelines
  | IrAltered
  | PlanDoesNotMatchDefinitions
  | SqlError.SqlError
  | StoredDefinitionsError,
  SqlClient.SqlClient
> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    // Before any lock or write; the writer checks again (write-definitions.ts) at no extra cost.
    const mismatches = verifyIr(ir)
    if (mismatches.length > 0) return yield* new IrAltered({ mismatches })
    const run = Effect.gen(function* () {
      // A transaction-level lock: released by COMMIT or ROLLBACK, even if this process dies.
      const [attempt] = yield* sql<{ locked: boolean }>`SELECT pg_try_advisory_xact_lock(${DEFINITIONS_LOCK}::bigint) AS locked`
      if (attempt?.locked !== true) {
        if (options.onLockWait !== undefined) yield* options.onLockWait
        yield* sql`SELECT pg_advisory_xact_lock(${DEFINITIONS_LOCK}::bigint)`
      }
      const generation = yield* currentGeneration
      if (options.expectedGeneration !== undefined && options.expectedGeneration !== generation) {
        return yield* new PlanStale({ planned: options.expectedGeneration, current: generation })
      }
      const stored = yield* readStoredDefinitions
      const plan = planChanges(stored, ir)
      if (options.expectedChanges !== undefined) {
        const mismatch = changesMismatch(options.expectedChanges, plan.changes)
        if (mismatch !== null) return yield* new PlanChangesDiffer({ generation, mismatch })
      }
      if (!hasChanges(plan)) return { _tag: "NoChanges", plan, generation } as const
      if (options.allowRetire !== true) {
        yield* lockRetiredSteps(plan)
        const busy = yield* busyRetirements(plan)
        if (busy.length > 0) return yield* new RetiresBusyPipelines({ busy })
      }
      const created = yield* writePlan(plan, stored, options.createdBy)
      return { _tag: "Applied", plan, generation: created } as const
    })
    return yield* sql.withTransaction(run)
  })

/** Who is applying: `CCAT_USER`, else the operating system's user name. */
export const currentUser: Effect.Effect<string> = Config.string("CCAT_USER").pipe(
  Effect.orElse(() =>
    Effect.sync(() => {
      try {
        return userInfo().username
      } catch {
        // A container user without a passwd entry.
        return process.env["USER"] ?? "unknown"
      }
    })
  )
)
