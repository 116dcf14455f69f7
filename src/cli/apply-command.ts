import { Args, Command, Options } from "@effect/cli"
import { FileSystem } from "@effect/platform"
import { Console, Effect, Either } from "effect"
import type { IrWorkspace } from "../compiler/ir.ts"
import {
  applyWorkspace,
  currentUser,
  RetiresBusyPipelines,
  type ApplyOptions,
  type ApplyResult,
  type PlanChangesDiffer
} from "../definitions/apply.ts"
import { planChanges } from "../definitions/diff.ts"
import { hasChanges, type EntityChange, type PlanSummary } from "../definitions/plan.ts"
import { changesMismatch, inspectSavedPlan, PlanAltered, type SavedPlan } from "../definitions/plan-json.ts"
import { choosePlanStyle, renderPlan } from "../definitions/render-plan.ts"
import { readStoredDefinitions } from "../definitions/stored.ts"
import { verifyIr } from "../definitions/verify-ir.ts"
import { askOnTerminal } from "./confirmation.ts"
import { CommandExit, ExitCode } from "./exit-code.ts"
import { compileWorkspace, retirementNotices } from "./plan-command.ts"
import { failWith, oneLineErrors } from "./command-failure.ts"

/*
 * `ccat apply <dir | saved plan>`: make the stored definitions match the files (or a plan saved
 * with `ccat plan --out`), in one transaction under a lock, as a new definitions generation
 * (docs/design/runtime.md §1.3). A workspace folder: without `--yes` a person confirms the plan first, a
 * script must say `--yes`. A saved plan was reviewed when `ccat plan --out` showed it, so it is
 * applied without another question (as Terraform applies a saved plan), and only exactly as it
 * was written (every hash verified, the changes it lists equal to those it makes). Either way, a
 * plan that retires an enabled pipeline still at work (runs in flight, products from the last
 * week) needs `--allow-retire`: checked under the lock, against the runs as they are then.
 */

const targetArg = Args.text({ name: "dir | plan.json" }).pipe(
  Args.withDescription("A workspace folder, or a plan saved with `ccat plan --out FILE` (a `.json` file). Default: the current folder."),
  Args.withDefault(".")
)
const yesOption = Options.boolean("yes").pipe(
  Options.withAlias("y"),
  Options.withDescription(
    "Apply a workspace folder without asking for confirmation (for scripts and CI). A saved plan is never asked about: it was reviewed when it was made."
  )
)

const allowRetireOption = Options.boolean("allow-retire").pipe(
  Options.withDescription(
    "Apply even though the plan retires an enabled pipeline that has runs in flight or products from the last 7 days (without it such a plan is refused, as Terraform's prevent_destroy). Its runs in flight still finish; nothing is deleted."
  )
)

/** What to apply: the IR, and for a saved plan the generation it was made against and the changes it lists. */
interface Target {
  readonly ir: IrWorkspace
  readonly saved: { readonly path: string; readonly baseGeneration: number; readonly changes: ReadonlyArray<EntityChange> } | undefined
}

/**
 * A saved plan that is not as `ccat plan` wrote it is refused before anything else. When its
 * IR is intact and the definitions are still those it was made against, the message also says
 * whether the changes it lists are the ones its IR makes: an edited list is named as such,
 * rather than only as a planHash that does not match.
 */
const refuseAltered = (path: string, plan: SavedPlan, mismatches: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const stored = yield* readStoredDefinitions
    const listed =
      verifyIr(plan.ir).length === 0 && stored.generation === plan.baseGeneration
        ? changesMismatch(plan.changes, planChanges(stored, plan.ir).changes)
        : null
    return yield* new PlanAltered({ path, mismatches: listed === null ? mismatches : [...mismatches, listed] })
  })

const readTarget = (target: string) =>
  Effect.gen(function* () {
    if (!target.endsWith(".json")) return { ir: yield* compileWorkspace(target, "Nothing was applied."), saved: undefined } satisfies Target
    const fs = yield* FileSystem.FileSystem
    const inspected = inspectSavedPlan(yield* fs.readFileString(target), target)
    if (Either.isLeft(inspected)) return yield* inspected.left
    const { plan, mismatches } = inspected.right
    if (mismatches.length > 0) return yield* refuseAltered(target, plan, mismatches)
    return { ir: plan.ir, saved: { path: target, baseGeneration: plan.baseGeneration, changes: plan.changes } } satisfies Target
  })

/** Apply; a saved plan whose listed changes are not what its IR makes is refused as altered. */
const applyTarget = (target: Target, options: ApplyOptions) =>
  applyWorkspace(target.ir, options).pipe(
    Effect.catchTag(
      "PlanChangesDiffer",
      (e): Effect.Effect<never, PlanChangesDiffer | PlanAltered> =>
        target.saved === undefined ? Effect.fail(e) : Effect.fail(new PlanAltered({ path: target.saved.path, mismatches: [e.mismatch] }))
    )
  )

const counted = (s: PlanSummary): string => `${s.create} created, ${s.change} changed, ${s.retire} retired`

const report = (result: ApplyResult) =>
  result._tag === "Applied"
    ? Console.log(`Apply complete! ${counted(result.plan.summary)}. The definitions are now generation ${result.generation}.`)
    : Console.log(`No changes. Nothing applied: the definitions match generation ${result.generation}.`)

const waiting = Console.error("Another `ccat apply` holds the definitions lock; waiting for it to finish…")

export const applyCommand = Command.make(
  "apply",
  { target: targetArg, yes: yesOption, allowRetire: allowRetireOption },
  ({ target, yes, allowRetire }) =>
    oneLineErrors(
      Effect.gen(function* () {
        const chosen = yield* readTarget(target)
        const { ir, saved } = chosen
        const savedAgainst = saved?.baseGeneration
        const createdBy = yield* currentUser
        const style = choosePlanStyle(process.stdout)

        if (yes || saved !== undefined) {
          // The plan is made under the lock, against what is there then, and applied as made; a
          // saved plan only if that is exactly the plan it lists.
          const result = yield* applyTarget(chosen, {
            createdBy,
            expectedGeneration: savedAgainst,
            expectedChanges: saved?.changes,
            allowRetire,
            onLockWait: waiting
          })
          if (result._tag === "Applied") yield* Console.log(renderPlan(result.plan, style) + "\n")
          return yield* report(result)
        }

        if (process.stdin.isTTY !== true) {
          return yield* failWith(
            "`ccat apply` asks for confirmation, but standard input is not a terminal; review with `ccat plan`, then run `ccat apply --yes`"
          )
        }
        // A workspace folder: show the plan, ask, then apply exactly that plan (if another apply
        // came first, it is stale).
        const stored = yield* readStoredDefinitions
        const plan = planChanges(stored, ir)
        if (!hasChanges(plan))
          return yield* Console.log(`No changes. Nothing applied: the definitions match generation ${plan.baseGeneration}.`)
        const notices = yield* retirementNotices(plan, target)
        yield* Console.log(renderPlan(plan, style, notices) + "\n")
        // Not worth a question that could only be refused: said before asking (and again under the lock).
        if (notices.busy.length > 0 && !allowRetire) return yield* new RetiresBusyPipelines({ busy: notices.busy })
        if (!(yield* askOnTerminal("Apply these changes? [y/N] "))) {
          yield* Console.log("Apply cancelled. Nothing applied.")
          return yield* new CommandExit({ code: ExitCode.failure })
        }
        // Exactly the plan shown: another apply in between makes it stale.
        const result = yield* applyTarget(chosen, {
          createdBy,
          expectedGeneration: plan.baseGeneration,
          expectedChanges: plan.changes,
          allowRetire,
          onLockWait: waiting
        })
        return yield* report(result)
      })
    )
).pipe(
  Command.withDescription(
    "Make the definitions in the database match a workspace or a saved plan, in one transaction, as a new definitions generation. Nothing is deleted: what leaves the files is retired. A saved plan is applied only as `ccat plan` wrote it. A plan that retires an enabled pipeline with runs in flight or products from the last 7 days is refused without --allow-retire. Exit 0: applied or nothing to do; 1: errors, stale or altered plan, a busy pipeline retired without --allow-retire, or cancelled."
  )
)
