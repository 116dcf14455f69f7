import { Args, Command, Options } from "@effect/cli"
import { Clock, Console, Effect, Option } from "effect"
import { didYouMean } from "../compiler/suggest.ts"
import { currentUser } from "../definitions/apply.ts"
import { recordManualRequest, type UnknownPipeline, type UnknownStep } from "../runtime/gaps/trigger-requests.ts"
import { failWith, oneLineErrors } from "./command-failure.ts"

/*
 * `ccat run <pipeline> [--step S] [--force]`: ask the trigger to evaluate a pipeline now
 * (docs/design/runtime.md §2.7). It records a trigger request and returns; the next trigger pass (in
 * `ccat serve`) honours it. A request waives cooldowns and reopens work that failed for good or
 * was cancelled; `--force` also re-runs sub-groups that are up to date.
 */

const pipelineArg = Args.text({ name: "pipeline" }).pipe(Args.withDescription("The pipeline to evaluate, by name, as applied."))
const stepOption = Options.text("step").pipe(
  Options.withDescription("Only this step of the pipeline (its upstream steps are not re-run)."),
  Options.optional
)
const forceOption = Options.boolean("force").pipe(
  Options.withDescription("Create a run for every sub-group of the step(s), even those that are up to date.")
)

const unknownName = (kind: string, e: UnknownPipeline | UnknownStep): string => {
  const hint = didYouMean(e.name, e.known)
  const known =
    e.known.length === 0 ? `there are none${kind === "pipeline" ? ": run `ccat apply <dir>` first" : ""}` : `known: ${e.known.join(", ")}`
  return `no ${kind} \`${e.name}\`${e._tag === "UnknownStep" ? ` in pipeline \`${e.pipeline}\`` : ""} in the applied definitions${hint === undefined ? "" : `; ${hint}`} (${known})`
}

export const runCommand = Command.make(
  "run",
  { pipeline: pipelineArg, step: stepOption, force: forceOption },
  ({ pipeline, step, force }) =>
    oneLineErrors(
      Effect.gen(function* () {
        const now = new Date(yield* Clock.currentTimeMillis)
        const id = yield* recordManualRequest({ pipeline, step: Option.getOrNull(step), force, requestedBy: yield* currentUser, now }).pipe(
          Effect.catchTags({
            UnknownPipeline: (e) => failWith(unknownName("pipeline", e)),
            UnknownStep: (e) => failWith(unknownName("step", e))
          })
        )
        const scope = Option.isSome(step) ? `step ${step.value}` : "every step"
        yield* Console.log(
          `Recorded trigger request ${id} for ${pipeline} (${scope}${force ? ", forced" : ""}). ` +
            "The next trigger pass of `ccat serve` honours it; `ccat plan` and `ccat why` show what it will do."
        )
      })
    )
).pipe(
  Command.withDescription(
    "Ask the trigger to evaluate a pipeline now (waives cooldowns, reopens failed work; --force re-runs up-to-date sub-groups too). Exit 0: recorded; 1: unknown pipeline or step, or database error."
  )
)
