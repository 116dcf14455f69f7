import { Args, Command, Options } from "@effect/cli"
import { FileSystem } from "@effect/platform"
import { Console, Effect, Either } from "effect"
import { createInterface } from "node:readline/promises"
import type { IrWorkspace } from "../compiler/ir.ts"
import { applyWorkspace, currentUser, PlanStale, type ApplyResult } from "../definitions/apply.ts"
import { planChanges } from "../definitions/diff.ts"
import { hasChanges, type PlanSummary } from "../definitions/plan.ts"
import { decodeSavedPlan } from "../definitions/plan-json.ts"
import { choosePlanStyle, renderPlan } from "../definitions/render-plan.ts"
import { readStoredDefinitions } from "../definitions/stored.ts"
import { CommandExit, ExitCode } from "./exit-code.ts"
import { compileWorkspace, failWith, oneLineErrors } from "./plan-command.ts"

/*
 * `ccat apply <dir | saved plan>`: make the stored definitions match the files (or a plan saved
 * with `ccat plan --out`), in one transaction under a lock, as a new definitions generation
 * (runtime.md §1). Without `--yes` a person confirms the plan first; a script must say `--yes`.
 */

const targetArg = Args.text({ name: "dir | plan.json" }).pipe(
  Args.withDescription("A workspace folder, or a plan saved with `ccat plan --out FILE` (a `.json` file). Default: the current folder."),
  Args.withDefault(".")
)
const yesOption = Options.boolean("yes").pipe(Options.withAlias("y"), Options.withDescription("Apply without asking for confirmation (for scripts and CI)."))

/** What to apply: the IR, and for a saved plan the generation it was reviewed against. */
interface Target {
  readonly ir: IrWorkspace
  readonly savedAgainst: number | undefined
}

const readTarget = (target: string) =>
  Effect.gen(function* () {
    if (!target.endsWith(".json")) return { ir: yield* compileWorkspace(target, "Nothing was applied."), savedAgainst: undefined } satisfies Target
    const fs = yield* FileSystem.FileSystem
    const saved = decodeSavedPlan(yield* fs.readFileString(target), target)
    if (Either.isLeft(saved)) return yield* saved.left
    return { ir: saved.right.ir, savedAgainst: saved.right.baseGeneration } satisfies Target
  })

/** A yes/no question on the terminal; anything but `y` or `yes` is no. */
const confirm = (question: string): Effect.Effect<boolean> =>
  Effect.acquireUseRelease(
    Effect.sync(() => createInterface({ input: process.stdin, output: process.stdout })),
    (rl) => Effect.promise(() => rl.question(question)).pipe(Effect.map((answer) => /^(y|yes)$/i.test(answer.trim()))),
    (rl) => Effect.sync(() => rl.close())
  )

const counted = (s: PlanSummary): string => `${s.create} created, ${s.change} changed, ${s.retire} retired`

const report = (result: ApplyResult) =>
  result._tag === "Applied"
    ? Console.log(`Apply complete! ${counted(result.plan.summary)}. The definitions are now generation ${result.generation}.`)
    : Console.log(`No changes. Nothing applied: the definitions match generation ${result.generation}.`)

const waiting = Console.error("Another `ccat apply` holds the definitions lock; waiting for it to finish…")

export const applyCommand = Command.make("apply", { target: targetArg, yes: yesOption }, ({ target, yes }) =>
  oneLineErrors(
    Effect.gen(function* () {
      const { ir, savedAgainst } = yield* readTarget(target)
      const createdBy = yield* currentUser
      const style = choosePlanStyle(process.stdout)

      if (yes) {
        // The plan is made under the lock, against what is there then, and applied as made.
        const result = yield* applyWorkspace(ir, { createdBy, expectedGeneration: savedAgainst, onLockWait: waiting })
        if (result._tag === "Applied") yield* Console.log(renderPlan(result.plan, style) + "\n")
        return yield* report(result)
      }

      if (process.stdin.isTTY !== true) {
        return yield* failWith("`ccat apply` asks for confirmation, but standard input is not a terminal; review with `ccat plan`, then run `ccat apply --yes`")
      }
      // Show the plan, ask, then apply exactly that plan: if another apply came first, it is stale.
      const stored = yield* readStoredDefinitions
      if (savedAgainst !== undefined && savedAgainst !== stored.generation) return yield* new PlanStale({ planned: savedAgainst, current: stored.generation })
      const plan = planChanges(stored, ir)
      if (!hasChanges(plan)) return yield* Console.log(`No changes. Nothing applied: the definitions match generation ${plan.baseGeneration}.`)
      yield* Console.log(renderPlan(plan, style) + "\n")
      if (!(yield* confirm("Apply these changes? [y/N] "))) {
        yield* Console.log("Apply cancelled. Nothing applied.")
        return yield* new CommandExit({ code: ExitCode.failure })
      }
      const result = yield* applyWorkspace(ir, { createdBy, expectedGeneration: plan.baseGeneration, onLockWait: waiting })
      return yield* report(result)
    })
  )
).pipe(
  Command.withDescription(
    "Make the definitions in the database match a workspace or a saved plan, in one transaction, as a new definitions generation. Nothing is deleted: what leaves the files is retired. Exit 0: applied or nothing to do; 1: errors, stale plan or cancelled."
  )
)
