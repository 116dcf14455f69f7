import { Args, Command, Options } from "@effect/cli"
import { FileSystem, Path } from "@effect/platform"
import { Console, Effect, Option } from "effect"
import type { IrWorkspace } from "../compiler/ir.ts"
import { busyRetirements } from "../definitions/busy-retirements.ts"
import { retirementsDeclaredOutside } from "../definitions/declared-outside.ts"
import { planChanges } from "../definitions/diff.ts"
import {
  hasSlurmSteps,
  partitionsNotChecked,
  partitionWarnings,
  renderWarnings,
  type PlanWarning
} from "../definitions/partition-warnings.ts"
import { hasChanges, type Plan } from "../definitions/plan.ts"
import { planJson, retirementNoticesJson, sealedPlanText } from "../definitions/plan-json.ts"
import { choosePlanStyle, renderPlan, type RetirementNotices } from "../definitions/render-plan.ts"
import { readStoredDefinitions } from "../definitions/stored.ts"
import { slurmPartitions } from "../runtime/backends/slurm-partitions.ts"
import { previewPass } from "../runtime/gaps/preview.ts"
import { passJson, renderPassSection } from "../runtime/gaps/render-pass.ts"
import { CommandExit } from "./exit-code.ts"
import { compileReported } from "./compile-reported.ts"
import { databaseJson, databaseLine } from "../db/database.ts"
import { oneLineErrors } from "./command-failure.ts"

/*
 * `ccat plan <dir>`: compile, compare with the stored definitions, print what `ccat apply`
 * would do (docs/design/runtime.md §1.2), then the runs the trigger would create right after it (§2). Leaves
 * the database as it was: the trigger preview runs in a transaction that is rolled back.
 */

/**
 * What a person should know before retiring pipelines: which are still at work, and which were
 * applied from files outside the folder planned (`target`: the folder or file compiled).
 */
export const retirementNotices = (plan: Plan, target: string) =>
  Effect.gen(function* () {
    const busy = yield* busyRetirements(plan)
    const outside = yield* retirementsDeclaredOutside(plan, target)
    return { busy, outside } satisfies RetirementNotices
  })

/** Exit codes of `--detailed-exitcode`, as Terraform's: 0 no changes, 1 error, 2 changes. */
export const PlanExitCode = { noChanges: 0, error: 1, changes: 2 } as const

/** One line for any failure a person can act on; the command then exits 1. */
/**
 * The workspace in `dir`, compiled. Diagnostics go to standard error (standard output carries
 * the plan); with any error the command stops here, having touched nothing.
 */
export const compileWorkspace = (dir: string, consequence: string) =>
  Effect.map(compileReported([dir], consequence), (compiled) => compiled.ir)

export const dirArg = Args.text({ name: "dir" }).pipe(
  Args.withDescription("The workspace folder: every `.ccat` file under it is compiled together. Default: the current folder."),
  Args.withDefault(".")
)

/**
 * What the files ask of the cluster that it can never give: steps on a Slurm location against
 * its partitions, from one sinfo call, made only when some step runs on Slurm. Without an
 * answer from sinfo (no Slurm here, controller down) the plan says so once and goes on.
 */
export const planWarnings = (ir: IrWorkspace): Effect.Effect<ReadonlyArray<PlanWarning>> =>
  hasSlurmSteps(ir)
    ? slurmPartitions().pipe(
        Effect.map((partitions) => partitionWarnings(ir, partitions)),
        Effect.catchTag("BackendUnavailable", (e) => Effect.succeed([partitionsNotChecked(e.reason)]))
      )
    : Effect.succeed([])

const jsonOption = Options.boolean("json").pipe(
  Options.withDescription("Print the plan as a JSON document (docs/plan-json.md) instead of text.")
)
const outOption = Options.file("out").pipe(
  Options.withDescription(
    "Also save the plan as JSON to this file; `ccat apply FILE` then applies exactly it, or refuses if the definitions changed meanwhile or the file was edited."
  ),
  Options.optional
)
const detailedOption = Options.boolean("detailed-exitcode").pipe(
  Options.withDescription("Exit 0 when there are no changes, 2 when there are, 1 on error.")
)

export const planCommand = Command.make(
  "plan",
  { dir: dirArg, json: jsonOption, out: outOption, detailedExitcode: detailedOption },
  ({ dir, json, out, detailedExitcode }) =>
    oneLineErrors(
      Effect.gen(function* () {
        const ir = yield* compileWorkspace(dir, "Nothing was planned.")
        const plan = planChanges(yield* readStoredDefinitions, ir)
        const notices = yield* retirementNotices(plan, dir)
        const warnings = yield* planWarnings(ir)
        // The text shows counts: from the trigger loop's memory where it has one, as its next pass
        // would decide (seconds less at a million packages); the JSON lists every decision.
        const trigger = yield* previewPass({ ir, fromMemory: true, explain: json || Option.isSome(out) ? {} : undefined })
        const document = sealedPlanText({
          ...planJson(plan),
          database: yield* databaseJson,
          ...retirementNoticesJson(notices),
          warnings,
          trigger: passJson(trigger)
        })
        if (Option.isSome(out)) {
          const fs = yield* FileSystem.FileSystem
          const path = yield* Path.Path
          yield* fs.makeDirectory(path.dirname(out.value), { recursive: true })
          yield* fs.writeFileString(out.value, document)
        }
        if (json) {
          yield* Console.log(document.trimEnd())
        } else {
          const style = choosePlanStyle(process.stdout)
          yield* Console.log(yield* databaseLine)
          yield* Console.log(renderPlan(plan, style, notices))
          // Before the trigger section: they are about the definitions, not about the runs.
          if (warnings.length > 0) yield* Console.log("\n" + renderWarnings(warnings, style.bold))
          yield* Console.log("\n" + renderPassSection(trigger, ir))
          if (Option.isSome(out) && hasChanges(plan)) {
            yield* Console.log(`\nSaved the plan to: ${out.value}\n\nTo apply exactly these changes, run:\n    ccat apply ${out.value}`)
          }
        }
        if (detailedExitcode && hasChanges(plan)) return yield* new CommandExit({ code: PlanExitCode.changes })
      })
    )
).pipe(
  Command.withDescription(
    "Compare a workspace with the definitions in the database and show what `ccat apply` would change (+ create, ~ change, - retire), with a warning above the count when it retires a pipeline still at work (runs in flight or products from the last 7 days: `ccat apply` then needs --allow-retire) or pipelines applied from files outside the folder planned; then warnings about steps their Slurm partition can never run, then the runs the trigger would create right after, by reason. Exit 0: planned; 1: errors."
  )
)
