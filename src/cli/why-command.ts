import { Args, Command } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import { didYouMean } from "../compiler/suggest.ts"
import { whyReport } from "../runtime/explain/why.ts"
import { CommandExit, ExitCode } from "./exit-code.ts"
import { failWith, oneLineErrors } from "./command-failure.ts"
import { jsonOption } from "./run-arguments.ts"

/*
 * `ccat why <pipeline>.<step> [sub_group_key]`: what the trigger decides for a step, or for one
 * of its sub-groups, and why (docs/design/runtime.md §2.9). Read-only: the decision is previewed in a
 * transaction that is rolled back.
 */

const targetArg = Args.text({ name: "pipeline.step" }).pipe(Args.withDescription("The step to explain, as `<pipeline>.<step>`."))
const keyArg = Args.text({ name: "sub_group_key" }).pipe(
  Args.withDescription("One sub-group of the step (as `ccat why <pipeline>.<step>` lists them); all of them, summarised, when omitted."),
  Args.optional
)

const hint = (name: string, known: ReadonlyArray<string>): string => {
  const s = didYouMean(name, known)
  return s === undefined ? (known.length === 0 ? "" : ` (known: ${known.join(", ")})`) : `; ${s}`
}

export const whyCommand = Command.make(
  "why",
  { target: targetArg, key: keyArg, json: jsonOption("the explanation, its decisions and their counts") },
  ({ target, key, json }) =>
    oneLineErrors(
      Effect.gen(function* () {
        const dot = target.indexOf(".")
        if (dot <= 0 || dot === target.length - 1) {
          yield* Console.error(
            `error: expected <pipeline>.<step>, got \`${target}\`\nusage: ccat why <pipeline>.<step> [sub_group_key] [--json]`
          )
          return yield* new CommandExit({ code: ExitCode.usage })
        }
        const report = yield* whyReport({
          pipeline: target.slice(0, dot),
          step: target.slice(dot + 1),
          subGroupKey: Option.getOrNull(key)
        }).pipe(
          Effect.catchTags({
            UnknownPipeline: (e) => failWith(`no pipeline \`${e.name}\` in the applied definitions${hint(e.name, e.known)}`),
            UnknownStep: (e) => failWith(`no step \`${e.name}\` in pipeline \`${e.pipeline}\`${hint(e.name, e.known)}`)
          })
        )
        yield* Console.log(json ? JSON.stringify(report, null, 2) : report.lines.join("\n"))
      })
    )
).pipe(
  Command.withDescription(
    "Explain what the trigger decides for a step or one of its sub-groups, and why: the reason code, the rule that excludes it, the cooldown left, the upstream runs it waits for, what changed since the last run. Exit 0: explained; 1: unknown name or database error; 2: usage."
  )
)
